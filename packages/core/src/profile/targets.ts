// Which kernels the replay pass measures, and at which of their launches. The top kernels by GPU time among those
// a replay can reach (launched directly, seen by the driver's launch callbacks), each at the middle one of the
// launches the trace pass saw: past the warm-up, in the program's steady state, and reached again by a program
// that repeats its launches (docs/profile.md).
import type { KernelTrace } from './trace.js';

export interface ReplayTarget {
  key: string;
  /** 1-based: the launch of this kernel, in this configuration, at which the program is paused. */
  launchIndex: number;
}

/** Why a kernel cannot be replayed at all (null when it can). */
export function unreplayableReason(k: KernelTrace): string | null {
  if (k.launchesSeen > 0) return null;
  if (k.calls > 0 && k.graphCalls === k.calls)
    return 'launched only inside CUDA graphs: graph launches are not replayed';
  if (k.launchesCaptured > 0) return 'launched only while its stream was captured into a CUDA graph';
  if (k.runtimeOnlyLaunches > 0)
    return 'launched through the CUDA runtime with no driver launch call this profiler can follow';
  return 'none of its launches was seen by the launch callbacks (a launch path this profiler does not follow)';
}

export function chooseTargets(
  kernels: readonly KernelTrace[],
  top: number,
): { targets: ReplayTarget[]; reasons: Map<string, string> } {
  const reasons = new Map<string, string>();
  const eligible: KernelTrace[] = [];
  for (const k of kernels) {
    const why = unreplayableReason(k);
    if (why) reasons.set(k.key, why);
    else eligible.push(k);
  }
  eligible.sort((a, b) => b.gpuSeconds - a.gpuSeconds || a.key.localeCompare(b.key));
  const targets = eligible
    .slice(0, top)
    .map((k) => ({ key: k.key, launchIndex: Math.ceil(k.launchesSeen / 2) }));
  for (const k of eligible.slice(top))
    reasons.set(k.key, `not among the top ${top} replayable kernels by GPU time (--top ${top})`);
  return { targets, reasons };
}

/** The target list for the injection library: "launchIndex<TAB>key" lines. */
export function targetsText(targets: readonly ReplayTarget[]): string {
  return targets.map((t) => `${t.launchIndex}\t${t.key}\n`).join('');
}
