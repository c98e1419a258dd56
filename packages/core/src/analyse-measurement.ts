// Turning the harness's raw samples and windows into one `measurements[]` entry (docs/spec.md §5): medians, means,
// bootstrap intervals, J/call = Σ joules / Σ calls, the idle share and the dynamic remainder, outliers reported.

import type { BenchConfig, TimingSettings } from './bench-plan.js';
import type { ExecutorKind, Measurement, MeterDescription, QualitySample } from './schemas.js';
import { studentTQuantile } from './statistics/student-t.js';
import { bootstrapInterval, mean, median, quantile } from './statistics/summary.js';
import type { PrecisionWarning } from './validity.js';

/** What the harness returns for one configuration (structurally the addon's result). */
export interface RawMeasurement {
  coldSamplesS?: ArrayLike<number>;
  timingStopReason?: string;
  meter: MeterDescription;
  idleW: number;
  samplesS: ArrayLike<number>;
  windows: {
    t0Ns: number;
    t1Ns: number;
    joules: number;
    calls: number;
    sampledJoules?: number;
    throttled?: boolean;
    /** Set by the harness when the meter saw an anomaly inside the window (counter backwards, zero power…). */
    anomaly?: string;
    temperatureC?: number;
    smClockMHz?: [number, number];
    clockEvents?: string[];
  }[];
  crossCheckSource?: string;
  kernelPath?: string;
  relErrorVsDense: number | null;
  relErrorVsExact: number | null;
  qualityNote?: string;
  /** Set when the errors are of a part of the output (the harness's reference budget). */
  qualitySample?: QualitySample;
  stopReason: string;
  windowTargetS: number;
  cancelled: boolean;
  /** What ran the calls (absent in files of older versions: etok's own kernels). */
  executor?: { kind: string; name?: string; description?: string; version?: string; framework?: string };
  /** A meter fault ended the group's energy phase; the windows before it are kept. */
  groupFault?: { code: string; message: string };
}

/** Validity reasons (shown in tables and reports; an invalid number is never presented as valid). A CI wider
 *  than the target is not one of them: it is a precision warning (validity.ts). */
export type ValidityReason =
  | 'too-few-windows'
  | 'window-too-short'
  | 'cancelled'
  | 'no-energy'
  | 'drift'
  | 'throttled'
  | 'counter-anomaly'
  | 'incomplete';

/** The false-alarm rate of the drift test on one measurement. A sweep tests each of its measurements, so the level
 *  is set well below the usual 5%: at 1%, a sweep of 16 stationary configurations flags none in ~85% of runs. */
export const DRIFT_ALPHA = 0.01;

/**
 * Drift: J/call of the first and last thirds of the windows differ beyond chance at level DRIFT_ALPHA (Welch's t
 * test: each third's own variance, Student's t with the Welch–Satterthwaite degrees of freedom, since thirds of a
 * few windows estimate their spread from two or three degrees of freedom) and by more than 2% (a device heating
 * up or a neighbour waking up during the run).
 */
export function detectDrift(joulesPerCall: readonly number[]): boolean {
  if (joulesPerCall.length < 6) return false;
  const third = Math.floor(joulesPerCall.length / 3);
  const first = joulesPerCall.slice(0, third);
  const last = joulesPerCall.slice(-third);
  const varianceOfMean = (xs: readonly number[]) => {
    const m = mean(xs);
    return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length;
  };
  const v1 = varianceOfMean(first);
  const v2 = varianceOfMean(last);
  const gap = Math.abs(mean(last) - mean(first));
  if (!(gap > 0.02 * Math.abs(mean(first)))) return false;
  if (v1 + v2 === 0) return true; // no spread at all within either third: any 2% step is real
  const df = (v1 + v2) ** 2 / (v1 ** 2 / (first.length - 1) + v2 ** 2 / (last.length - 1));
  if (!(df > 0)) return false; // a non-finite window (counter-anomaly says so)
  return gap / Math.sqrt(v1 + v2) > studentTQuantile(1 - DRIFT_ALPHA / 2, df);
}

/**
 * Counter vs integrated instant power over the same windows: which number is right, with data.
 * The gap is (counter − sampled) / sampled over all windows together.
 */
