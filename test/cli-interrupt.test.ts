// Ctrl-C in the middle of a run keeps every finished measurement in a valid file marked complete: false; during a
// long call etok says at once what it waits for, and a second Ctrl-C ends the measuring process with it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** Processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');

it('Ctrl-C during a long call says at once that etok stops after it; a second Ctrl-C ends the measuring process too', async () => {
  const dir = tempDir();
  // One causal prefill call of 16K × 16K at 8 heads takes seconds on a small CPU: Ctrl-C lands inside a call.
  const child = etokAsync(
    [
      'bench',
      '--phase',
      'prefill',
      '--ctx',
      '16k',
      '--heads',
      '8',
      '--kv-heads',
      '8',
      '--head-dim',
      '64',
      '--no-quality',
      '--out',
      join(dir, 'r.json'),
    ],
    { cwd: dir },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The measuring process (measure-worker.js) is etok's child once the group starts.
  let workers: number[] = [];
  const deadline = Date.now() + 30_000;
  while (workers.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    workers = childrenOf(child.pid!).filter((p) =>
      readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('measure-worker'),
    );
  }
  expect(workers).toHaveLength(1);
  await new Promise((r) => setTimeout(r, 1500)); // inside the first calls
  child.kill('SIGINT');
  const said = Date.now();
  while (!/stopping after the current call/.test(stderr) && Date.now() - said < 2000)
    await new Promise((r) => setTimeout(r, 20));
  expect(stderr).toMatch(/etok bench: stopping after the current call .*; Ctrl-C again to stop at once/);
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  const gone = Date.now();
  while (alive(workers[0]!) && Date.now() - gone < 3000) await new Promise((r) => setTimeout(r, 50));
  expect(alive(workers[0]!)).toBe(false);
}, 60_000);
