// Regions → an etok.results/v1 document: one measurement per region name, one energy window per begin/end pair.
// A region-marked process chooses its own windows, so the engine observes rather than drives it: its window rule
// (from the engine itself) judges each window, and the same statistics and validity rules as `etok bench` apply;
// the engine's stopping rules cannot (the process decides how many calls it makes).
import {
  analyseMeasurement,
  type BenchConfig,
  DEFAULT_PARAMS,
  DEFAULT_TIMING,
  type Measurement,
  type MeterDescription,
  type RawMeasurement,
  type TimingSettings,
} from '@etok/core';
import { windowTargetS } from '@etok/native';
import type { RegionWindow } from './protocol.js';

/** Seconds a window needs for this meter: the engine's window rule (≥ 200 ms and ≥ 20 counter updates). */
export function neededWindowS(meter: MeterDescription, timing: TimingSettings = DEFAULT_TIMING): number {
  return windowTargetS(timing, meter.updatePeriodMs);
}

/** How many calls a region needs so its windows span enough meter updates (a suggestion for the user). */
export function suggestedCalls(window: RegionWindow, meter: MeterDescription): number {
  const perCallS = ((window.t1Ns - window.t0Ns) * 1e-9) / window.calls;
  return Math.ceil(neededWindowS(meter) / Math.max(perCallS, 1e-9));
}

export function regionMeasurements(
  windows: RegionWindow[],
  meter: MeterDescription,
  idleW: number,
): Measurement[] {
  const byName = new Map<string, RegionWindow[]>();
  for (const w of windows) {
    const list = byName.get(w.name);
    if (list) list.push(w);
    else byName.set(w.name, [w]);
  }
  return [...byName].map(([name, mine]) => {
    const tokensPerCall = mine.reduce((s, w) => s + w.tokens, 0) / mine.reduce((s, w) => s + w.calls, 0);
    const config: BenchConfig = {
      id: `region:${name}`,
      variant: `region:${name}`,
      phase: mine[0]!.phase,
      dtype: 'f32',
      shape: { batch: 0, heads: 0, kvHeads: 0, headDim: 0, qLen: 0, kvLen: 0, rank: 0, ropeDim: 0 },
      params: DEFAULT_PARAMS,
      cost: { flops: 0, bytes: 0, tokens: tokensPerCall },
      hostBytes: 0,
    };
    const raw: RawMeasurement = {
      meter,
      executor: { kind: 'regions', name },
      idleW,
      samplesS: mine.map((w) => ((w.t1Ns - w.t0Ns) * 1e-9) / w.calls),
      windows: mine.map((w) => ({ t0Ns: w.t0Ns, t1Ns: w.t1Ns, joules: w.joules, calls: w.calls })),
      relErrorVsDense: null,
      relErrorVsExact: null,
      qualityNote: 'region of a user process: no reference',
      stopReason: 'process-exit',
      windowTargetS: neededWindowS(meter),
      cancelled: false,
    };
    const m = analyseMeasurement(config, raw, { timing: { ...DEFAULT_TIMING, minTrials: 1 } });
    // A region has no analytic shape or cost: say so rather than report zeros as figures.
    return {
      ...m,
      shape: {},
      flops: 0,
      bytes: 0,
      region: { name, windows: mine.length, costUnknown: true },
    } as Measurement;
  });
}
