// `etok compare`: the same configurations (lever set, phase, dtype, shape, params) measured in several results
// files — two GPUs, two versions of a kernel, before and after a driver update — side by side, as ratios against a
// baseline file with bootstrap CIs. Both ratios resample the energy windows of both sides independently (two runs
// are never paired, even when each was interleaved within itself): J/token as Σ joules / Σ calls / tokens, time
// as seconds per call over the same windows (Σ duration / Σ calls), so both describe the same calls. A verdict
// is given only where the CI excludes 1. Files whose energy is not comparable (meter kind, method, meter
// coverage or accounting boundary differ) are refused unless the caller allows the mismatch, and then every row
// says so.

import { canonicalVariant } from '@etok/kernels';
import { EtokError } from './errors.js';
import type { EnergyWindow, Measurement, Results } from './schemas.js';
import { type Interval, quantile, seededRandom } from './statistics/summary.js';
import {
  bootstrapWindows,
  DEFAULT_CONFIDENCE,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  derivedSeed,
  windowProblem,
} from './statistics/window-bootstrap.js';
import { statusOf } from './validity.js';

export interface CompareInput {
  results: Results;
  source: string;
}

export interface CompareOptions {
  /** Index (0-based) of the baseline among the inputs; default 0. */
  baseline?: number;
  allowMismatch?: boolean;
  /** Regression threshold in percent: a ratio whose CI lies wholly above 1 + PCT/100 is a regression. */
  failIfWorsePct?: number;
  resamples?: number;
  seed?: number;
}

export type Verdict = 'better' | 'worse' | 'no clear difference' | 'no CI' | 'invalid';

export interface CompareRun {
  index: number;
  source: string;
  device: { id: string; name: string };
  meter: { id: string; kind: string; method: string; measured: boolean; boundary: string };
  accounting: { boundary: string; pue: number };
  measurements: number;
}

export interface RatioFigure {
  /** other / baseline: > 1 means the other run uses more energy (or time) per token. */
  ratio: number | null;
  ci: (Interval & { level: number; method: string }) | null;
  verdict: Verdict;
  /** Set when `failIfWorsePct` is given and the CI lies wholly above 1 + PCT/100. */
  regression: boolean;
}

export interface CompareEntry {
  run: number;
  id: string;
  joulesPerToken: number;
  medianS: number;
  valid: boolean;
  invalidReasons: string[];
  /** Against the baseline run; null for the baseline itself. */
  energy: RatioFigure | null;
  time: RatioFigure | null;
  note: string | null;
}

export interface ComparedConfig {
  key: string;
  variant: string;
  phase: string;
  dtype: string;
  shape: Record<string, number>;
  baseline: CompareEntry;
  others: CompareEntry[];
}

export interface Comparison {
  baseline: number;
  runs: CompareRun[];
  /** Why the runs' energies are not like for like (empty when they are). */
  mismatches: string[];
  allowMismatch: boolean;
  failIfWorsePct: number | null;
  configs: ComparedConfig[];
  /** Measurements with no counterpart in the baseline run (or vice versa). */
  unmatched: { run: number; id: string }[];
  regressions: { key: string; run: number; metric: 'energy' | 'time'; ratio: number; ciLow: number }[];
  notes: string[];
}

function validity(m: Measurement): { valid: boolean; reasons: string[] } {
  return statusOf(m);
}

function sortedRecord(r: Record<string, unknown>): string {
  return Object.keys(r)
    .sort()
    .map((k) => `${k}=${r[k]}`)
    .join(',');
}

/** The configuration a measurement is of: lever set, phase, dtype, shape and kernel params. */
export function configKey(m: Measurement): string {
  let variant = m.variant;
  try {
    variant = canonicalVariant(m.variant);
  } catch {
    // an unknown lever set still matches itself by name
  }
  return `${variant}|${m.phase}|${m.dtype}|${sortedRecord(m.shape)}|${sortedRecord(m.params)}`;
}

function runOf(input: CompareInput, index: number): CompareRun {
  const { results: r, source } = input;
  return {
    index,
    source,
    device: { id: r.device.id, name: r.device.name },
    meter: {
      id: r.meter.id,
      kind: r.meter.kind,
      method: r.meter.method,
      measured: r.meter.measured,
      boundary: r.meter.boundary,
    },
    accounting: { boundary: r.accounting.boundary, pue: r.accounting.pue },
    measurements: r.measurements.length,
  };
}

