// `etok phi` and `etok tpf` as a user runs them, on hand-written results files in test/fixtures/ (phi-*, tpf-*).
// The fixtures' numbers are chosen so every figure can be checked by hand (see the comments below).
import { describe, expect, it } from 'vitest';
import { etok } from './helpers/run-etok.js';

const F = 'test/fixtures';

function json(args: string[]) {
  const r = etok(args);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('etok phi', () => {
  // phi-levers.json: J/call dense 0.08, mla 0.04, kv-int8 0.05, mla+kv-int8 0.02 → Φ_e 2, 1.6, 4;
  // Shapley shares √5 (mla) and √3.2 (kv-int8), interaction 4/(2·1.6) = 1.25; sparse misses q* (0.31 > 1e-2).
  it('--json gives the docs/spec.md §6 shape with Φ per set, Shapley shares, composed Φ and interaction', () => {
    const out = json(['phi', `${F}/phi-levers.json`, '--json']);
    expect(out.baseline).toBe('dense');
    const sets = Object.fromEntries(out.sets.map((s: { variant: string }) => [s.variant, s]));
    expect(sets.dense).toMatchObject({ pass: true, phiEnergy: 1, phiCompute: 1 });
    expect(sets['kv-int8'].phiEnergy).toBeCloseTo(1.6, 10);
    expect(sets.mla.phiCompute).toBeCloseTo(2.5, 10);
    expect(sets['mla+kv-int8'].ci.low).toBeLessThan(4);
    expect(sets['mla+kv-int8'].ci.high).toBeGreaterThan(4);
    expect(sets['mla+kv-int8'].ci.method).toBe('paired');
    expect(sets.sparse).toMatchObject({ pass: false, phiEnergy: null, phiCompute: null, ci: null });
    expect(sets.sparse.reason).toMatch(/quality: rel. error vs dense 3.1e-1 > 1.0e-2/);
    expect(out.attribution).toEqual([
      expect.objectContaining({ lever: 'mla', phi: expect.closeTo(Math.sqrt(5), 10), declared: false }),
      expect.objectContaining({ lever: 'kv-int8', phi: expect.closeTo(Math.sqrt(3.2), 10), declared: false }),
    ]);
    expect(out.composed).toBeCloseTo(4, 10);
    expect(out.interaction).toBeCloseTo(1.25, 10);
    expect(out.attributionMethod).toBe('shapley');
  });

  it('reruns agree exactly (seeded bootstrap)', () => {
    const a = etok(['phi', `${F}/phi-levers.json`, '--json']);
    const b = etok(['phi', `${F}/phi-levers.json`, '--json']);
    expect(a.stdout).toBe(b.stdout);
  });

  it('with a subset missing: names it, follows a stated path, declared levers join the product', () => {
    const out = json([
      'phi',
      `${F}/phi-missing-subset.json`,
      '--declare',
      'adaptive-reasoning=1.6',
      '--json',
    ]);
    expect(out.attributionMethod).toBe('path');
    expect(out.path).toEqual(['mla', 'kv-int8']);
    expect(out.missing).toEqual([{ variant: 'kv-int8', reason: 'not measured' }]);
    expect(out.attribution.at(-1)).toEqual({
      lever: 'adaptive-reasoning',
      phi: 1.6,
      ci: null,
      declared: true,
      phiCompute: null,
    });
    expect(out.composed).toBeCloseTo(6.4, 10);
    expect(out.interaction).toBeNull();
  });

  it('a service target the baseline misses leaves every set without Φ', () => {
    const out = json(['phi', `${F}/phi-levers.json`, '--slo-ms', 'decode=1.5', '--json']);
    expect(out.sets.every((s: { pass: boolean }) => !s.pass)).toBe(true);
    expect(out.sets[0].reason).toMatch(/service: median 2.00 ms per decode call > s\* 1.5 ms/);
    expect(out.composed).toBeNull();
  });

  it('prints tables with units and labels what failed and what is declared', () => {
    const r = etok(['phi', `${F}/phi-missing-subset.json`, '--declare', 'adaptive-reasoning=1.6']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/energy: measured by rapl/);
    expect(r.stdout).toMatch(/mJ\/token/);
    expect(r.stdout).toMatch(/MFLOP\/token/);
    expect(r.stdout).toMatch(/DECLARED/);
    expect(r.stdout).toMatch(/missing subset kv-int8: not measured/);
    const levers = etok(['phi', `${F}/phi-levers.json`]);
    expect(levers.stdout).toMatch(/sparse\s+FAIL/);
  });

  it.each([
    [[`${F}/phi-no-baseline.json`], /baseline 'dense' is not in the results; variants there: kv-int8/],
    [[`${F}/phi-bad-schema.json`], /phi-bad-schema.json: field 'measurements.0.flops'/],
    [[`${F}/no-such-file.json`], /cannot read results file .*no-such-file.json: no such file/],
    [[], /etok phi needs a results file/],
    [[`${F}/phi-levers.json`, '--baseline', 'turbo'], /unknown lever 'turbo'/],
    [[`${F}/phi-levers.json`, '--quality', 'rel-error<0.1'], /--quality 'rel-error<0.1' is not valid/],
    [[`${F}/phi-levers.json`, '--slo-ms', '-3'], /--slo-ms '-3' is not valid/],
    [[`${F}/phi-levers.json`, '--declare', 'mla=2'], /mla is measured by etok/],
  ])('rejects %j with one line and exit 2', (args, message) => {
    const r = etok(['phi', ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('etok tpf', () => {
  // K = 1e14 FLOP/s, c = 2e9 FLOP/token, e = 0.5 J/token, 1.2 MW at PUE 1.2 → P = 1 MW;
  // ceilings 5e4 (compute) and 2e6 (power) tokens/s; Q̇ = 5e4 × 1.5 × 0.8 = 6e4; ρ = 2.5e5, ρ* = 1e7 J/PFLOP.
  const FLAGS = [
    '--keff',
    '100T',
    '--ctok',
    '2e9',
    '--etok',
    '0.5',
    '--facility-power',
    '1.2M',
    '--pue',
    '1.2',
  ];

  it('--json gives the docs/spec.md §6 shape, by hand', () => {
    const out = json(['tpf', ...FLAGS, '--util', '0.8', '--phi', '1.5', '--json']);
    expect(out).toMatchObject({ computeCeiling: 5e4, powerCeiling: 2e6, binding: 'compute' });
    expect(out.qdot).toBeCloseTo(6e4, 6);
    expect(out.rho).toBeCloseTo(2.5e5, 6);
    expect(out.rhoStar).toBeCloseTo(1e7, 6);
    expect(out.rhoMinusRhoStar).toBeCloseTo(-9.75e6, 4);
  });

  it('a small facility is power-bound, and the verdict agrees with the min', () => {
    const out = json([
      'tpf',
      '--keff',
      '100T',
      '--ctok',
      '2e9',
      '--etok',
      '0.5',
      '--facility-power',
      '10k',
      '--json',
    ]);
    expect(out.binding).toBe('power');
    expect(out.qdot).toBe(Math.min(out.computeCeiling, out.powerCeiling));
    expect(out.rhoMinusRhoStar).toBeGreaterThan(0);
  });

  it('reads e_tok, c_tok and realized K_eff from a results file and scales them to a model', () => {
    // One dense decode call: 4 tokens, 1.6e8 FLOP, 2 ms, 0.08 J (modeled) → e 0.02 J, c 4e7 FLOP, K 8e10 FLOP/s.
    const out = json(['tpf', '--results', `${F}/tpf-dense-modeled.json`, '--facility-power', '1M', '--json']);
    expect(out.inputs).toMatchObject({ cTokFlopsPerToken: 4e7, kEffFlopsPerS: 8e10, pue: 1 });
    expect(out.inputs.eTokJoulesPerToken).toBeCloseTo(0.02, 12);
    expect(out.energy).toMatch(/MODELED/);
    const scaled = json([
      'tpf',
      '--results',
      `${F}/tpf-dense-modeled.json`,
      '--model',
      'llama-3-8b',
      '--facility-power',
      '1M',
      '--json',
    ]);
    expect(scaled.model).toMatchObject({ model: 'llama-3-8b', scope: 'attention-only' });
    expect(scaled.inputs.cTokFlopsPerToken).toBe(32 * 4e7);
    expect(scaled.inputs.eTokJoulesPerToken).toBeCloseTo(32 * 0.02, 12);
  });

  it('--sweep gives one row per value and where the binding stave flips', () => {
    const out = json(['tpf', ...FLAGS, '--sweep', 'facility-power=10k:100k/4', '--json']);
    expect(out.sweep.rows.map((r: { value: number }) => r.value)).toEqual([1e4, 4e4, 7e4, 1e5]);
    expect(out.sweep.rows.map((r: { binding: string }) => r.binding)).toEqual([
      'power',
      'compute',
      'compute',
      'compute',
    ]);
    // K/c = θ·F/(PUE·e) at F* = PUE·e·K/c = 1.2 × 0.5 × 5e4 = 3e4 W.
    expect(out.sweep.crossover).toBeCloseTo(3e4, 6);
    const table = etok(['tpf', ...FLAGS, '--sweep', 'pue=1.1:2.0']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/sweep of pue:/);
    expect(table.stdout).toMatch(/k tokens\/s/);
    expect(table.stdout).toMatch(/J\/PFLOP/);
  });

  it.each([
    [['--pue', '0.9'], /--pue '0\.9' is not valid; expected a PUE ≥ 1/],
    [['--util', '0'], /--util '0' is not valid; expected a utilization in \(0, 1\]/],
    [['--util', '1.5'], /--util '1\.5' is not valid/],
    [['--theta', '0'], /--theta '0' is not valid; expected θ > 0/],
    [['--theta', '-2'], /--theta '-2' is not valid/],
    [['--facility-power', '0'], /--facility-power '0' is not valid; expected watts > 0/],
    [['--keff', 'fast'], /--keff 'fast' is not a number/],
    [['--sweep', 'pue=0.5:1'], /--pue 0.5 is not valid/],
    [['--sweep', 'watts=1:2'], /unknown parameter 'watts'/],
  ])('rejects %j with one line and exit 2', (patch, message) => {
    const args = [...FLAGS];
    for (let i = 0; i < patch.length; i += 2) {
      const at = args.indexOf(patch[i]!);
      if (at >= 0) args.splice(at, 2);
      args.push(patch[i]!, patch[i + 1]!);
    }
    const r = etok(['tpf', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('says what is missing without a results file', () => {
    const r = etok(['tpf', '--keff', '1T', '--etok', '1', '--facility-power', '1M']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--ctok is required without --results/);
    // Several lever sets and none named: the best that meets (q*, s*) is read, and the output says which and why.
    const m = etok(['tpf', '--results', `${F}/phi-levers.json`, '--facility-power', '1M']);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(
      /^measurement: \S+ \(\S+: the lowest J\/token of the \d+ lever set\(s\) at .* choose another with --variant\)$/m,
    );
    const g = etok([
      'tpf',
      '--results',
      `${F}/tpf-dense-modeled.json`,
      '--model',
      'deepseek-v3',
      '--facility-power',
      '1M',
    ]);
    expect(g.status).toBe(2);
    expect(g.stderr).toMatch(/model deepseek-v3 has mla/);
  });
});
