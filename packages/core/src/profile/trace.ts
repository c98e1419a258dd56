// The trace pass as one picture: per kernel and launch configuration, the processes' counts summed, the launches
// the callbacks saw (what a replay can stop at), and kernel intervals mapped onto the meter's clock for the time
// the device was busy. Pure functions of the pass files.
import type { PassSummary } from './pass-files.js';
import type { ProfileLaunch } from './schema.js';

export interface KernelTrace {
  key: string;
  /** The key the launch callbacks gave this kernel (the replay's target); `key` unless the two name it apart. */
  launchKey: string;
  symbol: string;
  name: string;
  launch: ProfileLaunch;
  calls: number;
  graphCalls: number;
  gpuSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** Launches the driver callbacks saw run (not captured into a graph): a replay stops at one of them. */
  launchesSeen: number;
  /** Launches made while their stream was capturing a graph. */
  launchesCaptured: number;
  /** Runtime launches of this symbol in which no driver launch was seen. */
  runtimeOnlyLaunches: number;
}

export interface MergedTrace {
  kernels: KernelTrace[];
  /** Kernels that ran on another GPU than the metered board: left out of the table. */
  otherDevices: { kernels: number; calls: number; gpuSeconds: number };
  droppedRecords: number;
  intervalsTruncated: boolean;
}

/** Sums the trace summaries of every process; kernels of devices whose UUID differs from `boardUuid` (when both
    are known) are counted apart. */
export function mergeTraces(summaries: readonly PassSummary[], boardUuid: string | null): MergedTrace {
  const byKey = new Map<string, KernelTrace>();
  const otherDevices = { kernels: 0, calls: 0, gpuSeconds: 0 };
  let droppedRecords = 0;
  let intervalsTruncated = false;
  const seen = new Map<string, { seen: number; captured: number }>();
  const runtimeOnly = new Map<string, number>();
  for (const s of summaries) {
    droppedRecords += s.droppedRecords ?? 0;
    intervalsTruncated ||= s.intervals?.truncated ?? false;
    const uuidOf = new Map(s.devices.map((d) => [d.ordinal, d.uuid]));
    for (const k of s.kernels) {
      const uuid = uuidOf.get(k.device);
      if (boardUuid && uuid && uuid !== boardUuid) {
        otherDevices.kernels++;
        otherDevices.calls += k.calls;
        otherDevices.gpuSeconds += k.totalNs * 1e-9;
        continue;
      }
      const t = byKey.get(k.key);
      if (t) {
        t.calls += k.calls;
        t.graphCalls += k.graphCalls;
        t.gpuSeconds += k.totalNs * 1e-9;
        t.minSeconds = Math.min(t.minSeconds, k.minNs * 1e-9);
        t.maxSeconds = Math.max(t.maxSeconds, k.maxNs * 1e-9);
      } else {
        byKey.set(k.key, {
          key: k.key,
          launchKey: k.key,
          symbol: k.symbol,
          name: k.name,
          launch: { grid: k.grid, block: k.block, sharedMemBytes: k.sharedMemBytes },
          calls: k.calls,
          graphCalls: k.graphCalls,
          gpuSeconds: k.totalNs * 1e-9,
          minSeconds: k.minNs * 1e-9,
          maxSeconds: k.maxNs * 1e-9,
          launchesSeen: 0,
          launchesCaptured: 0,
          runtimeOnlyLaunches: 0,
        });
      }
    }
    for (const l of s.launches) {
      const n = seen.get(l.key) ?? { seen: 0, captured: 0 };
      n.seen += l.seen;
      n.captured += l.captured;
      seen.set(l.key, n);
    }
    for (const r of s.runtimeOnlyLaunches)
      runtimeOnly.set(r.symbol, (runtimeOnly.get(r.symbol) ?? 0) + r.launches);
  }
  for (const t of byKey.values()) {
    t.launchKey = seen.has(t.key) ? t.key : (launchKeyFor(t, seen.keys()) ?? t.key);
    t.launchesSeen = seen.get(t.launchKey)?.seen ?? 0;
    t.launchesCaptured = seen.get(t.launchKey)?.captured ?? 0;
    t.runtimeOnlyLaunches = runtimeOnly.get(t.symbol) ?? runtimeOnly.get(t.name) ?? 0;
  }
  const kernels = [...byKey.values()].sort(
    (a, b) => b.gpuSeconds - a.gpuSeconds || a.key.localeCompare(b.key),
  );
  return { kernels, otherDevices, droppedRecords, intervalsTruncated };
}

