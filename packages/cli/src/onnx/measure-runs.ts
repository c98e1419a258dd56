// The harness's rules (docs/harness.md) applied to work driven from JavaScript, for what the C++ harness cannot
// call: ONNX Runtime sessions. Warm-up, then per-call timing samples (hrtime), an idle baseline, then energy
// windows of back-to-back calls, each ≥ max(minWindowS, minWindowUpdates × the meter's update period), bounded
// by readings at counter update edges, repeated until the J/call interval is narrow enough or the budget is spent.
// Returns the same raw shape as the native harness so core's analyseMeasurement() treats both alike.
import type { RawMeasurement, TimingSettings } from '@etok/core';
import { bootstrapInterval, median } from '@etok/core';
import type { NativeEnergyReading, NativeMeterHandle } from '@etok/native';

export type RunOnce = () => Promise<void>;

export interface MeasureRunsOptions {
  timing: TimingSettings;
  /** An open meter, or null when energy cannot be measured (windows are then left empty, timing still taken). */
  meter: NativeMeterHandle | null;
  onProgress?: (stage: string, fraction: number) => void;
  /** Polled between calls; true stops the measurement with what was measured (cancelled: true). */
  cancelled?: () => boolean;
}

const nowS = () => Number(process.hrtime.bigint()) * 1e-9;
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** A reading at a counter update edge (stepped counters) or now (meters without steps). */
function edgeReading(meter: NativeMeterHandle, stepped: boolean): NativeEnergyReading {
  return stepped ? meter.readAtUpdate() : meter.read();
}

export async function measureRuns(runOnce: RunOnce, options: MeasureRunsOptions): Promise<RawMeasurement> {
  const { timing, meter } = options;
  const progress = options.onProgress ?? (() => {});
  const stop = options.cancelled ?? (() => false);
  const description = meter?.describe();

  // Cold samples: the first calls of a fresh session (allocation, first-touch), kept apart from the hot ones.
  const coldSamplesS: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = nowS();
    await runOnce();
    coldSamplesS.push(nowS() - t0);
  }
  progress('warm-up', 0);
  const warmEnd = nowS() + timing.warmupS;
  while (nowS() < warmEnd && !stop()) await runOnce();

  // Timing: single calls until the median's 95% interval is within noiseTarget, or maxTimeS.
  const samplesS: number[] = [];
  const timingStart = nowS();
  let timingStopReason = 'max-time';
  while (!stop()) {
    const t0 = nowS();
    await runOnce();
    samplesS.push(nowS() - t0);
    const elapsed = nowS() - timingStart;
    progress('timing', Math.min(1, elapsed / timing.maxTimeS));
    if (elapsed >= timing.maxTimeS) break;
    if (elapsed >= timing.minTimeS && samplesS.length >= 10 && samplesS.length % 10 === 0) {
      const m = median(samplesS);
      const ci = bootstrapInterval(samplesS.slice(-2000), median, { resamples: 300 });
      if ((ci.high - ci.low) / 2 <= timing.noiseTarget * m) {
        timingStopReason = 'noise-target';
        break;
      }
    }
  }
  // Size windows by throughput (the mean), not the median: back-to-back calls pay the occasional slow call too.
  const timedS = samplesS.reduce((a, b) => a + b, 0);
  let callS = samplesS.length > 0 ? timedS / samplesS.length : coldSamplesS[coldSamplesS.length - 1]!;

  const windows: RawMeasurement['windows'] = [];
  let idleW = 0;
  let stopReason = meter ? 'max-trials' : 'no-meter';
  const updatePeriodS = (description?.updatePeriodMs ?? 0) / 1000;
  const windowTargetS = Math.max(timing.minWindowS, timing.minWindowUpdates * updatePeriodS);
  if (meter && !stop()) {
    const stepped = description!.kind !== 'model' && updatePeriodS > 0;
    // Idle baseline: the same meter with nothing running, so the dynamic share can be separated.
    progress('idle baseline', 0);
    const i0 = edgeReading(meter, stepped);
    await sleep(timing.idleS);
    const i1 = edgeReading(meter, stepped);
    idleW = i1.tNs > i0.tNs ? (i1.joules - i0.joules) / ((i1.tNs - i0.tNs) * 1e-9) : 0;

    const energyStart = nowS();
    while (!stop()) {
      // Recalibrated after every window from the window itself (load from other processes changes the rate).
      const callsPerWindow = Math.max(1, Math.ceil(windowTargetS / Math.max(callS, 1e-7)));
      const r0 = edgeReading(meter, stepped);
      let calls = 0;
      const windowStart = nowS();
      // At least the planned calls and at least the target duration: a window is never shorter than the rule.
      while ((calls < callsPerWindow || nowS() - windowStart < windowTargetS) && !stop()) {
        await runOnce();
        calls++;
      }
      // Close the window at the next counter step while still running, so no idle tail is counted.
      let r1: NativeEnergyReading | null = null;
      if (stepped) {
        // pollUpdate() reports a step only when its previous read was recent, so keep calls short between polls;
        // a call longer than the poll gap ends the window with a plain read (lagging by < one update period).
        const extraCalls = Math.ceil((2 * updatePeriodS) / Math.max(callS, 1e-7)) + 2;
        for (let extra = 0; r1 === null && extra < extraCalls; extra++) {
          r1 = meter.pollUpdate();
          if (r1 === null) {
            await runOnce();
            calls++;
          }
        }
      }
      r1 ??= meter.read();
      windows.push({ t0Ns: r0.tNs, t1Ns: r1.tNs, joules: r1.joules - r0.joules, calls });
      if (calls > 0) callS = ((r1.tNs - r0.tNs) * 1e-9) / calls;
      const spent = nowS() - energyStart;
      progress(
        'energy',
        Math.min(1, Math.max(windows.length / timing.maxTrials, spent / timing.energyBudgetS)),
      );
      if (windows.length >= timing.minTrials) {
        const idx = windows.map((_, i) => i);
        const ratio = (sel: readonly number[]) => {
          let j = 0;
          let c = 0;
          for (const i of sel) {
            j += windows[i]!.joules;
            c += windows[i]!.calls;
          }
          return j / c;
        };
        const ci = bootstrapInterval(idx, ratio, { resamples: 500 });
        if ((ci.high - ci.low) / 2 <= timing.energyCiTarget * Math.abs(ratio(idx))) {
          stopReason = 'ci-target';
          break;
        }
      }
      if (windows.length >= timing.maxTrials) {
        stopReason = 'max-trials';
        break;
      }
      if (spent >= timing.energyBudgetS) {
        stopReason = 'time-budget';
        break;
      }
    }
  }
  return {
    meter: description ?? {
      id: 'none',
      kind: 'model',
      measured: false,
      method: 'model',
      boundary: 'not measured',
      updatePeriodMs: 0,
      note: 'energy not measured: no meter could be opened',
    },
    idleW,
    samplesS,
    coldSamplesS,
    timingStopReason,
    windows,
    relErrorVsDense: null,
    relErrorVsExact: null,
    stopReason: stop() ? 'cancelled' : stopReason,
    windowTargetS,
    cancelled: stop(),
  };
}