function crossCheckSummary(windows: RawMeasurement['windows'], source: string | undefined) {
  const checked = windows.filter((w) => w.sampledJoules !== undefined && Number.isFinite(w.sampledJoules));
  if (!source || checked.length === 0) return {};
  const counterJ = checked.reduce((s, w) => s + w.joules, 0);
  const sampledJ = checked.reduce((s, w) => s + w.sampledJoules!, 0);
  return {
    crossCheck: {
      source,
      windows: checked.length,
      counterJoules: counterJ,
      sampledJoules: sampledJ,
      relativeGap: (counterJ - sampledJ) / sampledJ,
    },
  };
}

/**
 * A window no real meter can produce: the harness flagged an anomaly, or a measured meter gave zero, negative or
 * non-finite energy over a window of work (a stuck counter, a counter that went backwards, power read as 0 W).
 * The number is kept in the file but the measurement is invalid.
 */
export function counterAnomaly(window: RawMeasurement['windows'][number], measured: boolean): boolean {
  if (window.anomaly) return true;
  return measured && !(Number.isFinite(window.joules) && window.joules > 0);
}

export interface AnalysisContext {
  timing: TimingSettings;
  /** True when the windows were interleaved with other lever sets of the same shape. */
  interleaved?: boolean;
  group?: string;
}

const MAX_BOOTSTRAP_UNITS = 2000;

/** Consecutive windows summed into at most `max` blocks of (joules, calls). */
function poolWindows(
  windows: readonly { joules: number; calls: number }[],
  max: number,
): { joules: number; calls: number }[] {
  if (windows.length <= max) return windows.map((w) => ({ joules: w.joules, calls: w.calls }));
  const out = Array.from({ length: max }, () => ({ joules: 0, calls: 0 }));
  windows.forEach((w, i) => {
    const block = out[Math.floor((i * max) / windows.length)]!;
    block.joules += w.joules;
    block.calls += w.calls;
  });
  return out;
}

/** Thin a long sample evenly so bootstrap stays cheap; the order of calls carries no meaning here. */
function thin(xs: number[], max: number): number[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)]!);
}

