// The profile document from a trace, the replays and the program's measured energy (docs/spec.md §8): per kernel, J/call
// from its replay or, failing one, a time-share estimate labelled as such; each kernel's joules in the program;
// and the closure, how much of the program's measured energy the kernels account for.
import type { MeterInfo } from '../schemas.js';
import type { ReplayEvent } from './pass-files.js';
import { analyseReplay } from './replay-analysis.js';
import type { ProfileDocument, ProfileKernel, ProfilePass } from './schema.js';
import type { KernelTrace } from './trace.js';

export interface TimeSharePower {
  watts: number | null;
  method: string;
}

/**
 * The power a time-share estimate assumes every kernel draws: the program's energy less idle power over the time
 * no kernel ran, over the time some kernel ran. Every kernel drawing the same power is false (that is why kernels
 * are replayed); this is the estimate for those that were not, and it is labelled as one.
 */
export function timeSharePower(
  programJoules: number,
  programSeconds: number,
  idleW: number,
  busySeconds: number | null,
): TimeSharePower {
  if (busySeconds !== null && busySeconds > 0 && busySeconds <= programSeconds) {
    const watts = Math.max(0, (programJoules - idleW * (programSeconds - busySeconds)) / busySeconds);
    return {
      watts,
      method:
        'the program’s energy less idle power over the time no kernel ran, over the time kernels ran; every kernel is assumed to draw it',
    };
  }
  if (programSeconds > 0)
    return {
      watts: programJoules / programSeconds,
      method:
        'the program’s average power (the trace gave no kernel intervals); every kernel is assumed to draw it',
    };
  return { watts: null, method: 'no program energy to share' };
}

export interface ProfileInput {
  createdAt: string;
  tool: { name: string; version: string };
  meter: MeterInfo & Record<string, unknown>;
  device: Record<string, unknown>;
  command: string[];
  exitCode: number | null;
  signal: string | null;
  complete: boolean;
  programJoules: number;
  programSeconds: number;
  idleW: number;
  busySeconds: number | null;
  kernels: readonly KernelTrace[];
  /** Why kernels were not targeted for replay (unreplayable, beyond --top, the replay pass not run). */
  reasons: ReadonlyMap<string, string>;
  replays: readonly ReplayEvent[];
  passes: ProfilePass[];
  notes: string[];
  otherDevices?: { kernels: number; calls: number; gpuSeconds: number };
  settings?: Record<string, unknown>;
}

export function buildProfile(input: ProfileInput): ProfileDocument {
  const replayOf = new Map<string, ReplayEvent>();
  for (const r of input.replays) if (!replayOf.has(r.key)) replayOf.set(r.key, r);
  const power = timeSharePower(input.programJoules, input.programSeconds, input.idleW, input.busySeconds);
  const share = (joules: number) => (input.programJoules > 0 ? joules / input.programJoules : 0);

  const kernels: ProfileKernel[] = input.kernels.map((k) => {
    const meanSeconds = k.calls > 0 ? k.gpuSeconds / k.calls : 0;
    const base = {
      name: k.name,
      symbol: k.symbol,
      launch: k.launch,
      calls: k.calls,
      graphCalls: k.graphCalls,
      gpuSeconds: k.gpuSeconds,
      meanSeconds,
      minSeconds: k.minSeconds,
      maxSeconds: k.maxSeconds,
    };
    const event = replayOf.get(k.launchKey);
    const analysis = event ? analyseReplay(event, meanSeconds) : null;
    if (analysis?.ok) {
      const joules = analysis.joulesPerCall * k.calls;
      return {
        ...base,
        replayed: true,
        source: 'replay' as const,
        joulesPerCall: analysis.joulesPerCall,
        ciLowJoulesPerCall: analysis.ciLow,
        ciHighJoulesPerCall: analysis.ciHigh,
        joules,
        share: share(joules),
        replay: analysis.replay,
      };
    }
    const reason =
      analysis && !analysis.ok
        ? analysis.reason
        : (input.reasons.get(k.key) ??
          'its replay launch was not reached (the program ran differently the second time)');
    const joulesPerCall = (power.watts ?? 0) * meanSeconds;
    const joules = joulesPerCall * k.calls;
    return {
      ...base,
      replayed: false,
      reason,
      source: 'time-share' as const,
      joulesPerCall,
      ciLowJoulesPerCall: null,
      ciHighJoulesPerCall: null,
      joules,
      share: share(joules),
    };
  });
  kernels.sort((a, b) => b.joules - a.joules || b.gpuSeconds - a.gpuSeconds);
  const total = kernels.reduce((s, k) => s + k.joules, 0);
  const replayed = kernels.filter((k) => k.replayed).reduce((s, k) => s + k.joules, 0);
  return {
    schema: 'etok.profile/v1',
    createdAt: input.createdAt,
    tool: input.tool,
    meter: { ...input.meter, idleW: input.idleW },
    device: input.device,
    command: input.command,
    exitCode: input.exitCode,
    signal: input.signal,
    complete: input.complete,
    programJoules: input.programJoules,
    programSeconds: input.programSeconds,
    idleW: input.idleW,
    busySeconds: input.busySeconds,
    closure: input.programJoules > 0 ? total / input.programJoules : null,
    replayedClosure: input.programJoules > 0 ? replayed / input.programJoules : null,
    timeShare: power,
    passes: input.passes,
    notes: input.notes,
    ...(input.otherDevices && input.otherDevices.kernels > 0 ? { otherDevices: input.otherDevices } : {}),
    ...(input.settings ? { settings: input.settings } : {}),
    kernels,
  };
}