/** The symbol part and the launch-configuration part of a key ("symbol|grid|block|smem"). */
function splitKey(key: string): [string, string] {
  const parts = key.split('|');
  return [parts.slice(0, -3).join('|'), parts.slice(-3).join('|')];
}

/**
 * The launch callbacks' key for a traced kernel whose keys differ only in how the symbol is spelled (a callback
 * may name a kernel demangled, or without a prefix, where the activity record mangles it): the one launch key with
 * the same configuration whose symbol is the kernel's symbol or name, or contains or is contained in it.
 */
function launchKeyFor(t: KernelTrace, launchKeys: Iterable<string>): string | null {
  const [, config] = splitKey(t.key);
  const matches: string[] = [];
  for (const key of launchKeys) {
    const [symbol, c] = splitKey(key);
    if (c !== config || symbol === '') continue;
    if (symbol === t.name || symbol === t.symbol || t.symbol.includes(symbol) || symbol.includes(t.symbol))
      matches.push(key);
  }
  return matches.length === 1 ? matches[0]! : null;
}

/**
 * The map from CUPTI's timestamps to CLOCK_MONOTONIC ns, from pairs of readings taken at the same instants: a
 * straight line through them by least squares (one pair: an offset). CUPTI's clock may be another clock than the
 * meter's; the pairs span the run, so a drift between the two is corrected too. Null without pairs.
 */
export function cuptiClock(
  calibration: { cuptiNs: readonly string[]; monoNs: readonly number[] } | undefined,
): ((cuptiNs: bigint) => number) | null {
  if (!calibration || calibration.cuptiNs.length === 0) return null;
  const base = BigInt(calibration.cuptiNs[0]!);
  const xs = calibration.cuptiNs.map((c) => Number(BigInt(c) - base));
  const ys = [...calibration.monoNs];
  const n = Math.min(xs.length, ys.length);
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  // Pairs closer together than a millisecond say nothing about the slope: take the clocks' rates as equal.
  const slope = sxx > 1e12 ? sxy / sxx : 1;
  return (c: bigint) => my + slope * (Number(c - base) - mx);
}

/** Seconds within [t0Ns, t1Ns] during which at least one interval (start, end pairs, ns) was running. */
export function unionSeconds(intervals: Float64Array, t0Ns: number, t1Ns: number): number {
  const n = Math.floor(intervals.length / 2);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => intervals[2 * a]! - intervals[2 * b]!);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const i of order) {
    const s = Math.max(intervals[2 * i]!, t0Ns);
    const e = Math.min(intervals[2 * i + 1]!, t1Ns);
    if (!(e > s)) continue;
    if (Number.isNaN(curEnd) || s > curEnd) {
      if (!Number.isNaN(curEnd)) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) curEnd = e;
  }
  if (!Number.isNaN(curEnd)) total += curEnd - curStart;
  return total * 1e-9;
}

/** Kernel intervals of one intervals-PID.bin (little-endian u64 start, end pairs in CUPTI ns) on the meter's clock. */
export function intervalsOnMonotonic(
  raw: Uint8Array,
  toMonotonic: (cuptiNs: bigint) => number,
): Float64Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = Math.floor(raw.byteLength / 16);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = toMonotonic(view.getBigUint64(16 * i, true));
    out[2 * i + 1] = toMonotonic(view.getBigUint64(16 * i + 8, true));
  }
  return out;
}