export function analyseMeasurement(
  config: BenchConfig,
  raw: RawMeasurement,
  context: AnalysisContext,
): Measurement {
  const { timing } = context;
  const samples = Array.from(raw.samplesS);
  const sorted = [...samples].sort((a, b) => a - b);
  const timeCi = bootstrapInterval(thin(samples, 4000), median, { resamples: 1000 });
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const fence = 3 * (q3 - q1);
  const outliers = samples.filter((x) => x < q1 - fence || x > q3 + fence).length;

  const windows = raw.windows;
  const totalJ = windows.reduce((s, w) => s + w.joules, 0);
  const totalCalls = windows.reduce((s, w) => s + w.calls, 0);
  const totalS = windows.reduce((s, w) => s + (w.t1Ns - w.t0Ns) * 1e-9, 0);
  const joulesPerCall = totalCalls > 0 ? totalJ / totalCalls : Number.NaN;
  // Bootstrap over windows of the ratio Σj/Σcalls (windows may differ in calls when a run is cut short). Beyond
  // MAX_BOOTSTRAP_UNITS windows (a program marking 100 000 regions), consecutive windows are pooled into that many
  // blocks first, so the work stays linear in the windows and the interval is a block bootstrap of the same ratio.
  const units = poolWindows(windows, MAX_BOOTSTRAP_UNITS);
  const indices = units.map((_, i) => i);
  const ratio = (idx: readonly number[]) => {
    let j = 0;
    let c = 0;
    for (const i of idx) {
      j += units[i]!.joules;
      c += units[i]!.calls;
    }
    return c > 0 ? j / c : Number.NaN;
  };
  const energyCi = bootstrapInterval(indices, ratio, { resamples: 2000 });
  const idleJoulesPerCall = totalCalls > 0 ? (raw.idleW * totalS) / totalCalls : Number.NaN;
  const tokensPerCall = config.cost.tokens;

  const validity: ValidityReason[] = [];
  const warnings: PrecisionWarning[] = [];
  if (raw.cancelled) validity.push('cancelled');
  if (raw.groupFault) validity.push('incomplete');
  if (windows.length === 0) validity.push('no-energy');
  else {
    if (windows.length < Math.min(timing.minTrials, 2)) validity.push('too-few-windows');
    const halfWidth = (energyCi.high - energyCi.low) / 2 / Math.abs(joulesPerCall);
    if (!(halfWidth <= timing.energyCiTarget)) warnings.push('ci-not-reached');
    // The typical window must span the meter's updates; one short window among many is not disqualifying.
    const typical = median(windows.map((w) => (w.t1Ns - w.t0Ns) * 1e-9));
    // The engine's window rule, as it recorded it for these windows (harness.cpp windowTargetSeconds).
    if (typical < 0.9 * raw.windowTargetS) validity.push('window-too-short');
    if (detectDrift(windows.map((w) => w.joules / w.calls))) validity.push('drift');
    if (windows.some((w) => w.throttled)) validity.push('throttled');
    if (windows.some((w) => counterAnomaly(w, raw.meter.measured))) validity.push('counter-anomaly');
  }
  const cold = Array.from(raw.coldSamplesS ?? []);

  const executor = raw.executor;
  const peer = config.external?.peer;
  return {
    id: config.id,
    variant: config.variant,
    executor: (executor?.kind ?? config.external?.executor ?? 'etok') as ExecutorKind,
    ...(peer
      ? {
          peer: {
            family: peer.family,
            name: peer.name,
            version: executor?.version ?? '',
            leverSet: config.external!.referenceVariant ?? 'dense',
          },
        }
      : {}),
    ...(raw.groupFault ? { incomplete: `${raw.groupFault.code}: ${raw.groupFault.message}` } : {}),
    phase: config.phase,
    dtype: config.dtype,
    shape: { ...config.shape },
    params: { ...config.params },
    tokens: tokensPerCall,
    flops: config.cost.flops,
    bytes: config.cost.bytes,
    time: {
      medianS: median(samples),
      meanS: mean(samples),
      ciLowS: timeCi.low,
      ciHighS: timeCi.high,
      samples: samples.length,
      outliers,
      ...(cold.length > 0 ? { coldMedianS: median(cold), coldSamples: cold.length } : {}),
      ...(totalCalls > 0 ? { hotMeanS: totalS / totalCalls } : {}),
      ...(raw.timingStopReason ? { stopReason: raw.timingStopReason } : {}),
    },
    energy: {
      joulesPerCall,
      joulesPerToken: joulesPerCall / tokensPerCall,
      avgPowerW: totalS > 0 ? totalJ / totalS : Number.NaN,
      dynamicJoulesPerCall: joulesPerCall - idleJoulesPerCall,
      idleJoulesPerCall,
      ciLowJoulesPerCall: energyCi.low,
      ciHighJoulesPerCall: energyCi.high,
      ciLowJoulesPerToken: energyCi.low / tokensPerCall,
      ciHighJoulesPerToken: energyCi.high / tokensPerCall,
      windows: windows.map((w) => ({
        t0Ns: w.t0Ns,
        t1Ns: w.t1Ns,
        joules: w.joules,
        calls: w.calls,
        ...(w.sampledJoules !== undefined ? { sampledJoules: w.sampledJoules } : {}),
        ...(w.throttled ? { throttled: true, clockEvents: w.clockEvents ?? [] } : {}),
        ...(w.anomaly ? { anomaly: w.anomaly } : {}),
        ...(w.temperatureC !== undefined ? { temperatureC: w.temperatureC } : {}),
        ...(w.smClockMHz ? { smClockMHz: w.smClockMHz } : {}),
      })),
      ...crossCheckSummary(windows, raw.crossCheckSource),
    },
    quality: {
      relErrorVsDense: raw.relErrorVsDense,
      relErrorVsExact: raw.relErrorVsExact,
      ...(raw.qualityNote ? { note: raw.qualityNote } : {}),
      ...(raw.qualitySample ? { sample: raw.qualitySample } : {}),
    },
    throttled: windows.some((w) => w.throttled === true),
    valid: validity.length === 0,
    validity,
    warnings,
    interleaved: context.interleaved ?? false,
    ...(context.group ? { group: context.group } : {}),
    provenance: {
      stopReason: raw.stopReason,
      windowTargetS: raw.windowTargetS,
      trials: windows.length,
      idleW: raw.idleW,
      meterUpdatePeriodMs: raw.meter.updatePeriodMs,
      ...(raw.kernelPath ? { kernelPath: raw.kernelPath } : {}),
      ...(executor?.name || executor?.framework || executor?.version
        ? {
            implementation: {
              ...(executor.name ? { name: executor.name } : {}),
              ...(executor.framework ? { framework: executor.framework } : {}),
              ...(executor.version ? { version: executor.version } : {}),
            },
          }
        : {}),
    },
  };
}
