// `etok measure --regions`: a Python and a Node program mark regions with the shipped helpers; etok measures each
// region under the harness's window rules. Bad marker streams give one line and exit 2, keeping finished regions.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { etok, etokAsync, repoRoot, tempDir } from './helpers/run-etok.js';

const python = `
import sys, time
sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'examples', 'python'))})
from etok_regions import region
for _ in range(2):
    with region("decode", calls=20, tokens=160):
        time.sleep(0.25)
`;

const node = `
import { region } from ${JSON.stringify(join(repoRoot, 'examples', 'node', 'etok-regions.mjs'))};
await region('prefill', { calls: 4, tokens: 4096, phase: 'prefill' }, () => new Promise((r) => setTimeout(r, 250)));
`;

function script(name: string, text: string): string {
  const dir = tempDir('etok-regions-');
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('etok measure --regions', () => {
  it('measures regions marked by the Python helper', () => {
    const out = join(tempDir(), 'r.json');
    const r = etok(['measure', '--regions', '--out', out, '--', 'python3', script('demo.py', python)]);
    expect(r.status, r.stderr).toBe(0);
    const doc = parseResults(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(true);
    expect(doc.measurements).toHaveLength(1);
    const m = doc.measurements[0]!;
    expect(m.variant).toBe('region:decode');
    expect(m.energy.windows).toHaveLength(2);
    expect(m.tokens).toBe(8); // 160 tokens over 20 calls
    // Each region slept 250 ms: 20 calls → 12.5 ms a call, less the few ms of marker delivery jitter.
    expect(m.time.medianS).toBeGreaterThan(0.012);
    expect(m.time.medianS).toBeLessThan(0.02);
    expect(m.energy.joulesPerToken).toBeCloseTo(m.energy.joulesPerCall / 8, 12);
    expect(r.stdout).toMatch(/MODELED|MEASURED/);
  });

  it('measures regions marked by the Node helper, with their phase', () => {
    const out = join(tempDir(), 'r.json');
    const r = etok([
      'measure',
      '--regions',
      '--json',
      '--out',
      out,
      '--',
      process.execPath,
      script('demo.mjs', node),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const doc = parseResults(r.stdout, 'stdout');
    expect(doc.measurements.map((m) => [m.variant, m.phase, m.tokens])).toEqual([
      ['region:prefill', 'prefill', 1024],
    ]);
  });

  it('says when a region is too short for the meter and how many calls would do', () => {
    const short = `
import sys
sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'examples', 'python'))})
from etok_regions import region
with region("tiny", calls=1, tokens=1):
    pass
`;
    const r = etok([
      'measure',
      '--regions',
      '--out',
      join(tempDir(), 'r.json'),
      '--',
      'python3',
      script('s.py', short),
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/region 'tiny' lasted .* too short for .*; run about \d+ calls in it/);
  });

  it.each([
    ['an end without its begin', 'end x calls=1 tokens=1', /end of region 'x' without its begin/],
    ['an unknown word', 'start x', /unknown word 'start'/],
    ['a region left open', 'begin x', /region\(s\) 'x' still open when the command exited/],
    ['a bad count', 'begin x\nend x calls=0 tokens=1', /calls=0 is not a positive integer/],
  ])('%s: one line naming it, exit 2, finished regions kept', (_what, markers, message) => {
    const bad = `import os, time
fd = int(os.environ["ETOK_MARKER_FD"])
os.write(fd, b"begin good\\n"); time.sleep(0.05); os.write(fd, b"end good calls=1 tokens=1\\n")
os.write(fd, ${JSON.stringify(`${markers}\n`)}.encode())
`;
    const out = join(tempDir(), 'r.json');
    const r = etok(['measure', '--regions', '--out', out, '--', 'python3', script('bad.py', bad)]);
    expect(r.status).toBe(2);
    const errorLines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('etok: ') && !l.includes('meter') && !l.includes('too short'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(message);
    const doc = parseResults(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(false);
    expect(doc.measurements.map((m) => m.variant)).toEqual(['region:good']);
  });

  it('SIGTERM while a region is open: exit 130, the finished regions kept, not called a protocol error', async () => {
    const forever = `import os, time
fd = int(os.environ["ETOK_MARKER_FD"])
while True:
    os.write(fd, b"begin step\\n"); time.sleep(0.25); os.write(fd, b"end step calls=1 tokens=1\\n")
`;
    const out = join(tempDir(), 'r.json');
    const child = etokAsync([
      'measure',
      '--regions',
      '--meter',
      'model',
      '--out',
      out,
      '--',
      'python3',
      script('f.py', forever),
    ]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/^etok: interrupted; 1 region\(s\) kept in .* \(complete: false\)$/m);
    expect(stderr).not.toMatch(/still open/);
    const doc = parseResults(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(false);
    expect(doc.measurements[0]!.energy.windows.length).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
