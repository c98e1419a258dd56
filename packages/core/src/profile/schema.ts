// `etok.profile/v1` (docs/spec.md §8): joules per kernel in an unmodified CUDA program. Every joule figure says where it
// comes from: `source: "replay"` (the kernel relaunched in place under the engine's rules, board energy while it
// runs, idle floor included, as `etok bench`'s J/call) or `"time-share"` (an estimate: the program's power while
// kernels run, spread by GPU time; `reason` says why the kernel was not replayed). A file holding the SPEC's
// fields is valid; more fields may be added.
import { z } from 'zod';
import { EtokError } from '../errors.js';
import { MeterInfoSchema } from '../schemas.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = finite.refine((x) => x >= 0, 'must be ≥ 0');
const triple = z.tuple([nonNegative, nonNegative, nonNegative]);

export const ProfileLaunchSchema = z.looseObject({
  grid: triple,
  block: triple,
  /** Dynamic shared memory per block. */
  sharedMemBytes: nonNegative,
});

export const ProfileReplayWindowSchema = z.looseObject({
  t0Ns: finite,
  t1Ns: finite,
  joules: finite,
  calls: nonNegative,
  throttled: z.boolean().optional(),
});

/** What the replay of one kernel measured (absent when the kernel was not replayed). */
export const ProfileReplaySchema = z.looseObject({
  /** Which launch of this kernel (in this configuration) the program was paused at, 1-based. */
  launchIndex: z.number().int().positive(),
  valid: z.boolean(),
  validity: z.array(z.string()),
  windows: z.array(ProfileReplayWindowSchema),
  idleW: nonNegative,
  /** Median of the replayed calls timed one by one (CUDA events), against the trace's mean for the kernel. */
  timePerCallS: nonNegative,
  tracedTimePerCallS: nonNegative,
  /** The program's device memory saved before and restored after the replay. */
  memoryBytes: nonNegative,
  memoryWhere: z.enum(['device', 'host']),
  /** How long the program was paused. */
  pausedS: nonNegative,
});

export const ProfileKernelSchema = z.looseObject({
  name: z.string(),
  /** The mangled symbol (the join key with the trace). */
  symbol: z.string().optional(),
  launch: ProfileLaunchSchema,
  calls: z.number().int().nonnegative(),
  /** Calls that ran as nodes of CUDA graphs (counted in `calls`). */
  graphCalls: z.number().int().nonnegative().optional(),
  gpuSeconds: nonNegative,
  replayed: z.boolean(),
  reason: z.string().optional(),
  source: z.enum(['replay', 'time-share']),
  joulesPerCall: nonNegative,
  /** The 95% interval of a replayed J/call; null for a time-share estimate (it has none). */
  ciLowJoulesPerCall: nonNegative.nullable(),
  ciHighJoulesPerCall: nonNegative.nullable(),
  /** calls × joulesPerCall. */
  joules: nonNegative,
  /** joules / programJoules. */
  share: nonNegative,
  replay: ProfileReplaySchema.optional(),
});

export const ProfilePassSchema = z.looseObject({
  pass: z.enum(['trace', 'replay']),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  wallSeconds: nonNegative,
});

export const ProfileDocumentSchema = z.looseObject({
  schema: z.literal('etok.profile/v1'),
  createdAt: z.string().optional(),
  tool: z.looseObject({ name: z.string(), version: z.string() }).optional(),
  meter: MeterInfoSchema,
  /** The metered board as the meter describes it (name, UUID, driver). */
  device: z.looseObject({ name: z.string().optional() }),
  command: z.array(z.string()),
  /** The program's exit status in the trace pass (null when a signal ended it). */
  exitCode: z.number().int().nullable(),
  complete: z.boolean(),
  /** Board energy over the trace pass (a window aligned to meter steps around the program). */
  programJoules: nonNegative,
  programSeconds: nonNegative,
  /** Board power with nothing running, measured before the program. */
  idleW: nonNegative,
  /** Σ kernels' joules / programJoules (null without program energy). */
  closure: nonNegative.nullable(),
  kernels: z.array(ProfileKernelSchema),
});

export type ProfileLaunch = z.infer<typeof ProfileLaunchSchema>;
export type ProfileReplay = z.infer<typeof ProfileReplaySchema>;
export type ProfileKernel = z.infer<typeof ProfileKernelSchema>;
export type ProfilePass = z.infer<typeof ProfilePassSchema>;
export type ProfileDocument = z.infer<typeof ProfileDocumentSchema> & {
  /** The replayed kernels' share of programJoules: how much of the program's energy replay explains. */
  replayedClosure?: number | null;
  /** The power behind the time-share estimates and how it was found. */
  timeShare?: { watts: number | null; method: string };
  /** Union of the kernels' execution intervals within the program window (null when the trace has none). */
  busySeconds?: number | null;
  signal?: string | null;
  passes?: ProfilePass[];
  notes?: string[];
};

/** True when a parsed JSON value claims to be a profile (for `etok report`'s dispatch). */
export function isProfileDocument(value: unknown): boolean {
  return (value as { schema?: unknown } | null)?.schema === 'etok.profile/v1';
}

/** Parses and validates an `etok.profile/v1` text; throws BAD_RESULTS naming the source and the first problem. */
export function parseProfile(text: string, source: string): ProfileDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EtokError('BAD_RESULTS', `${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ProfileDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EtokError(
      'BAD_RESULTS',
      `${source} is not an etok.profile/v1 file: ${issue.path.join('.') || '(root)'} ${issue.message}`,
    );
  }
  return parsed.data as ProfileDocument;
}
