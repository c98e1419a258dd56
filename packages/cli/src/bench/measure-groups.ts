// `etok bench`'s measuring loop: each group of configurations (one shape, its lever sets and their peers) goes to
// the engine as one interleaved group, each configuration with its executor; the results are analysed and the file
// rewritten after every group, so Ctrl-C or a crash keeps what was measured.
//
// Failure policy: a configuration whose executor fails ends alone (recorded in `failures` with its detail, the rest
// of the group is measured); one whose implementation does not support the problem is `skipped`; a crash of the
// measuring process measures the group's members again one by one; a meter fault keeps every finished window
// (marked incomplete) and ends the run.
import {
  analyseMeasurement,
  type BenchConfig,
  type BenchPlan,
  type BenchRequest,
  failsOneConfiguration,
} from '@etok/core';
import {
  measureGroup,
  measureGroupIsolated,
  type NativeChildExecutor,
  type NativeMeasurePlan,
  type NativeMeasureResult,
  pythonExecutor,
} from '@etok/native';
import { ortExecutor } from '../onnx/executor-spec.js';
import type { ProgressBar } from '../output/progress.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { type BenchDocument, meterHeader } from './document.js';

export interface GroupRunOptions {
  plan: BenchPlan;
  meter: string;
  meterChoice: string;
  powerModel: BenchRequest['powerModel'];
  isolated: boolean;
  stopOnCrash: boolean;
  callTimeoutS?: number;
  doc: BenchDocument;
  outPath: string;
  progress: ProgressBar;
  /** Prints a line (stderr) unless the run's output is JSON. */
  say: (line: string) => void;
  interrupted: () => boolean;
  /** The handle of the group being measured, for Ctrl-C. */
  setCurrent: (handle: { cancel(): void; kill?(): void } | undefined) => void;
  /** One call's time of the configuration at work, whenever the engine knows it (how long a stop may take). */
  noteCallS?: (seconds: number) => void;
}

/** The executor of a configuration: etok's kernel (none), a plugin library, or a child executor. */
function executorOf(
  config: BenchConfig,
  callTimeoutS: number | undefined,
): { plugin?: string; executor?: NativeChildExecutor } {
  const e = config.external;
  if (!e) return {};
  const timeouts = callTimeoutS !== undefined ? { callTimeoutS } : {};
  if (e.executor === 'plugin') return { plugin: e.path };
  if (e.executor === 'python')
    return { executor: pythonExecutor(e.path, e.options?.callable ?? e.name, timeouts) };
  return { executor: ortExecutor({ mode: 'peer', form: e.options?.form ?? 'auto' }, timeouts) };
}

export function nativePlan(
  config: BenchConfig,
  o: Pick<GroupRunOptions, 'plan' | 'meter' | 'powerModel' | 'callTimeoutS'>,
): NativeMeasurePlan {
  const { plan } = o;
  return {
    // An external computes a built-in lever set's problem (its reference); etok's inputs and reference follow it.
    variant: config.external ? (config.external.referenceVariant ?? 'dense') : config.variant,
    ...executorOf(config, o.callTimeoutS),
    phase: config.phase,
    dtype: config.dtype,
    device: plan.device,
    meter: o.meter,
    shape: config.shape,
    params: { ...config.params, scale: config.params.scale ?? undefined },
    profile: plan.profile,
    seed: plan.seed,
    quality: plan.quality,
    timing: plan.timing,
    ...(o.callTimeoutS !== undefined ? { callTimeoutS: o.callTimeoutS } : {}),
    ...(o.powerModel ? { powerModel: o.powerModel } : {}),
  };
}

export interface GroupRunOutcome {
  /** The error that ended the run (a meter fault, a device failure), when one did. */
  fatal?: Error & { code?: string };
}

function groupLabel(group: BenchConfig[]): string {
  return group.length === 1
    ? group[0]!.id
    : `${group.length} lever sets of ${group[0]!.id.slice(group[0]!.variant.length + 1)}`;
}

