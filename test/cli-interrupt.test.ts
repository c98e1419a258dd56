// Ctrl-C in the middle of a run keeps every finished measurement in a valid file marked complete: false.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { expect, it } from 'vitest';
import { etokAsync, tempDir } from './helpers/run-etok.js';

function measurementsOnDisk(path: string): number {
  if (!existsSync(path)) return 0;
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { measurements: unknown[] }).measurements.length;
  } catch {
    return -1; // never expected: writes are atomic
  }
}

it('SIGINT mid-run leaves a valid results file with complete: false and the finished measurements', async () => {
  const dir = tempDir();
  const out = join(dir, 'r.json');
  const child = etokAsync([
    'bench',
    '--no-interleave',
    '--ctx',
    '256,512,768,1024,1280,1536',
    '--heads',
    '4',
    '--kv-heads',
    '2',
    '--head-dim',
    '32',
    '--time-budget',
    '1',
    '--out',
    out,
  ]);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (measurementsOnDisk(out) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(measurementsOnDisk(out)).toBeGreaterThanOrEqual(1);
  child.kill('SIGINT');
  const code = await exited;
  expect(code).toBe(130);
  const doc = parseResults(readFileSync(out, 'utf8'), out);
  expect(doc.complete).toBe(false);
  expect(doc.measurements.length).toBeGreaterThanOrEqual(1);
  expect(doc.measurements.length).toBeLessThan(6);
  expect(stderr).toMatch(/interrupted; \d+ measurement\(s\) kept in .*complete: false/);
});
