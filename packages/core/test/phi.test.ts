import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPhiJson, buildPhiReports, parseDeclaredLever } from '../src/phi.js';
import type { Measurement } from '../src/schemas.js';
import { MLA_SHAPE, measurement, results, scaleEnergy } from './fixtures.js';

const NO_GATES = { gates: { quality: { kind: 'none' as const }, service: {} } };

describe('Φ per lever set, by hand', () => {
  // dense: 0.04 J/call over 4 tokens = 0.01 J/token; 1e8 FLOP/call; 2 ms/call.
  const dense = measurement({
    variant: 'dense',
    windowJoulesPerCall: [0.04, 0.04, 0.04, 0.04],
    medianS: 2e-3,
  });
  // kv-int8: half the energy, same FLOPs, half the time → Φ_e = 2, Φ_c = 1, speedup 2.
  const int8 = measurement({
    variant: 'kv-int8',
    windowJoulesPerCall: [0.02, 0.02, 0.02, 0.02],
    medianS: 1e-3,
    relErrorVsDense: 0.01,
  });
  // mla: a quarter of the FLOPs, 0.8 of the energy → Φ_c = 4, Φ_e = 1.25.
  const mla = measurement({
    variant: 'mla',
    windowJoulesPerCall: [0.032, 0.032],
    flops: 2.5e7,
    medianS: 2e-3,
  });
  // sparse misses the quality gate (0.3 vs 1e-2 default).
  const sparse = measurement({ variant: 'sparse', windowJoulesPerCall: [0.01, 0.01], relErrorVsDense: 0.3 });
  const doc = results([dense, int8, mla, sparse]);

  it('Φ_e = e(B)/e(S), Φ_c = c(B)/c(S), speedup beside', () => {
    const [report] = buildPhiReports(doc);
    const byVariant = Object.fromEntries(report!.sets.map((s) => [s.variant, s]));
    expect(report!.baseline).toBe('dense');
    expect(byVariant.dense).toMatchObject({ pass: true, phiEnergy: 1, phiCompute: 1, speedup: 1 });
    expect(byVariant['kv-int8']!.phiEnergy).toBeCloseTo(2, 12);
    expect(byVariant['kv-int8']).toMatchObject({ pass: true, phiCompute: 1, speedup: 2 });
    expect(byVariant.mla!.phiEnergy).toBeCloseTo(1.25, 12);
    expect(byVariant.mla!.phiCompute).toBe(4);
    expect(byVariant.sparse).toMatchObject({ pass: false, phiEnergy: null, phiCompute: null, ci: null });
    expect(byVariant.sparse!.reason).toBe(
      'quality: rel. error vs dense 3.0e-1 > 1.0e-2 (default for unquantized KV)',
    );
  });

  it('windows without spread give a degenerate CI at the point estimate; the baseline’s is exactly 1', () => {
    const [report] = buildPhiReports(doc);
    const int8Set = report!.sets.find((s) => s.variant === 'kv-int8')!;
    expect(int8Set.ci!.low).toBeCloseTo(2, 12);
    expect(int8Set.ci!.high).toBeCloseTo(2, 12);
    expect(int8Set.ci!.method).toBe('independent');
    expect(report!.sets[0]!.ci).toMatchObject({ low: 1, high: 1, level: 0.95 });
  });

  it('matches mla to the dense point although its layout fields differ', () => {
    const [report] = buildPhiReports(doc);
    expect(report!.sets.map((s) => s.variant)).toEqual(['dense', 'kv-int8', 'mla', 'sparse']);
    expect(report!.point.shape.kvHeads).toBe(8);
  });

  it('an s* the baseline misses leaves every set without Φ, saying why', () => {
    const [report] = buildPhiReports(doc, {
      gates: { quality: { kind: 'none' }, service: { decodeMs: 1.5 } },
    });
    expect(report!.sets[0]!.pass).toBe(false);
    expect(report!.sets[1]!).toMatchObject({ pass: false, phiEnergy: null });
    expect(report!.sets[1]!.reason).toMatch(/baseline dense misses the gate \(service: median 2.00 ms/);
    expect(report!.attributionMethod).toBe('none');
    expect(report!.composed).toBeNull();
  });

  it('another baseline can be named', () => {
    const [report] = buildPhiReports(doc, { baseline: 'kv-int8', ...NO_GATES });
    expect(report!.sets.find((s) => s.variant === 'dense')!.phiEnergy).toBeCloseTo(0.5, 12);
  });

  it('builds the docs/spec.md §6 JSON shape', () => {
    const json = buildPhiJson(doc);
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['baseline', 'sets', 'attribution', 'composed', 'interaction']),
    );
    for (const s of json.sets)
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining(['variant', 'pass', 'phiEnergy', 'phiCompute', 'ci']),
      );
    expect(json.points).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(json)).baseline).toBe('dense');
  });
});

