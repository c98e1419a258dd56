// Location and spread of a sample, and percentile-bootstrap confidence intervals (seeded, so reruns agree).

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Small deterministic PRNG (mulberry32) so bootstrap intervals are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  low: number;
  high: number;
}

/** Percentile bootstrap of `statistic` over resamples of `xs` (95% by default). */
export function bootstrapInterval(
  xs: readonly number[],
  statistic: (sample: readonly number[]) => number,
  options: { resamples?: number; confidence?: number; seed?: number } = {},
): Interval {
  const { resamples = 2000, confidence = 0.95, seed = 0x5eed } = options;
  if (xs.length === 0) return { low: Number.NaN, high: Number.NaN };
  if (xs.length === 1) return { low: xs[0]!, high: xs[0]! };
  const rand = seededRandom(seed);
  const stats: number[] = new Array(resamples);
  const sample: number[] = new Array(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) sample[i] = xs[Math.floor(rand() * xs.length)]!;
    stats[r] = statistic(sample);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { low: quantile(stats, alpha), high: quantile(stats, 1 - alpha) };
}

/** The smallest of `xs` (Infinity when empty), without spreading them into a call (which overflows the stack). */
export function minOf(xs: Iterable<number>): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (x < m) m = x;
  return m;
}

/** The largest of `xs` (−Infinity when empty), without spreading them into a call. */
export function maxOf(xs: Iterable<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  return m;
}