/** What makes two runs' joules not like for like. A modeled meter's stated scope is not compared (it names its table). */
export function energyMismatches(base: CompareRun, other: CompareRun): string[] {
  const out: string[] = [];
  const where = `${other.source} vs ${base.source}`;
  if (base.meter.kind !== other.meter.kind)
    out.push(`meter kind differs (${other.meter.kind} vs ${base.meter.kind}) in ${where}`);
  if (base.meter.method !== other.meter.method)
    out.push(`meter method differs (${other.meter.method} vs ${base.meter.method}) in ${where}`);
  if (base.meter.measured !== other.meter.measured)
    out.push(`one run is measured and the other MODELED in ${where}`);
  if (
    base.meter.kind === other.meter.kind &&
    base.meter.kind !== 'model' &&
    base.meter.boundary !== other.meter.boundary
  )
    out.push(`meter boundary differs (${other.meter.boundary} vs ${base.meter.boundary}) in ${where}`);
  if (base.accounting.boundary !== other.accounting.boundary)
    out.push(
      `accounting boundary differs (${other.accounting.boundary} vs ${base.accounting.boundary}) in ${where}`,
    );
  return out;
}

function secondsPerCall(windows: readonly EnergyWindow[]): number {
  let ns = 0;
  let calls = 0;
  for (const w of windows) {
    ns += w.t1Ns - w.t0Ns;
    calls += w.calls;
  }
  return ns / 1e9 / calls;
}

/** Percentile bootstrap of secondsPerCall(other) / secondsPerCall(base), each side resampled on its own. */
function windowRatioInterval(
  base: readonly EnergyWindow[],
  other: readonly EnergyWindow[],
  key: string,
  options: CompareOptions,
): Interval | null {
  const rand = seededRandom(derivedSeed(options.seed ?? DEFAULT_SEED, key));
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const draw = (ws: readonly EnergyWindow[]) => {
    let ns = 0;
    let calls = 0;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[Math.floor(rand() * ws.length)]!;
      ns += w.t1Ns - w.t0Ns;
      calls += w.calls;
    }
    return ns / calls;
  };
  const xs: number[] = [];
  for (let r = 0; r < resamples; r++) xs.push(draw(other) / draw(base));
  if (!xs.every(Number.isFinite)) return null;
  xs.sort((a, b) => a - b);
  const alpha = (1 - DEFAULT_CONFIDENCE) / 2;
  return { low: quantile(xs, alpha), high: quantile(xs, 1 - alpha) };
}

function verdictOf(ci: Interval | null): Verdict {
  if (!ci) return 'no CI';
  if (ci.high < 1) return 'better';
  if (ci.low > 1) return 'worse';
  return 'no clear difference';
}

function entryOf(m: Measurement, run: number): CompareEntry {
  const v = validity(m);
  return {
    run,
    id: m.id,
    joulesPerToken: m.energy.joulesPerToken,
    medianS: m.time.medianS,
    valid: v.valid,
    invalidReasons: v.reasons,
    energy: null,
    time: null,
    note: null,
  };
}

