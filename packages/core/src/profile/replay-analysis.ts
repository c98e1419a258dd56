// One replay's windows as a J/call with its interval and the verdicts that say whether to trust it: the engine's
// (as `etok bench` judges its measurements) and one of the replay's own: calls that took a different time than
// the same kernel in the program did not do the same work (a kernel whose replay is not idempotent).
import { counterAnomaly, detectDrift } from '../analyse-measurement.js';
import { bootstrapInterval, median } from '../statistics/summary.js';
import type { ReplayEvent } from './pass-files.js';
import type { ProfileReplay } from './schema.js';

/** The engine's J/call target: ±3% (its energyCiTarget default). */
export const REPLAY_CI_TARGET = 0.03;
/** Replayed and traced time per call may differ by this much (and 5 µs) before the replay is doubted. */
export const REPLAY_TIME_TOLERANCE = 0.25;

export type ReplayAnalysis =
  | { ok: true; joulesPerCall: number; ciLow: number; ciHigh: number; replay: ProfileReplay }
  | { ok: false; reason: string };

export function analyseReplay(event: ReplayEvent, tracedTimePerCallS: number): ReplayAnalysis {
  if (event.reason) return { ok: false, reason: `replay not possible: ${event.reason}` };
  const windows = (event.windows ?? []).filter((w) => w.calls > 0);
  if (windows.length === 0) {
    const why = event.failure
      ? `${event.failure.code}: ${event.failure.message}`
      : event.groupFault
        ? `the meter failed (${event.groupFault.code}: ${event.groupFault.message})`
        : event.cancelled
          ? 'interrupted'
          : 'no energy window was completed';
    return { ok: false, reason: `the replay measured nothing: ${why}` };
  }
  const totalJ = windows.reduce((s, w) => s + w.joules, 0);
  const totalCalls = windows.reduce((s, w) => s + w.calls, 0);
  const joulesPerCall = totalJ / totalCalls;
  if (!(joulesPerCall > 0 && Number.isFinite(joulesPerCall)))
    return {
      ok: false,
      reason: `the replay's energy windows add up to ${totalJ} J over ${totalCalls} calls (a meter anomaly)`,
    };
  const ratio = (idx: readonly number[]) => {
    let j = 0;
    let c = 0;
    for (const i of idx) {
      j += windows[i]!.joules;
      c += windows[i]!.calls;
    }
    return c > 0 ? j / c : Number.NaN;
  };
  const ci = bootstrapInterval(
    windows.map((_, i) => i),
    ratio,
    { resamples: 2000 },
  );
  const samples = (event.samplesS ?? []).filter((x): x is number => x !== null && Number.isFinite(x));
  const timePerCallS = samples.length > 0 ? median(samples) : 0;
  const validity: string[] = [];
  if (event.cancelled) validity.push('cancelled');
  if (event.groupFault) validity.push('incomplete');
  if (windows.length < 2) validity.push('too-few-windows');
  if (!((ci.high - ci.low) / 2 / joulesPerCall <= REPLAY_CI_TARGET)) validity.push('ci-not-reached');
  const typical = median(windows.map((w) => (w.t1Ns - w.t0Ns) * 1e-9));
  if (event.windowTargetS !== undefined && typical < 0.9 * event.windowTargetS)
    validity.push('window-too-short');
  if (detectDrift(windows.map((w) => w.joules / w.calls))) validity.push('drift');
  if (windows.some((w) => w.throttled)) validity.push('throttled');
  if (windows.some((w) => counterAnomaly(w, event.meter?.measured ?? true))) validity.push('counter-anomaly');
  if (
    tracedTimePerCallS > 0 &&
    timePerCallS > 0 &&
    Math.abs(timePerCallS - tracedTimePerCallS) > 5e-6 &&
    Math.abs(timePerCallS / tracedTimePerCallS - 1) > REPLAY_TIME_TOLERANCE
  )
    validity.push('replay-time-differs');
  if (event.restoreError) validity.push('memory-not-restored');
  return {
    ok: true,
    joulesPerCall,
    ciLow: Math.max(0, ci.low),
    ciHigh: Math.max(0, ci.high),
    replay: {
      launchIndex: Math.max(1, Math.round(event.launchIndex)),
      valid: validity.length === 0,
      validity,
      windows: windows.map((w) => ({
        t0Ns: w.t0Ns,
        t1Ns: w.t1Ns,
        joules: w.joules,
        calls: w.calls,
        ...(w.throttled ? { throttled: true } : {}),
      })),
      idleW: event.idleW ?? 0,
      timePerCallS,
      tracedTimePerCallS,
      memoryBytes: event.memory?.bytes ?? 0,
      memoryWhere: event.memory?.where ?? 'device',
      pausedS: event.pausedS ?? 0,
      ...(event.kernelPath ? { kernelPath: event.kernelPath } : {}),
      ...(event.stopReason ? { stopReason: event.stopReason } : {}),
      ...(event.restoreError ? { restoreError: event.restoreError } : {}),
    },
  };
}
