import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPhiReports } from '../src/phi.js';
import { findPath, pathShares, shapleyValues } from '../src/shapley.js';
import { MLA_SHAPE, measurement, results } from './fixtures.js';

describe('Shapley values of log Φ, by hand', () => {
  // Φ(a) = 2, Φ(b) = 3, Φ(ab) = 8.
  const phi = [1, 2, 3, 8];
  const v = (mask: number) => Math.log(phi[mask]!);

  it('two levers: φ_a = ½ log Φ(a) + ½ log(Φ(ab)/Φ(b))', () => {
    const [a, b] = shapleyValues(2, v).map(Math.exp);
    expect(a).toBeCloseTo(Math.sqrt(16 / 3), 12);
    expect(b).toBeCloseTo(Math.sqrt(12), 12);
    expect(a! * b!).toBeCloseTo(8, 12);
  });

  it('three levers: efficiency and symmetry', () => {
    // v(T) = Σ w_i over T plus an interaction on {0,1}: symmetric players 0 and 1 split it.
    const w = [0.3, 0.3, -0.2];
    const game = (mask: number) =>
      w.reduce((s, x, i) => s + (mask & (1 << i) ? x : 0), 0) + ((mask & 3) === 3 ? 0.5 : 0);
    const s = shapleyValues(3, game);
    expect(s[0]).toBeCloseTo(0.55, 12);
    expect(s[1]).toBeCloseTo(0.55, 12);
    expect(s[2]).toBeCloseTo(-0.2, 12);
  });

  it('path shares telescope to the whole', () => {
    const shares = pathShares([1, 0], v).map(Math.exp);
    expect(shares).toEqual([8 / 3, 3].map((x) => expect.closeTo(x, 12)));
  });

  it('finds the first order whose prefixes are all available', () => {
    const available = (mask: number) => mask !== 1 && mask !== 3; // {0} and {0,1} missing
    expect(findPath(3, available)).toEqual([1, 2, 0]);
    expect(findPath(2, (mask) => mask === 3 || mask === 0)).toBeNull();
  });
});

// dense 0.08 J/call; mla Φ 2, sparse Φ 4/3 (quality-gated off here), both Φ 4 (interaction 1.5).
function twoLeverDoc(withSparse = true) {
  return results([
    measurement({ variant: 'dense', windowJoulesPerCall: [0.08, 0.08, 0.08] }),
    measurement({ variant: 'mla', windowJoulesPerCall: [0.04, 0.04, 0.04], shape: MLA_SHAPE }),
    ...(withSparse ? [measurement({ variant: 'sparse', windowJoulesPerCall: [0.06, 0.06, 0.06] })] : []),
    measurement({ variant: 'mla+sparse', windowJoulesPerCall: [0.02, 0.02, 0.02], shape: MLA_SHAPE }),
  ]);
}
const NO_GATES = { gates: { quality: { kind: 'none' as const }, service: {} } };

