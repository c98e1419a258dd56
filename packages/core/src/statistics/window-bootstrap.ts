// Joint percentile bootstrap over the energy windows of several measurements (the trials behind each J/call).
// One replicate resamples the windows of every measurement, recomputes each e_tok as Σ joules / Σ calls / tokens,
// and hands the vector of e_tok to a statistic (a Φ, a set of Shapley shares). Paired resampling (one index
// vector shared by all) is used only when the harness interleaved the measurements window by window and they
// have the same number of windows; otherwise each measurement is resampled on its own. Seeded: reruns agree.

import type { Measurement } from '../schemas.js';
import { type Interval, quantile, seededRandom } from './summary.js';

export type ResamplingMethod = 'paired' | 'independent';

export interface BootstrapSettings {
  resamples?: number;
  confidence?: number;
  seed?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_CONFIDENCE = 0.95;
export const DEFAULT_SEED = 0x5eed;

/** The harness may mark measurements whose windows alternated with the others' (`interleaved: true`). */
export function isInterleaved(m: Measurement): boolean {
  return m.interleaved === true;
}

/** Why a measurement's windows cannot carry a bootstrap (null when they can). */
export function windowProblem(m: Measurement): string | null {
  const w = m.energy.windows;
  if (w.length < 2) return `${m.id} has ${w.length} energy window(s); a CI needs at least 2`;
  if (!(m.tokens > 0)) return `${m.id} has no tokens per call`;
  if (w.reduce((s, x) => s + x.calls, 0) <= 0) return `${m.id} has no calls in its energy windows`;
  return null;
}

export function resamplingMethod(ms: readonly Measurement[]): ResamplingMethod {
  const distinct = [...new Set(ms)];
  if (distinct.length < 2) return 'paired';
  const n = distinct[0]!.energy.windows.length;
  // When the harness names its interleaving group, windows pair only within one group.
  const group = (m: Measurement) => (m as { group?: unknown }).group;
  const g = group(distinct[0]!);
  return distinct.every((m) => isInterleaved(m) && m.energy.windows.length === n && group(m) === g)
    ? 'paired'
    : 'independent';
}

/** FNV-1a of a string, mixed with the seed, so each comparison has its own reproducible stream. */
export function derivedSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface JointBootstrap {
  method: ResamplingMethod;
  /** One interval per output of the statistic; null where the replicates were not finite. */
  intervals: (Interval | null)[];
}

/**
 * Bootstraps `statistic(eTok[])` where eTok[i] is measurement i's joules per token from resampled windows.
 * The same Measurement object may appear more than once (e.g. Φ of the baseline against itself); it is then
 * resampled once per replicate, so such a ratio is exactly 1 in every replicate.
 */
export function bootstrapWindows(
  ms: readonly Measurement[],
  statistic: (eTok: readonly number[]) => readonly number[],
  key: string,
  settings: BootstrapSettings = {},
): JointBootstrap {
  const resamples = settings.resamples ?? DEFAULT_RESAMPLES;
  const confidence = settings.confidence ?? DEFAULT_CONFIDENCE;
  const rand = seededRandom(derivedSeed(settings.seed ?? DEFAULT_SEED, key));
  const distinct = [...new Set(ms)];
  const slot = ms.map((m) => distinct.indexOf(m));
  const method = resamplingMethod(distinct);
  const windows = distinct.map((m) => m.energy.windows);
  const nOut = statistic(ms.map((m) => m.energy.joulesPerToken)).length;
  const outs: number[][] = Array.from({ length: nOut }, () => []);
  const eDistinct = new Array<number>(distinct.length);
  const shared: number[] = [];
  for (let r = 0; r < resamples; r++) {
    if (method === 'paired') {
      const n = windows[0]!.length;
      shared.length = n;
      for (let i = 0; i < n; i++) shared[i] = Math.floor(rand() * n);
    }
    for (let d = 0; d < distinct.length; d++) {
      const w = windows[d]!;
      let j = 0;
      let c = 0;
      for (let i = 0; i < w.length; i++) {
        const pick = w[method === 'paired' ? shared[i]! : Math.floor(rand() * w.length)]!;
        j += pick.joules;
        c += pick.calls;
      }
      eDistinct[d] = j / c / distinct[d]!.tokens;
    }
    const values = statistic(slot.map((s) => eDistinct[s]!));
    for (let k = 0; k < nOut; k++) outs[k]!.push(values[k]!);
  }
  const alpha = (1 - confidence) / 2;
  const intervals = outs.map((xs) => {
    if (!xs.every(Number.isFinite)) return null;
    xs.sort((a, b) => a - b);
    return { low: quantile(xs, alpha), high: quantile(xs, 1 - alpha) };
  });
  return { method, intervals };
}