export function compareResults(inputs: readonly CompareInput[], options: CompareOptions = {}): Comparison {
  if (inputs.length < 2) throw new EtokError('BAD_USAGE', 'compare needs at least two results files');
  const baseIndex = options.baseline ?? 0;
  if (!Number.isInteger(baseIndex) || baseIndex < 0 || baseIndex >= inputs.length)
    throw new EtokError(
      'BAD_USAGE',
      `--baseline ${baseIndex + 1} is not one of the ${inputs.length} files (1–${inputs.length})`,
    );
  const pct = options.failIfWorsePct ?? null;
  const level = DEFAULT_CONFIDENCE;
  const runs = inputs.map((x, i) => runOf(x, i));
  const base = runs[baseIndex]!;
  const mismatches = runs.filter((r) => r !== base).flatMap((r) => energyMismatches(base, r));
  if (mismatches.length > 0 && !options.allowMismatch)
    throw new EtokError(
      'BAD_USAGE',
      `refusing to compare energy that is not like for like: ${mismatches.join('; ')} (--allow-mismatch compares anyway and marks every row)`,
    );

  const notes: string[] = [];
  const index = inputs.map(({ results, source }) => {
    const map = new Map<string, Measurement>();
    for (const m of results.measurements) {
      const key = configKey(m);
      if (map.has(key))
        notes.push(`${source}: ${m.id} repeats the configuration of ${map.get(key)!.id}; the first is used`);
      else map.set(key, m);
    }
    return map;
  });
  const baseMap = index[baseIndex]!;
  const configs: ComparedConfig[] = [];
  const regressions: Comparison['regressions'] = [];
  const unmatched: Comparison['unmatched'] = [];
  for (const [key, bm] of baseMap) {
    const others: CompareEntry[] = [];
    for (let i = 0; i < inputs.length; i++) {
      if (i === baseIndex) continue;
      const om = index[i]!.get(key);
      if (!om) continue;
      const e = entryOf(om, i);
      const bv = validity(bm);
      if (!e.valid || !bv.valid) {
        const reason = !bv.valid
          ? `baseline ${bm.id} invalid (${bv.reasons.join(', ')})`
          : `invalid (${e.invalidReasons.join(', ')})`;
        e.energy = { ratio: null, ci: null, verdict: 'invalid', regression: false };
        e.time = { ratio: null, ci: null, verdict: 'invalid', regression: false };
        e.note = reason;
        others.push(e);
        continue;
      }
      // Energy: independent resampling of each side's windows (copies marked not interleaved, so never paired).
      const eRatio = om.energy.joulesPerToken / bm.energy.joulesPerToken;
      const problem = windowProblem(bm) ?? windowProblem(om);
      let eCi: RatioFigure['ci'] = null;
      if (problem) e.note = `no energy CI: ${problem}`;
      else {
        const boot = bootstrapWindows(
          [
            { ...bm, interleaved: false },
            { ...om, interleaved: false },
          ],
          (x) => [x[1]! / x[0]!],
          `compare|${key}|${baseIndex}|${i}`,
          {
            resamples: options.resamples ?? 2000,
            ...(options.seed !== undefined ? { seed: options.seed } : {}),
          },
        );
        const ci = boot.intervals[0];
        if (ci) eCi = { ...ci, level, method: 'independent window bootstrap' };
      }
      // Time: seconds per call over the same energy windows (Σ duration / Σ calls), resampled the same way, so
      // time and energy ratios describe the same calls; without usable windows, the medians with a conservative CI.
      let tRatio = om.time.medianS / bm.time.medianS;
      let tCi: RatioFigure['ci'] = null;
      if (!problem) {
        tRatio = secondsPerCall(om.energy.windows) / secondsPerCall(bm.energy.windows);
        const ci = windowRatioInterval(
          bm.energy.windows,
          om.energy.windows,
          `time|${key}|${baseIndex}|${i}`,
          options,
        );
        if (ci)
          tCi = {
            ...ci,
            level,
            method: 'independent window bootstrap (seconds per call over the energy windows)',
          };
      } else if (bm.time.ciLowS > 0 && bm.time.ciHighS > 0 && om.time.ciLowS > 0)
        tCi = {
          low: om.time.ciLowS / bm.time.ciHighS,
          high: om.time.ciHighS / bm.time.ciLowS,
          level,
          method: 'ratio of the medians’ CIs (conservative)',
        };
      const figure = (ratio: number, ci: RatioFigure['ci'], metric: 'energy' | 'time'): RatioFigure => {
        const regression = pct !== null && ci !== null && ci.low > 1 + pct / 100;
        if (regression) regressions.push({ key, run: i, metric, ratio, ciLow: ci!.low });
        return { ratio: Number.isFinite(ratio) ? ratio : null, ci, verdict: verdictOf(ci), regression };
      };
      e.energy = figure(eRatio, eCi, 'energy');
      e.time = figure(tRatio, tCi, 'time');
      others.push(e);
    }
    if (others.length === 0) {
      unmatched.push({ run: baseIndex, id: bm.id });
      continue;
    }
    configs.push({
      key,
      variant: bm.variant,
      phase: bm.phase,
      dtype: bm.dtype,
      shape: { ...bm.shape },
      baseline: entryOf(bm, baseIndex),
      others,
    });
  }
  for (let i = 0; i < inputs.length; i++) {
    if (i === baseIndex) continue;
    for (const [key, m] of index[i]!) if (!baseMap.has(key)) unmatched.push({ run: i, id: m.id });
  }
  if (configs.length === 0)
    throw new EtokError(
      'BAD_USAGE',
      `no configuration (lever set, phase, dtype, shape, params) is in both ${base.source} and another file; nothing to compare`,
    );
  return {
    baseline: baseIndex,
    runs,
    mismatches,
    allowMismatch: options.allowMismatch === true,
    failIfWorsePct: pct,
    configs,
    unmatched,
    regressions,
    notes,
  };
}
