// Reads what the injection library left in a pass folder: each process's summary (trace-PID.json), its events
// (events-PID.jsonl: errors, notes, replays) and, for the trace pass, its kernel intervals on the meter's clock.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cuptiClock,
  intervalsOnMonotonic,
  type PassEvent,
  type PassSummary,
  parsePassEvents,
  parsePassSummary,
  type ReplayEvent,
} from '@etok/core';

export interface PassFiles {
  summaries: PassSummary[];
  errors: { pid: number; code: string; message: string }[];
  replays: ReplayEvent[];
  /** Processes whose injection library started (a process that never initialised CUDA leaves nothing). */
  processes: number;
  unreadable: number;
  /** Kernel (start, end) pairs in CLOCK_MONOTONIC ns, every process together. */
  intervals: Float64Array;
}

export function readPass(dir: string, withIntervals: boolean): PassFiles {
  const names = (() => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  })();
  const out: PassFiles = {
    summaries: [],
    errors: [],
    replays: [],
    processes: 0,
    unreadable: 0,
    intervals: new Float64Array(),
  };
  const pids = new Set<string>();
  for (const name of names) {
    const m = /^(trace|events)-(\d+)\.(json|jsonl)$/.exec(name);
    if (m) pids.add(m[2]!);
  }
  const parts: Float64Array[] = [];
  for (const pid of pids) {
    out.processes++;
    const events = readText(join(dir, `events-${pid}.jsonl`));
    if (events !== null) {
      const parsed = parsePassEvents(events);
      out.unreadable += parsed.unreadable;
      for (const e of parsed.events) collect(out, e);
    }
    const summaryText = readText(join(dir, `trace-${pid}.json`));
    const summary = summaryText === null ? null : parsePassSummary(summaryText);
    if (summaryText !== null && !summary) out.unreadable++;
    if (!summary) continue;
    out.summaries.push(summary);
    if (!withIntervals) continue;
    const toMonotonic = cuptiClock(summary.calibration);
    const raw = readBytes(join(dir, `intervals-${pid}.bin`));
    if (toMonotonic && raw) parts.push(intervalsOnMonotonic(raw, toMonotonic));
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  out.intervals = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    out.intervals.set(p, at);
    at += p.length;
  }
  return out;
}

function collect(out: PassFiles, e: PassEvent): void {
  if (e.type === 'error')
    out.errors.push({ pid: e.pid, code: e.code as string, message: e.message as string });
  else if (e.type === 'replay') out.replays.push(e as ReplayEvent);
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readBytes(path: string): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}