describe('operating points and pairing', () => {
  it('one report per baseline measurement; sets only from the same phase, shape and dtype', () => {
    const doc = results([
      measurement({ variant: 'dense', id: 'd1' }),
      measurement({ variant: 'kv-int8', id: 'i1', relErrorVsDense: 0 }),
      measurement({ variant: 'dense', id: 'd2', phase: 'prefill' }),
      measurement({ variant: 'kv-int8', id: 'i2', dtype: 'bf16', relErrorVsDense: 0 }),
    ]);
    const reports = buildPhiReports(doc);
    expect(reports.map((r) => r.sets.map((s) => s.id))).toEqual([['d1', 'i1'], ['d2']]);
    expect(buildPhiReports(doc, { phase: 'prefill' }).map((r) => r.baselineId)).toEqual(['d2']);
  });

  it('pairs the bootstrap when the harness interleaved windows of equal count', () => {
    const a = measurement({ variant: 'dense', windowJoulesPerCall: [0.04, 0.05, 0.045], interleaved: true });
    const b = measurement({
      variant: 'kv-int8',
      windowJoulesPerCall: [0.02, 0.025, 0.0225],
      interleaved: true,
      relErrorVsDense: 0,
    });
    const paired = buildPhiReports(results([a, b]))[0]!.sets[1]!;
    expect(paired.ci!.method).toBe('paired');
    // Windows move together (b = a/2 window by window), so the paired ratio never leaves 2.
    expect(paired.ci!.low).toBeCloseTo(2, 12);
    expect(paired.ci!.high).toBeCloseTo(2, 12);
    const otherGroup = buildPhiReports(
      results([{ ...a, group: 'g0' }, { ...b, group: 'g1' } as Measurement]),
    )[0]!;
    expect(otherGroup.sets[1]!.ci!.method).toBe('independent');
    const c = { ...b, interleaved: false } as Measurement;
    const indep = buildPhiReports(results([a, c]))[0]!.sets[1]!;
    expect(indep.ci!.method).toBe('independent');
    expect(indep.ci!.high - indep.ci!.low).toBeGreaterThan(0.1);
  });

  it('the same inputs give the same CIs (seeded), another seed other ones', () => {
    const doc = results([
      measurement({ variant: 'dense', windowJoulesPerCall: [0.04, 0.05, 0.045, 0.041, 0.049] }),
      measurement({
        variant: 'kv-int8',
        windowJoulesPerCall: [0.02, 0.025, 0.0225, 0.021],
        relErrorVsDense: 0,
      }),
    ]);
    const ci = (seed?: number) => buildPhiReports(doc, seed === undefined ? {} : { seed })[0]!.sets[1]!.ci;
    expect(ci()).toEqual(ci());
    expect(ci(7)).not.toEqual(ci());
  });

  it('fewer than 2 windows: Φ without a CI, with a warning', () => {
    const doc = results([
      measurement({ variant: 'dense' }),
      measurement({ variant: 'kv-int8', windowJoulesPerCall: [0.02], relErrorVsDense: 0 }),
    ]);
    const set = buildPhiReports(doc)[0]!.sets[1]!;
    expect(set.phiEnergy).not.toBeNull();
    expect(set.ci).toBeNull();
    expect(set.warnings[0]).toMatch(/no CI: .* has 1 energy window/);
  });
});