describe('attribution of a composed set', () => {
  it('Shapley shares over all subsets, the interaction term beside', () => {
    const [r] = buildPhiReports(twoLeverDoc(), NO_GATES);
    expect(r!.attributionMethod).toBe('shapley');
    expect(r!.composedVariant).toBe('mla+sparse');
    expect(r!.composed).toBeCloseTo(4, 12);
    // φ_mla = ½ log 2 + ½ log(4/(4/3)) = ½ log 6; φ_sparse = ½ log(4/3) + ½ log 2 = ½ log(8/3).
    expect(r!.attribution.map((a) => [a.lever, a.declared])).toEqual([
      ['mla', false],
      ['sparse', false],
    ]);
    expect(r!.attribution[0]!.phi).toBeCloseTo(Math.sqrt(6), 12);
    expect(r!.attribution[1]!.phi).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(r!.interaction).toBeCloseTo(4 / (2 * (4 / 3)), 12);
    expect(r!.missing).toEqual([]);
    expect(r!.attribution[0]!.ci!.low).toBeCloseTo(Math.sqrt(6), 9);
  });

  it('a missing subset is named and the stated path is used instead', () => {
    const [r] = buildPhiReports(twoLeverDoc(false), NO_GATES);
    expect(r!.attributionMethod).toBe('path');
    expect(r!.missing).toEqual([{ variant: 'sparse', reason: 'not measured' }]);
    expect(r!.path).toEqual(['mla', 'sparse']);
    expect(r!.attribution.map((a) => a.phi)).toEqual([expect.closeTo(2, 12), expect.closeTo(2, 12)]);
    expect(r!.interaction).toBeNull();
    expect(r!.notes.join(' ')).toMatch(/1 missing \(sparse\), so shares follow the path ∅ → mla → sparse/);
  });

  it('a subset that misses a gate counts as missing, with its reason', () => {
    const [r] = buildPhiReports(twoLeverDoc(), {
      gates: { quality: { kind: 'none' }, service: { decodeMs: 5 } },
      compose: 'mla+sparse',
    });
    expect(r!.attributionMethod).toBe('shapley');
    const doc = twoLeverDoc();
    doc.measurements[1]!.quality.relErrorVsDense = 0.5; // mla now fails the default q*
    const [g] = buildPhiReports(doc);
    expect(g!.missing[0]).toMatchObject({ variant: 'mla' });
    expect(g!.missing[0]!.reason).toMatch(/no Φ: quality/);
    expect(g!.path).toEqual(['sparse', 'mla']);
  });

  it('declared levers join the product, labelled declared, without a CI', () => {
    const [r] = buildPhiReports(twoLeverDoc(), {
      ...NO_GATES,
      declared: [{ lever: 'adaptive-reasoning', phi: 1.6 }],
    });
    expect(r!.attribution.at(-1)).toEqual({
      lever: 'adaptive-reasoning',
      phi: 1.6,
      ci: null,
      declared: true,
      phiCompute: null,
    });
    expect(r!.composed).toBeCloseTo(4 * 1.6, 12);
    expect(r!.composedCi!.low).toBeCloseTo(6.4, 9);
    expect(r!.interaction).toBeCloseTo(1.5, 12);
    expect(r!.notes.join(' ')).toMatch(/declared levers .* stated by the user, not measured/);
  });

  it('only the baseline measured: the composed Φ is the declared product', () => {
    const doc = results([measurement({ variant: 'dense' })]);
    const [r] = buildPhiReports(doc, { declared: [{ lever: 'batching', phi: 2 }] });
    expect(r!.composed).toBe(2);
    expect(r!.attribution).toHaveLength(1);
  });

  it('--compose must contain the baseline’s levers', () => {
    expect(() => buildPhiReports(twoLeverDoc(), { ...NO_GATES, baseline: 'mla', compose: 'sparse' })).toThrow(
      /--compose sparse does not contain the baseline's levers \(mla\)/,
    );
  });
});

const VARIANTS = [
  'dense',
  'mla',
  'sparse',
  'kv-fp8',
  'mla+sparse',
  'mla+kv-fp8',
  'sparse+kv-fp8',
  'mla+sparse+kv-fp8',
];

describe('attribution, properties', () => {
  it('shares multiply back to the composed Φ, with all subsets or along a path', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-4, max: 10, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.subarray([1, 2, 3, 4, 5, 6]),
        (es, dropped) => {
          const ms = VARIANTS.map((variant, i) =>
            measurement({
              variant,
              windowJoulesPerCall: [es[i]!, es[i]! * 1.2],
              relErrorVsDense: 0,
              ...(variant.includes('mla') ? { shape: MLA_SHAPE } : {}),
            }),
          ).filter((_, i) => !dropped.includes(i));
          const [r] = buildPhiReports(results(ms), { resamples: 20, declared: [{ lever: 'd', phi: 1.3 }] });
          expect(r!.composedVariant).toBe('mla+sparse+kv-fp8');
          if (r!.attributionMethod === 'none') {
            expect(dropped.length).toBeGreaterThan(0);
            return;
          }
          expect(r!.attributionMethod).toBe(dropped.length === 0 ? 'shapley' : 'path');
          const product = r!.attribution.reduce((p, a) => p * a.phi!, 1);
          expect(product / r!.composed!).toBeCloseTo(1, 12);
          expect(r!.composed! / 1.3).toBeCloseTo(es[0]! / es[7]!, 9);
        },
      ),
      { numRuns: 200 },
    );
  });
});
