import { describe, expect, it } from 'vitest';
import { analyseMeasurement, DRIFT_ALPHA, detectDrift, type RawMeasurement } from './analyse-measurement.js';
import { DEFAULT_PARAMS, DEFAULT_TIMING, planBench } from './bench-plan.js';
import { seededRandom } from './statistics/summary.js';

const config = planBench(
  {
    device: 'cpu',
    meter: 'model',
    rank: 512,
    ropeDim: 64,
    params: DEFAULT_PARAMS,
    profile: 'uniform',
    seed: 1,
    quality: true,
    batch: [4],
  },
  2 ** 34,
).configs[0]!;

function raw(windows: { joules: number; calls: number; seconds: number }[], idleW = 10): RawMeasurement {
  let t = 1e9;
  return {
    meter: { id: 'model', kind: 'model', measured: false, method: 'model', boundary: 'x', updatePeriodMs: 0 },
    idleW,
    samplesS: [0.01, 0.011, 0.0105, 0.0102, 0.0099],
    windows: windows.map((w) => {
      const t0 = t;
      t += w.seconds * 1e9;
      return { t0Ns: t0, t1Ns: t, joules: w.joules, calls: w.calls };
    }),
    relErrorVsDense: 1e-6,
    relErrorVsExact: 1e-6,
    stopReason: 'ci-target',
    windowTargetS: 0.2,
    cancelled: false,
  };
}

describe('analyseMeasurement', () => {
  it('J/call is Σ joules / Σ calls, J/token divides by tokens per call, idle and dynamic add up', () => {
    const m = analyseMeasurement(
      config,
      raw([
        { joules: 30, calls: 10, seconds: 0.25 },
        { joules: 66, calls: 20, seconds: 0.5 },
        { joules: 30, calls: 10, seconds: 0.25 },
      ]),
      { timing: DEFAULT_TIMING },
    );
    expect(m.energy.joulesPerCall).toBeCloseTo(126 / 40, 12);
    expect(m.tokens).toBe(4);
    expect(m.energy.joulesPerToken).toBeCloseTo(126 / 40 / 4, 12);
    expect(m.energy.avgPowerW).toBeCloseTo(126, 12);
    // idle 10 W over 1 s of windows spread over 40 calls
    expect(m.energy.idleJoulesPerCall).toBeCloseTo(0.25, 12);
    expect(m.energy.dynamicJoulesPerCall).toBeCloseTo(126 / 40 - 0.25, 12);
    expect(m.energy.ciLowJoulesPerCall!).toBeLessThanOrEqual(m.energy.joulesPerCall);
    expect(m.energy.ciHighJoulesPerCall!).toBeGreaterThanOrEqual(m.energy.joulesPerCall);
  });

  it('a measurement whose interval is wider than the target stays valid, with a precision warning', () => {
    const m = analyseMeasurement(
      config,
      raw([
        { joules: 10, calls: 10, seconds: 0.25 },
        { joules: 40, calls: 10, seconds: 0.25 },
      ]),
      { timing: DEFAULT_TIMING },
    );
    expect(m.valid).toBe(true);
    expect(m.validity).not.toContain('ci-not-reached');
    expect((m as { warnings?: string[] }).warnings).toEqual(['ci-not-reached']);
    // Its interval says how imprecise it is: wider than the ±3% target.
    const e = m.energy;
    expect((e.ciHighJoulesPerCall! - e.ciLowJoulesPerCall!) / 2 / e.joulesPerCall).toBeGreaterThan(0.03);
  });

  it('flags windows shorter than the meter needs', () => {
    const m = analyseMeasurement(config, raw([{ joules: 1, calls: 1, seconds: 0.01 }]), {
      timing: DEFAULT_TIMING,
    });
    expect(m.validity).toContain('window-too-short');
  });
});