describe('Φ, bad input', () => {
  it('a baseline absent from the file is bad usage naming what is there', () => {
    const doc = results([measurement({ variant: 'kv-int8' })]);
    expect(() => buildPhiReports(doc)).toThrow(
      /baseline 'dense' is not in the results; variants there: kv-int8/,
    );
    try {
      buildPhiReports(doc);
    } catch (error) {
      expect((error as { code: string }).code).toBe('BAD_USAGE');
    }
  });

  it('a bad baseline variant is a variant error', () => {
    expect(() => buildPhiReports(results([]), { baseline: 'turbo' })).toThrow(/unknown lever 'turbo'/);
  });

  it('an unknown variant in the file names the field', () => {
    const doc = results([
      measurement({ variant: 'dense' }),
      { ...measurement({ variant: 'dense' }), variant: 'warp' },
    ]);
    expect(() => buildPhiReports(doc)).toThrow(/field 'measurements.1.variant' unknown lever 'warp'/);
  });

  it('two measurements of one variant at one point are ambiguous', () => {
    const doc = results([
      measurement({ variant: 'dense', id: 'a' }),
      measurement({ variant: 'dense', id: 'b' }),
    ]);
    expect(() => buildPhiReports(doc)).toThrow(/measurements 'a' and 'b' are the same variant dense/);
  });

  it.each([
    ['mla=1.2', /mla is measured by etok/],
    ['adaptive-reasoning=0', /PHI > 0/],
    ['adaptive-reasoning', /expected NAME=PHI/],
    ['x=abc', /expected NAME=PHI/],
  ])('--declare %j is rejected', (text, message) => {
    expect(() => parseDeclaredLever(text)).toThrow(message);
  });
});

// Random e_tok (and matching windows) for dense and every subset of mla, sparse, kv-int8.
const VARIANTS = [
  'dense',
  'mla',
  'sparse',
  'kv-int8',
  'mla+sparse',
  'mla+kv-int8',
  'sparse+kv-int8',
  'mla+sparse+kv-int8',
];
const energies = fc.array(fc.double({ min: 1e-4, max: 10, noNaN: true }), { minLength: 8, maxLength: 8 });
const docFrom = (es: number[]) =>
  results(
    VARIANTS.map((variant, i) =>
      measurement({
        variant,
        windowJoulesPerCall: [es[i]!, es[i]! * 1.1, es[i]! * 0.95],
        flops: 1e8 / (i + 1),
        relErrorVsDense: 0,
        ...(variant.includes('mla') ? { shape: MLA_SHAPE } : {}),
      }),
    ),
  );

describe('Φ, properties', () => {
  it('Φ of the baseline is 1', () => {
    fc.assert(
      fc.property(energies, (es) => {
        const base = buildPhiReports(docFrom(es), { resamples: 50 })[0]!.sets[0]!;
        expect(base).toMatchObject({ variant: 'dense', phiEnergy: 1, phiCompute: 1, speedup: 1 });
        expect(base.ci).toMatchObject({ low: 1, high: 1 });
      }),
      { numRuns: 30 },
    );
  });

  it('scaling every e_tok by a constant leaves every Φ (and CI) unchanged', () => {
    fc.assert(
      fc.property(energies, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (es, k) => {
        const doc = docFrom(es);
        const scaled = { ...doc, measurements: doc.measurements.map((m) => scaleEnergy(m, k)) };
        const a = buildPhiReports(doc, { resamples: 100 })[0]!;
        const b = buildPhiReports(scaled, { resamples: 100 })[0]!;
        const close = (x: number | null | undefined, y: number | null | undefined) => {
          if (x === null || x === undefined) return expect(y ?? null).toBeNull();
          expect(Math.abs(x - y!) / Math.abs(x)).toBeLessThan(1e-9);
        };
        a.sets.forEach((s, i) => {
          close(s.phiEnergy, b.sets[i]!.phiEnergy);
          close(s.ci?.low, b.sets[i]!.ci?.low);
          close(s.ci?.high, b.sets[i]!.ci?.high);
        });
        a.attribution.forEach((row, i) => {
          close(row.phi, b.attribution[i]!.phi);
        });
        close(a.composed, b.composed);
        close(a.interaction, b.interaction);
      }),
      { numRuns: 30 },
    );
  });
});
