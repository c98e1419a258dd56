import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseForTpf,
  crossover,
  parseSweep,
  productionFunction,
  selectMeasurement,
  sweepProductionFunction,
  type TpfInputs,
  tpfFiguresFromMeasurement,
} from '../src/production-function.js';
import { flopsPerSecond, flopsPerToken, joulesPerToken, type Ratio, watts } from '../src/units.js';
import { measurement } from './fixtures.js';

const r = (x: number) => x as Ratio;

// K = 1e14 FLOP/s, c = 2e9 FLOP/token, e = 0.5 J/token.
const BASE: TpfInputs = {
  kEff: flopsPerSecond(1e14),
  cTok: flopsPerToken(2e9),
  eTok: joulesPerToken(0.5),
  facilityPower: watts(1.2e6),
  pue: r(1.2),
  theta: r(1),
  utilization: r(0.8),
  phi: r(1.5),
};

describe('production function, by hand', () => {
  it('compute-bound: Q̇ = K/c × Φ × U', () => {
    const out = productionFunction(BASE);
    // P = 1.2e6/1.2 = 1e6 W; K/c = 5e4 tokens/s; θP/e = 2e6 tokens/s.
    expect(out.computeCeiling).toBe(5e4);
    expect(out.powerCeiling).toBe(2e6);
    expect(out.binding).toBe('compute');
    expect(out.qdot).toBeCloseTo(6e4, 9); // 5e4 × 1.5 × 0.8
    expect(out.itPowerW).toBe(1e6);
    // ρ = 0.5 / 2e9 J/FLOP = 2.5e5 J/PFLOP; ρ* = 1e6 / 1e14 = 1e7 J/PFLOP.
    expect(out.rho).toBeCloseTo(2.5e5, 6);
    expect(out.rhoStar).toBeCloseTo(1e7, 6);
    expect(out.rhoMinusRhoStar).toBeCloseTo(-9.75e6, 6);
  });

  it('power-bound: Q̇ = θ·P_facility/e × Φ × U', () => {
    const out = productionFunction({
      ...BASE,
      facilityPower: watts(1e4),
      pue: r(1),
      phi: r(1.2),
      utilization: r(1),
    });
    expect(out.powerCeiling).toBe(2e4);
    expect(out.binding).toBe('power');
    expect(out.qdot).toBeCloseTo(2.4e4, 9);
    expect(out.rhoStar).toBeCloseTo(1e5, 6);
    expect(out.rhoMinusRhoStar).toBeCloseTo(1.5e5, 6);
  });

  it('θ scales the power ceiling and ρ*', () => {
    const out = productionFunction({ ...BASE, facilityPower: watts(1e4), pue: r(1), theta: r(2) });
    expect(out.powerCeiling).toBe(4e4);
    expect(out.rhoStar).toBeCloseTo(2e5, 6);
  });

  it('reports the peak K_eff beside the realized one, labelled', () => {
    const out = productionFunction({
      ...BASE,
      peakKEff: flopsPerSecond(1e15),
      facilityPower: watts(1e5),
      pue: r(1),
    });
    expect(out.binding).toBe('compute'); // K/c = 5e4 < 1e5/0.5 = 2e5
    expect(out.atPeak).toMatchObject({ kEffFlopsPerS: 1e15, computeCeiling: 5e5, binding: 'power' });
    expect(out.atPeak!.qdot).toBeCloseTo(2e5 * 1.5 * 0.8, 6);
  });

  it('a tie is compute-bound with ρ − ρ* = 0', () => {
    const out = productionFunction({ ...BASE, facilityPower: watts(2.5e4), pue: r(1) });
    expect(out.computeCeiling).toBe(out.powerCeiling);
    expect(out.binding).toBe('compute');
    expect(out.rhoMinusRhoStar).toBeCloseTo(0, 6);
  });
});

