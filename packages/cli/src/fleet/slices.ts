// Slicing a bench sweep into fleet tasks (pure: no files, no processes). A slice is a set of configurations that
// one `etok bench` call can run with plain axis flags. The default (`shape`) keeps every lever set of one shape in
// one slice, so the harness still interleaves their energy windows (ABAB…) on one device and Φ stays a same-node
// ratio; `config` makes one slice per configuration (more parallelism, no interleaving).
//
// Every slice is checked by planning it again from its own flags: the slices' configurations must be exactly the
// sweep's, each once. That is what lets `etok fleet collect` say which configuration is missing.
import { type BenchConfig, type BenchRequest, planBench } from '@etok/core';
import { type Dtype, type Phase, parseVariant } from '@etok/kernels';

export const SLICE_MODES = ['shape', 'config'] as const;
export type SliceMode = (typeof SLICE_MODES)[number];

/** The axis values of one slice: each field becomes one bench flag (lists sweep as axes inside the slice). */
export interface SliceAxes {
  variants: string[];
  phase: Phase;
  dtype: Dtype;
  batch: number;
  ctx: number;
  /** Prefill query length; absent for decode. */
  qLen?: number;
  heads: number;
  /** KV heads and head dimensions of the non-MLA lever sets; absent when the slice is MLA only. */
  kvHeads?: number[];
  headDim?: number[];
}

export interface Slice {
  /** Position in the sweep, from 0. */
  index: number;
  /** The grouping key (the configuration id without the lever set, or the configuration id). */
  key: string;
  axes: SliceAxes;
  /** Configuration ids (the planner's stable ids) this slice measures. */
  configIds: string[];
}

/**
 * The planner's memory check is about the host that measures; the submitting host is usually a login node, so
 * slicing plans with no memory ceiling and leaves the check to each task's own `etok bench`.
 */
const NO_MEMORY_CEILING = 2 ** 52;

function sliceKey(c: BenchConfig, mode: SliceMode): string {
  if (mode === 'config') return c.id;
  const s = c.shape;
  return `${c.phase}/${c.dtype}/b${s.batch}/ctx${s.kvLen}${c.phase === 'prefill' ? `q${s.qLen}` : ''}/h${s.heads}`;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function axesOf(configs: BenchConfig[]): SliceAxes {
  const first = configs[0]!;
  const gqa = configs.filter((c) => !parseVariant(c.variant).mla);
  return {
    variants: unique(configs.map((c) => c.variant)),
    phase: first.phase,
    dtype: first.dtype,
    batch: first.shape.batch,
    ctx: first.shape.kvLen,
    ...(first.phase === 'prefill' ? { qLen: first.shape.qLen } : {}),
    heads: first.shape.heads,
    ...(gqa.length > 0
      ? {
          kvHeads: unique(gqa.map((c) => c.shape.kvHeads)),
          headDim: unique(gqa.map((c) => c.shape.headDim)),
        }
      : {}),
  };
}

/** The request a slice's bench flags produce: the sweep's settings with the slice's axes. */
export function requestForSlice(base: BenchRequest, axes: SliceAxes): BenchRequest {
  const { levers: _levers, kvHeads: _kv, headDim: _hd, qLen: _q, ...rest } = base;
  return {
    ...rest,
    variants: axes.variants,
    phases: [axes.phase],
    dtypes: [axes.dtype],
    batch: [axes.batch],
    ctx: [axes.ctx],
    heads: [axes.heads],
    ...(axes.qLen !== undefined ? { qLen: [axes.qLen] } : {}),
    ...(axes.kvHeads ? { kvHeads: axes.kvHeads } : {}),
    ...(axes.headDim ? { headDim: axes.headDim } : {}),
  };
}

/** Bench flags for a slice's axes (the sweep's other flags are passed through beside them). */
export function sliceFlags(axes: SliceAxes): string[] {
  return [
    '--variants',
    axes.variants.join(','),
    '--phase',
    axes.phase,
    '--dtype',
    axes.dtype,
    '--batch',
    String(axes.batch),
    '--ctx',
    String(axes.ctx),
    ...(axes.qLen !== undefined ? ['--q-len', String(axes.qLen)] : []),
    '--heads',
    String(axes.heads),
    ...(axes.kvHeads ? ['--kv-heads', axes.kvHeads.join(',')] : []),
    ...(axes.headDim ? ['--head-dim', axes.headDim.join(',')] : []),
  ];
}

function plannedIds(request: BenchRequest): string[] {
  return planBench(request, NO_MEMORY_CEILING).configs.map((c) => c.id);
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** Splits the sweep into slices; throws BAD_USAGE for a sweep the planner rejects. */
export function sliceSweep(request: BenchRequest, mode: SliceMode): { slices: Slice[]; configCount: number } {
  const plan = planBench(request, NO_MEMORY_CEILING);
  const groups = new Map<string, BenchConfig[]>();
  for (const c of plan.configs) {
    const key = sliceKey(c, mode);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const slices: Slice[] = [];
  const push = (key: string, configs: BenchConfig[]) => {
    const axes = axesOf(configs);
    const ids = configs.map((c) => c.id);
    if (!sameSet(plannedIds(requestForSlice(request, axes)), ids)) return false;
    slices.push({ index: slices.length, key, axes, configIds: ids });
    return true;
  };
  for (const [key, configs] of groups) {
    if (push(key, configs)) continue;
    // The group is not a product of axes (e.g. a suite whose blocks differ in kv heads): one slice per config.
    for (const c of configs)
      if (!push(c.id, [c])) throw new Error(`configuration ${c.id} cannot be expressed as bench flags`);
  }
  const all = slices.flatMap((s) => s.configIds);
  if (
    new Set(all).size !== all.length ||
    !sameSet(
      all,
      plan.configs.map((c) => c.id),
    )
  )
    throw new Error('the slices do not cover the sweep exactly once');
  return { slices, configCount: plan.configs.length };
}
