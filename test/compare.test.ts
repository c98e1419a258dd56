// `etok compare` as a user runs it: two files from different devices, the boundary-mismatch guard, --json,
// --baseline and --fail-if-worse as a regression gate.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etok, repoRoot, tempDir } from './helpers/run-etok.js';

const fixture = join(repoRoot, 'test', 'fixtures', 'report-levers.json');

/** A second run: another device, `factor` × the energy, optionally another accounting boundary. */
function variantFile(dir: string, name: string, factor: number, boundary?: string): string {
  const doc = JSON.parse(readFileSync(fixture, 'utf8'));
  doc.device = { ...doc.device, id: 'cuda:1', name: 'Another GPU' };
  if (boundary) doc.accounting.boundary = boundary;
  for (const m of doc.measurements) {
    for (const w of m.energy.windows) w.joules *= factor;
    m.energy.joulesPerCall *= factor;
    m.energy.joulesPerToken *= factor;
  }
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('etok compare', () => {
  it('prints matched configurations with ratios, CIs and verdicts', () => {
    const dir = tempDir();
    const b = variantFile(dir, 'b.json', 0.8);
    const r = etok(['compare', fixture, b]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 (baseline)');
    expect(r.stdout).toContain('Another GPU (cuda:1)');
    expect(r.stdout).toMatch(/dense .* ×0\.800 \[0\.\d+, 0\.\d+\] .* better/);
    expect(r.stdout).toMatch(/mla\+sparse .*INVALID.*invalid/);
  });

  it('--json and --baseline FILE', () => {
    const dir = tempDir();
    const b = variantFile(dir, 'b.json', 0.8);
    const r = etok(['compare', fixture, b, '--baseline', b, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.baseline).toBe(1);
    const dense = c.configs.find((x: { baseline: { id: string } }) =>
      x.baseline.id.startsWith('dense/decode/f32/b1/ctx1024'),
    );
    expect(dense.others[0].energy.ratio).toBeCloseTo(1.25, 6);
    expect(dense.others[0].energy.verdict).toBe('worse');
  });

  it('refuses a boundary mismatch (exit 2); --allow-mismatch compares and marks it loudly', () => {
    const dir = tempDir();
    const b = variantFile(dir, 'b.json', 1, 'server');
    const refused = etok(['compare', fixture, b]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/accounting boundary differs \(server vs chip\)/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const allowed = etok(['compare', fixture, b, '--allow-mismatch']);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stderr).toMatch(/WARNING: comparing mismatched energy/);
    expect(allowed.stdout).toMatch(/^!!! MISMATCHED ENERGY/);
    expect(allowed.stdout).toContain('(MISMATCHED energy)');
  });

  it('--fail-if-worse exits 1 on a regression beyond PCT and 0 within it', () => {
    const dir = tempDir();
    const v2 = variantFile(dir, 'v2.json', 1.2);
    const fail = etok(['compare', fixture, v2, '--fail-if-worse', '10']);
    expect(fail.status).toBe(1);
    expect(fail.stdout).toMatch(/FAIL: \d+ ratio\(s\) worse than the baseline by more than 10%/);
    const pass = etok(['compare', fixture, v2, '--fail-if-worse', '30']);
    expect(pass.status, pass.stdout).toBe(0);
    expect(pass.stdout).toMatch(/ok: no configuration is worse/);
  });

  it.each([
    [['compare', 'x.json'], /needs at least two results files/],
    [['compare', 'x.json', 'y.json'], /cannot read results file x\.json/],
    [['compare', fixture, fixture, '--baseline', '3'], /--baseline 3 is not a file position \(1–2\)/],
    [['compare', fixture, fixture, '--fail-if-worse', 'lots'], /--fail-if-worse 'lots' is not valid/],
  ])('bad usage %j → one line, exit 2', (args, message) => {
    const r = etok(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