describe('counter anomalies (fault injection)', () => {
  const steady = [1, 2, 3, 4, 5].map(() => ({ joules: 30, calls: 10, seconds: 0.25 }));
  const measured = (r: RawMeasurement): RawMeasurement => ({
    ...r,
    meter: { ...r.meter, id: 'rapl', kind: 'rapl', measured: true, method: 'energy-counter' },
  });

  it('a measured meter that gives a zero-energy window (stuck counter, 0 W) makes the measurement invalid', () => {
    const windows = [...steady, { joules: 0, calls: 10, seconds: 0.25 }];
    const m = analyseMeasurement(config, measured(raw(windows)), { timing: DEFAULT_TIMING });
    expect(m.valid).toBe(false);
    expect(m.validity).toContain('counter-anomaly');
  });

  it('a negative or non-finite window is an anomaly too', () => {
    for (const joules of [-5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const windows = [...steady, { joules, calls: 10, seconds: 0.25 }];
      const m = analyseMeasurement(config, measured(raw(windows)), { timing: DEFAULT_TIMING });
      expect(m.validity).toContain('counter-anomaly');
    }
  });

  it('reads the harness’s per-window anomaly flag and keeps it in the windows', () => {
    const r = measured(raw(steady));
    r.windows[2]!.anomaly = 'NVML_COUNTER_BACKWARDS';
    const m = analyseMeasurement(config, r, { timing: DEFAULT_TIMING });
    expect(m.validity).toContain('counter-anomaly');
    expect((m.energy.windows[2] as { anomaly?: string }).anomaly).toBe('NVML_COUNTER_BACKWARDS');
  });

  it('a modeled meter stating 0 W is not an anomaly, and steady measured windows are valid', () => {
    const zero = analyseMeasurement(config, raw(steady.map((w) => ({ ...w, joules: 0 }))), {
      timing: DEFAULT_TIMING,
    });
    expect(zero.validity).not.toContain('counter-anomaly');
    const ok = analyseMeasurement(config, measured(raw(steady)), { timing: DEFAULT_TIMING });
    expect(ok.validity).not.toContain('counter-anomaly');
  });
});

describe('detectDrift', () => {
  it('sees a steady rise and ignores noise around a constant', () => {
    expect(detectDrift([1, 1.01, 1.02, 1.1, 1.12, 1.2, 1.22, 1.3, 1.31])).toBe(true);
    expect(detectDrift([1, 1.01, 0.99, 1.0, 1.01, 0.99, 1.0, 1.01, 0.99])).toBe(false);
  });

  it('judges thirds of three windows by Student t, not the normal: a 7.7% step at z = 4 is within chance there', () => {
    // Thirds of three windows estimate their spread from two degrees of freedom each; 1.96 would flag this.
    const few = [1.0, 1.06, 0.97, 1.03, 0.99, 1.02, 1.1, 1.04, 1.09];
    expect(detectDrift(few)).toBe(false);
    // The same step seen over ten windows a third is drift.
    const many = [
      ...Array(10)
        .fill(0)
        .map((_, i) => [1.0, 1.06, 0.97][i % 3]!),
      ...Array(10).fill(1.01),
      ...Array(10)
        .fill(0)
        .map((_, i) => [1.1, 1.04, 1.09][i % 3]!),
    ];
    expect(detectDrift(many)).toBe(true);
  });

  it('raises a false alarm on stationary noise at about its stated level, for every window count', () => {
    const random = seededRandom(7);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    for (const windows of [6, 9, 15, 30]) {
      let alarms = 0;
      const trials = 4000;
      for (let t = 0; t < trials; t++) {
        const xs = Array.from({ length: windows }, () => 1 + 0.05 * gaussian());
        if (detectDrift(xs)) alarms++;
      }
      // The 2% floor only lowers the rate; the normal's 1.96 in place of Student's t gave 7–18% here.
      expect(alarms / trials, `${windows} windows`).toBeLessThan(1.5 * DRIFT_ALPHA);
    }
  });
});