describe('production function, bad input', () => {
  it.each([
    [{ pue: r(0.9) }, /--pue 0.9 is not valid; PUE .* ≥ 1/],
    [{ utilization: r(0) }, /--util 0 is not valid; utilization U is in \(0, 1\]/],
    [{ utilization: r(1.2) }, /--util 1.2 is not valid/],
    [{ theta: r(0) }, /--theta 0 is not valid/],
    [{ theta: r(-1) }, /--theta -1 is not valid/],
    [{ facilityPower: watts(0) }, /--facility-power 0 is not valid/],
    [{ facilityPower: watts(-5) }, /--facility-power -5 is not valid/],
    [{ kEff: flopsPerSecond(Number.NaN) }, /--keff NaN is not valid/],
    [{ eTok: joulesPerToken(0) }, /--etok 0 is not valid/],
    [{ phi: r(-0.1) }, /--phi -0.1 is not valid/],
  ])('%j → BAD_USAGE in one line', (patch, message) => {
    try {
      productionFunction({ ...BASE, ...patch });
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('BAD_USAGE');
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

const positive = fc.double({ min: 1e-12, max: 1e18, noNaN: true, noDefaultInfinity: true });

describe('production function, properties', () => {
  it('the verdict always agrees with the min', () => {
    fc.assert(
      fc.property(
        positive,
        positive,
        positive,
        positive,
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        fc.double({ min: 1e-6, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (k, c, e, f, pue, theta, u, phi) => {
          const out = productionFunction({
            kEff: flopsPerSecond(k),
            cTok: flopsPerToken(c),
            eTok: joulesPerToken(e),
            facilityPower: watts(f),
            pue: r(pue),
            theta: r(theta),
            utilization: r(u),
            phi: r(phi),
          });
          const min = Math.min(out.computeCeiling, out.powerCeiling);
          expect(out.qdot).toBe(min * (phi * u));
          if (out.binding === 'power') {
            expect(out.powerCeiling).toBeLessThan(out.computeCeiling);
            expect(out.rhoMinusRhoStar).toBeGreaterThanOrEqual(0);
          } else {
            expect(out.computeCeiling).toBeLessThanOrEqual(out.powerCeiling);
            expect(out.rhoMinusRhoStar).toBeLessThanOrEqual(0);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('inputs from a measurement', () => {
  it('e_tok = J/token, c_tok = flops/tokens, K_eff = flops/median time', () => {
    const m = measurement({
      variant: 'dense',
      flops: 8e8,
      tokens: 4,
      medianS: 2e-3,
      windowJoulesPerCall: [0.02, 0.02],
    });
    const f = tpfFiguresFromMeasurement(m);
    expect(f.eTok).toBeCloseTo(0.005, 12);
    expect(f.cTok).toBe(2e8);
    expect(f.kEff).toBe(4e11);
    expect(f.sources!.kEff).toMatch(/realized/);
  });

  it('selects exactly one measurement or says how to choose', () => {
    const ms = [measurement({ variant: 'dense' }), measurement({ variant: 'kv-int8' })];
    expect(selectMeasurement(ms, { variant: 'kv-int8' }).variant).toBe('kv-int8');
    expect(() => selectMeasurement(ms, {})).toThrow(
      /2 measurements match; choose one with --variant and --phase, or --measurement ID/,
    );
    expect(() => selectMeasurement(ms, { variant: 'mla' })).toThrow(
      /no measurement in the results matches variant mla/,
    );
  });
});

describe('what-if sweeps', () => {
  it('parses ranges, steps, point counts and lists', () => {
    expect(parseSweep('pue=1.1:2.0').values).toEqual([
      1.1, 1.19, 1.28, 1.37, 1.46, 1.55, 1.64, 1.73, 1.82, 1.91, 2,
    ]);
    expect(parseSweep('pue=1.1:2.0:0.3').values).toEqual([1.1, 1.4, 1.7, 2]);
    expect(parseSweep('facility-power=1e6:3e6/3')).toEqual({
      parameter: 'facility-power',
      values: [1e6, 2e6, 3e6],
    });
    expect(parseSweep('phi=1,1.5,2').values).toEqual([1, 1.5, 2]);
  });

  it.each([
    ['pue', /no =/],
    ['power=1:2', /unknown parameter 'power'/],
    ['pue=2:1', /STOP is below START/],
    ['pue=1:2:0', /STEP must be > 0/],
    ['pue=1:x', /'x' is not a number/],
    ['pue=1:2/1', /POINTS must be an integer/],
  ])('rejects %j', (text, message) => {
    expect(() => parseSweep(text)).toThrow(message);
  });

  it('gives Q̇ and the binding stave per value, and where the stave flips', () => {
    // Power ceiling = 2.4e4/(pue·0.5); compute ceiling 5e4 → flips at pue = 2.4e4/(0.5·5e4) = 0.96.
    const inputs = { ...BASE, facilityPower: watts(2.4e4), pue: r(1) };
    const sweep = sweepProductionFunction(inputs, parseSweep('pue=1:1.4:0.2'));
    expect(sweep.rows.map((row) => row.value)).toEqual([1, 1.2, 1.4]);
    // 2.4e4/pue/0.5 = 4.8e4, 4e4, 3.43e4 < 5e4: power-bound throughout.
    expect(sweep.rows.map((row) => row.binding)).toEqual(['power', 'power', 'power']);
    expect(sweep.rows[1]!.qdot).toBeCloseTo(4e4 * 1.5 * 0.8, 6);
    expect(sweep.crossover).toBeCloseTo(0.96, 12);
    const fp = sweepProductionFunction(inputs, parseSweep('facility-power=1e4:5e4/5'));
    expect(fp.rows.map((row) => row.binding)).toEqual(['power', 'power', 'compute', 'compute', 'compute']);
    expect(fp.crossover).toBeCloseTo(2.5e4, 6);
    expect(crossover(inputs, 'phi')).toBeNull();
  });

  it('validates every row (a PUE sweep below 1 is bad usage)', () => {
    expect(() => sweepProductionFunction(BASE, parseSweep('pue=0.8:1.2'))).toThrow(/--pue 0.8 is not valid/);
  });

  it('the binding stave flips exactly at the crossover', () => {
    fc.assert(
      fc.property(positive, positive, positive, positive, (k, c, e, f) => {
        const inputs = {
          kEff: flopsPerSecond(k),
          cTok: flopsPerToken(c),
          eTok: joulesPerToken(e),
          facilityPower: watts(f),
        };
        const x = crossover(inputs, 'facility-power')!;
        if (!(x > 0) || !Number.isFinite(x * 4)) return;
        expect(productionFunction({ ...inputs, facilityPower: watts(x / 2) }).binding).toBe('power');
        expect(productionFunction({ ...inputs, facilityPower: watts(x * 2) }).binding).toBe('compute');
      }),
    );
  });
});

describe('chooseForTpf: several lever sets and none named', () => {
  const gates = { quality: { kind: 'none' as const }, service: {} };
  const dense = measurement({ variant: 'dense', joulesPerToken: 0.02 });
  const sparse = measurement({ variant: 'sparse', joulesPerToken: 0.005 });
  const int8 = measurement({ variant: 'kv-int8', joulesPerToken: 0.01 });

  it('takes the lowest J/token among the valid lever sets that meet the gates, and says so', () => {
    const { measurement: m, reason } = chooseForTpf([dense, int8, sparse], gates);
    expect(m.variant).toBe('sparse');
    expect(reason).toMatch(
      /^sparse: the lowest J\/token of the 3 lever set\(s\) at .* that are valid and meet \(q\*, s\*\); choose another with --variant/,
    );
  });

  it('never takes an invalid row, nor a peer or a user kernel', () => {
    const broken = { ...sparse, valid: false, validity: ['drift'] };
    const peer = {
      ...measurement({ variant: 'dense', joulesPerToken: 0.001 }),
      peer: { family: 'torch', name: 'x', version: '', leverSet: 'dense' },
    };
    const { measurement: m } = chooseForTpf([dense, int8, broken, peer], gates);
    expect(m.variant).toBe('kv-int8');
  });

  it('takes the baseline when no set meets the gates, and fails naming the rows when nothing is usable', () => {
    const strict = { quality: { kind: 'rel-error' as const, maxRelError: 1e-12 }, service: {} };
    const base = chooseForTpf([dense, int8], strict);
    expect(base.measurement.variant).toBe('dense');
    expect(base.reason).toMatch(/no lever set .* meets \(q\*, s\*\), so the baseline/);
    expect(() => chooseForTpf([{ ...dense, valid: false, validity: ['drift'] }], gates)).toThrow(
      /no usable measurement .*drift/,
    );
  });
});
