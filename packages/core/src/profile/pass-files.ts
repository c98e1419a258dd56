// What etok's injection library writes inside a profiled program (packages/native/src/profile/injection.cpp), one
// set of files per process: trace-PID.json (the pass's summary, rewritten every second and at exit) and
// events-PID.jsonl (errors, notes and replay results, a line each). Validated here so a file from a crashed or
// foreign process is reported, never half-read.
import { z } from 'zod';

const num = z.number();
/** A number the injection library may have written as null (a NaN: JSON has none). */
const maybeNum = z
  .number()
  .nullable()
  .optional()
  .transform((x) => x ?? undefined);
const triple = z.tuple([num, num, num]);

export const PassKernelSchema = z.looseObject({
  /** symbol|gx,gy,gz|bx,by,bz|smem: the join key between trace, launch counts, targets and replays. */
  key: z.string(),
  symbol: z.string(),
  name: z.string(),
  grid: triple,
  block: triple,
  sharedMemBytes: num,
  device: num,
  calls: num,
  graphCalls: num,
  totalNs: num,
  minNs: num,
  maxNs: num,
});

export const PassSummarySchema = z.looseObject({
  schema: z.literal('etok.profile-pass/v1'),
  mode: z.enum(['trace', 'replay']),
  pid: num,
  complete: z.boolean(),
  kernels: z.array(PassKernelSchema).default([]),
  /** Pairs of readings: CUPTI's timestamp (decimal text, exact) and CLOCK_MONOTONIC ns at the same instant. */
  calibration: z.looseObject({ cuptiNs: z.array(z.string()), monoNs: z.array(num) }).optional(),
  intervals: z.looseObject({ file: z.string(), count: num, truncated: z.boolean() }).optional(),
  droppedRecords: num.optional(),
  launches: z.array(z.looseObject({ key: z.string(), seen: num, captured: num })).default([]),
  runtimeOnlyLaunches: z.array(z.looseObject({ symbol: z.string(), launches: num })).default([]),
  devices: z.array(z.looseObject({ ordinal: num, uuid: z.string() })).default([]),
});

export const ReplayWindowEventSchema = z.looseObject({
  t0Ns: num,
  t1Ns: num,
  joules: num,
  calls: num,
  throttled: z.boolean().optional(),
  sampledJoules: num.optional(),
  temperatureC: num.optional(),
  smClockMHz: z.tuple([num, num]).optional(),
  clockEvents: z.array(z.string()).optional(),
});

export const ReplayEventSchema = z.looseObject({
  type: z.literal('replay'),
  pid: num,
  key: z.string(),
  launchIndex: num,
  /** Set when nothing was measured: why. */
  reason: z.string().optional(),
  device: num.optional(),
  memory: z
    .looseObject({ bytes: num, where: z.enum(['device', 'host']), ranges: num, untrackedRanges: num })
    .optional(),
  pausedS: maybeNum,
  idleW: maybeNum,
  samplesS: z.array(z.number().nullable()).optional(),
  windows: z.array(ReplayWindowEventSchema).optional(),
  stopReason: z.string().optional(),
  timingStopReason: z.string().optional(),
  windowTargetS: maybeNum,
  cancelled: z.boolean().optional(),
  kernelPath: z.string().optional(),
  meter: z
    .looseObject({ id: z.string(), measured: z.boolean(), method: z.string(), boundary: z.string() })
    .optional(),
  failure: z.looseObject({ code: z.string(), message: z.string() }).optional(),
  groupFault: z.looseObject({ code: z.string(), message: z.string() }).optional(),
  /** The program's memory could not be put back: its later output cannot be trusted. */
  restoreError: z.string().optional(),
});

export const PassEventSchema = z.union([
  ReplayEventSchema,
  z.looseObject({ type: z.literal('error'), pid: num, code: z.string(), message: z.string() }),
  z.looseObject({ type: z.enum(['start', 'note']), pid: num }),
]);

export type PassKernel = z.infer<typeof PassKernelSchema>;
export type PassSummary = z.infer<typeof PassSummarySchema>;
export type ReplayEvent = z.infer<typeof ReplayEventSchema>;
export type PassEvent = z.infer<typeof PassEventSchema>;

/** Events of one events-PID.jsonl text: valid lines parsed, others counted (a process killed mid-line). */
export function parsePassEvents(text: string): { events: PassEvent[]; unreadable: number } {
  const events: PassEvent[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = PassEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { events, unreadable };
}

/** One trace-PID.json text, or null when it is not a complete summary (a process killed while writing). */
export function parsePassSummary(text: string): PassSummary | null {
  try {
    const parsed = PassSummarySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