/** Files one configuration's result: a measurement, a skip, a failure, or nothing (cancelled before it ran). */
function record(
  o: GroupRunOptions,
  config: BenchConfig,
  raw: NativeMeasureResult,
  group: string | undefined,
  interleaved: boolean,
): void {
  const { doc } = o;
  if (raw.failure) {
    if (raw.failure.code === 'EXECUTOR_UNSUPPORTED') {
      doc.skipped = [...(doc.skipped ?? []), { id: config.id, reason: raw.failure.message }];
      return;
    }
    doc.failures.push({
      id: config.id,
      code: raw.failure.code,
      message: raw.failure.message,
      ...(raw.failure.detail ? { detail: raw.failure.detail } : {}),
    });
    o.say(`etok bench: ${config.id}: ${raw.failure.message}`);
    return;
  }
  if (raw.windows.length === 0 && raw.cancelled) return;
  const measurement = analyseMeasurement(config, raw, {
    timing: o.plan.timing,
    interleaved,
    ...(group ? { group } : {}),
  });
  if (config.external?.executor === 'plugin')
    (measurement as Record<string, unknown>).plugin = config.external;
  if (config.external?.executor === 'python' && !config.external.peer)
    (measurement as Record<string, unknown>).python = {
      file: config.external.path,
      name: config.external.name,
    };
  doc.measurements.push(measurement);
}

export async function measureGroups(groups: BenchConfig[][], o: GroupRunOptions): Promise<GroupRunOutcome> {
  const { doc } = o;
  let done = 0;
  for (let g = 0; g < groups.length; g++) {
    if (o.interrupted()) break;
    const group = groups[g]!;
    const label = groupLabel(group);
    o.progress.update(done, 0, label);
    const measure = o.isolated ? measureGroupIsolated : measureGroup;
    const handle = measure(
      group.map((config) => nativePlan(config, o)),
      (stage, fraction, callS) => {
        if (callS !== undefined) o.noteCallS?.(callS);
        o.progress.update(done, fraction * group.length, `${label}: ${stage}`);
      },
    );
    o.setCurrent(handle);
    let raws: NativeMeasureResult[];
    try {
      raws = await handle.result;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? 'INTERNAL');
      if (code === 'CANCELLED' && o.interrupted()) break; // Ctrl-C arrived before this group started
      // The error catalogue says which errors fail one configuration (the sweep goes on) and which end the run.
      const perConfig = failsOneConfiguration(code) && !(code === 'KERNEL_CRASHED' && o.stopOnCrash);
      // A crash or a problem this backend cannot run: measure the rest of its group alone. A meter or device
      // failure before any window ends the run (the board is gone, or later numbers would be wrong).
      if (perConfig && group.length > 1) {
        groups.splice(g + 1, 0, ...group.map((c) => [c]));
        continue;
      }
      if (perConfig) {
        doc.failures.push({ id: group[0]!.id, code, message: (error as Error).message });
        writeJsonAtomic(o.outPath, doc);
        done += 1;
        o.progress.clear();
        o.say(`etok bench: ${group[0]!.id}: ${(error as Error).message}`);
        continue;
      }
      for (const c of group) doc.failures.push({ id: c.id, code, message: (error as Error).message });
      writeJsonAtomic(o.outPath, doc);
      return { fatal: error as Error };
    } finally {
      o.setCurrent(undefined);
    }
    const first = raws.find((r) => !r.failure) ?? raws[0];
    if (doc.measurements.length === 0 && first) doc.meter = meterHeader(first, o.meterChoice);
    // Power over time for reports (same clock as the windows); one timeline per group, appended.
    const timeline = raws[0]?.timeline;
    if (timeline && timeline.length > 0) doc.timeline = [...(doc.timeline ?? []), ...timeline];
    for (const [i, raw] of raws.entries())
      record(o, group[i]!, raw, group.length > 1 ? `g${g}` : undefined, group.length > 1);
    done += group.length;
    writeJsonAtomic(o.outPath, doc);
    const failed = raws.filter((r) => r.failure).length;
    o.progress.done(done, `${label}: ${raws.length - failed} measured${failed ? `, ${failed} not` : ''}`);
    const fault = raws.find((r) => r.groupFault)?.groupFault;
    if (fault) {
      // The meter failed mid-group: the windows finished before it are kept above (marked incomplete); the fault
      // is each member's failure, and no later group can be trusted.
      for (const c of group) doc.failures.push({ id: c.id, code: fault.code, message: fault.message });
      writeJsonAtomic(o.outPath, doc);
      return { fatal: Object.assign(new Error(fault.message), { code: fault.code }) };
    }
  }
  return {};
}
