// Planning `etok bench`: suites and flags → a list of concrete configurations, validated before anything runs
// (unknown variants, shapes that do not divide, sizes beyond memory), so bad input never half-writes a file.

import {
  type AttentionParams,
  type AttentionShape,
  allVariants,
  type CallCost,
  callCost,
  canonicalVariant,
  DEFAULT_PARAMS,
  DTYPES,
  type Dtype,
  leverPowerSet,
  PHASES,
  type Phase,
  parseVariant,
} from '@etok/kernels';
import { EtokError } from './errors.js';

export const SUITES = ['quick', 'standard', 'full'] as const;
export type Suite = (typeof SUITES)[number];
export const PROFILES = ['uniform', 'peaked'] as const;
export type InputProfile = (typeof PROFILES)[number];

/** Harness settings; mirrors the addon's timing block (seconds, counts, relative targets). */
export interface TimingSettings {
  warmupS: number;
  minTimeS: number;
  maxTimeS: number;
  noiseTarget: number;
  minWindowS: number;
  minWindowUpdates: number;
  minTrials: number;
  maxTrials: number;
  energyCiTarget: number;
  energyBudgetS: number;
  idleS: number;
  /** Calls timed after evicting the caches (0 skips them). */
  coldSamples: number;
}

/** The engine's defaults (harness.h MeasurePlan); a test checks that the two agree. */
export const DEFAULT_TIMING: TimingSettings = {
  warmupS: 0.1,
  minTimeS: 0.3,
  maxTimeS: 3,
  noiseTarget: 0.005,
  minWindowS: 0.2,
  minWindowUpdates: 20,
  minTrials: 5,
  maxTrials: 40,
  energyCiTarget: 0.03,
  energyBudgetS: 8,
  idleS: 0.5,
  coldSamples: 10,
};

/**
 * The J/call interval a meter can be expected to reach in a short run, the default target: an NVML counter on an idle
 * board reaches ±0.3% (measured on an H100), RAPL a few tenths more, the model meter on a CPU shared with other work
 * only a few percent. A wider interval at the end of the budget is a precision warning (validity.ts).
 */
export function defaultEnergyCiTarget(meterKind: 'nvml' | 'rapl' | 'model'): number {
  return meterKind === 'nvml' ? 0.01 : meterKind === 'rapl' ? 0.02 : 0.05;
}

const QUICK_TIMING: TimingSettings = {
  ...DEFAULT_TIMING,
  minTimeS: 0.1,
  maxTimeS: 0.4,
  energyBudgetS: 1.5,
  idleS: 0.3,
  maxTrials: 12,
  coldSamples: 3,
};

/** One sweep: every combination of these axes is one configuration. */
export interface SweepBlock {
  variants: string[];
  phases: Phase[];
  dtypes: Dtype[];
  batch: number[];
  ctx: number[];
  /** Prefill query length; null means the whole context (a full prefill). */
  qLen: (number | null)[];
  heads: number[];
  kvHeads: number[];
  headDim: number[];
}

export interface SuiteDefinition {
  description: string;
  blocks: SweepBlock[];
  timing: TimingSettings;
}

const ALL = allVariants();
const BASE: SweepBlock = {
  variants: ['dense'],
  phases: ['decode'],
  dtypes: ['f32'],
  batch: [1],
  ctx: [4096],
  qLen: [null],
  heads: [32],
  kvHeads: [8],
  headDim: [128],
};

export const SUITE_DEFINITIONS: Record<Suite, SuiteDefinition> = {
  // A shape where decode is bound by reading the cache, so each lever's bytes show in its joules: a Llama-3-8B-like
  // layer (32 query heads on 8 kv heads, d128) at 8K context, batch 2. About a minute on a 2-core CPU.
  quick: {
    description:
      'every lever set, decode, one shape bound by reading the KV cache (b2, ctx 8K, 32/8 heads, d128); about a minute on a 2-core CPU',
    blocks: [{ ...BASE, variants: ALL, batch: [2], ctx: [8192], heads: [32], kvHeads: [8], headDim: [128] }],
    timing: QUICK_TIMING,
  },
  standard: {
    description: 'every lever set; decode over batch 1, 8 and contexts 1K–16K; prefill at 512 and 2K',
    blocks: [
      { ...BASE, variants: ALL, batch: [1, 8], ctx: [1024, 4096, 16384] },
      { ...BASE, variants: ALL, phases: ['prefill'], ctx: [512, 2048] },
    ],
    timing: DEFAULT_TIMING,
  },
  full: {
    description: 'every lever set and dtype; decode over batch 1–32 and contexts 1K–64K; prefill up to 8K',
    blocks: [
      { ...BASE, variants: ALL, dtypes: [...DTYPES], batch: [1, 8, 32], ctx: [1024, 4096, 16384, 65536] },
      { ...BASE, variants: ALL, dtypes: [...DTYPES], phases: ['prefill'], ctx: [512, 2048, 8192] },
    ],
    timing: { ...DEFAULT_TIMING, maxTimeS: 15, energyBudgetS: 20 },
  },
};

/** What the user asked for; undefined fields take the suite's (or the default sweep's) values. */
export interface BenchRequest {
  device: string;
  meter: string;
  suite?: Suite;
  variants?: string[];
  levers?: string[];
  phases?: Phase[];
  dtypes?: Dtype[];
  batch?: number[];
  ctx?: number[];
  qLen?: number[];
  heads?: number[];
  kvHeads?: number[];
  headDim?: number[];
  rank: number;
  ropeDim: number;
  params: AttentionParams;
  profile: InputProfile;
  seed: number;
  quality: boolean;
  timing?: Partial<TimingSettings>;
  /** Users' kernels (--plugin libraries, --python callables); their names may appear in `variants`. */
  externals?: ExternalVariant[];
  /** Coefficients for the model meter given as flags (otherwise the device table's). */
  powerModel?: { source: string; idleW: number; busyW: number };
}

/** Who implements a peer: the family (torch, onnx) and the implementation's name in it (sdpa-flash, graph). */
export interface PeerIdentity {
  family: string;
  name: string;
}

/** A kernel etok measures but did not write: a user's plugin or Python callable, or a peer implementation. */
export interface ExternalVariant {
  /** The variant name in results: the plugin's or callable's name; for a peer, `<family>:<name>`. */
  name: string;
  executor: 'plugin' | 'python' | 'onnx';
  /** The plugin library or Python file (empty for the ONNX Runtime peer, whose graph etok builds). */
  path: string;
  description: string;
  /** Built-in lever set whose inputs it takes and whose fp64 reference judges it; null: its own inputs. */
  referenceVariant: string | null;
  /** Set for peers; the configuration's variant is then `<lever set>@<family>:<name>`. */
  peer?: PeerIdentity;
  /** What the executor needs beyond the path (e.g. the ONNX Runtime peer's graph form). */
  options?: Record<string, string>;
}

/** Analytic cost of an external configuration: plugins give their own; the caller asks them (core loads none). */
export type ExternalCostFn = (
  external: ExternalVariant,
  config: Omit<BenchConfig, 'id' | 'cost' | 'hostBytes'>,
) => CallCost;

export interface BenchConfig {
  id: string;
  variant: string;
  /** Set when the variant is not etok's own kernel; `layoutVariant` is the built-in layout its inputs follow. */
  external?: ExternalVariant;
  phase: Phase;
  dtype: Dtype;
  shape: AttentionShape;
  params: AttentionParams;
  cost: CallCost;
  /** Host bytes the harness allocates for this configuration (inputs, stored copies, output). */
  hostBytes: number;
}

export interface BenchPlan {
  device: string;
  meter: string;
  profile: InputProfile;
  seed: number;
  quality: boolean;
  timing: TimingSettings;
  configs: BenchConfig[];
}

function configId(c: Omit<BenchConfig, 'id' | 'cost' | 'hostBytes'>): string {
  const s = c.shape;
  const q = c.phase === 'prefill' ? `q${s.qLen}` : '';
  const layout = parseVariant(c.variant).mla
    ? `h${s.heads}r${s.rank}p${s.ropeDim}`
    : `h${s.heads}kv${s.kvHeads}d${s.headDim}`;
  return `${c.variant}/${c.phase}/${c.dtype}/b${s.batch}/ctx${s.kvLen}${q}/${layout}`;
}

/** Rough upper bound of the harness's host allocation: f32 inputs (synthetic + stored copy) and the output. */
export function estimateHostBytes(shape: AttentionShape, phase: Phase, variant: string): number {
  const v = parseVariant(variant);
  const rows = phase === 'decode' ? 1 : shape.qLen;
  const inputs = v.mla
    ? shape.batch *
      (shape.heads * rows * (shape.rank + shape.ropeDim) + shape.kvLen * (shape.rank + shape.ropeDim))
    : shape.batch * (shape.heads * rows * shape.headDim + 2 * shape.kvHeads * shape.kvLen * shape.headDim);
  const output = shape.batch * shape.heads * rows * (v.mla ? shape.rank : shape.headDim);
  return 4 * (2 * inputs + 2 * output);
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new EtokError('BAD_USAGE', message);
}

/** The built-in lever set whose layout a variant's inputs follow (an external's reference, or dense). */
export function layoutVariant(variant: string, externals: readonly ExternalVariant[] = []): string {
  const external = externals.find((p) => p.name === variant);
  return external ? (external.referenceVariant ?? 'dense') : variant;
}

/** The variant name of a peer configuration: the lever set it computes, then who computes it. */
export function peerVariant(leverSet: string, peer: PeerIdentity): string {
  return `${leverSet}@${peer.family}:${peer.name}`;
}

export function planBench(
  request: BenchRequest,
  hostMemoryBytes: number,
  externalCost?: ExternalCostFn,
): BenchPlan {
  const externals = request.externals ?? [];
  const canonical = (v: string) => (externals.some((p) => p.name === v) ? v : canonicalVariant(v));
  const suite = request.suite ? SUITE_DEFINITIONS[request.suite] : undefined;
  const blocks = suite ? suite.blocks : [BASE];
  const variantsFromFlags = request.levers
    ? leverPowerSet(request.levers)
    : (
        request.variants ?? (externals.length > 0 ? [...externals.map((p) => p.name), 'dense'] : undefined)
      )?.map(canonical);
  const configs: BenchConfig[] = [];
  const seen = new Set<string>();
  for (const block of blocks) {
    const b: SweepBlock = {
      variants: variantsFromFlags ?? block.variants,
      phases: request.phases ?? block.phases,
      dtypes: request.dtypes ?? block.dtypes,
      batch: request.batch ?? block.batch,
      ctx: request.ctx ?? block.ctx,
      qLen: request.qLen ?? block.qLen,
      heads: request.heads ?? block.heads,
      kvHeads: request.kvHeads ?? block.kvHeads,
      headDim: request.headDim ?? block.headDim,
    };
    for (const variant of b.variants)
      for (const phase of b.phases)
        for (const dtype of b.dtypes)
          for (const batch of b.batch)
            for (const ctx of b.ctx)
              for (const qLenAxis of phase === 'decode' ? [1] : b.qLen)
                for (const heads of b.heads)
                  for (const kvHeads of b.kvHeads)
                    for (const headDim of b.headDim) {
                      const external = externals.find((p) => p.name === variant);
                      const layout = layoutVariant(variant, externals);
                      const mla = parseVariant(layout).mla;
                      const qLen = phase === 'decode' ? 1 : (qLenAxis ?? ctx);
                      check(
                        qLen <= ctx,
                        `--q-len ${qLen} exceeds the context ${ctx}; a prefill chunk cannot be longer than its context`,
                      );
                      if (!mla)
                        check(
                          heads % kvHeads === 0,
                          `--heads ${heads} is not a multiple of --kv-heads ${kvHeads}; query heads share kv heads in equal groups`,
                        );
                      const shape: AttentionShape = {
                        batch,
                        heads,
                        kvHeads: mla ? 1 : kvHeads,
                        headDim: mla ? request.rank + request.ropeDim : headDim,
                        qLen,
                        kvLen: ctx,
                        rank: request.rank,
                        ropeDim: request.ropeDim,
                      };
                      const base = {
                        variant,
                        phase,
                        dtype,
                        shape,
                        params: request.params,
                        ...(external ? { external } : {}),
                      };
                      const id = configId({ ...base, variant: layout }).replace(layout, variant);
                      if (seen.has(id)) continue;
                      seen.add(id);
                      const hostBytes = estimateHostBytes(shape, phase, layout);
                      check(
                        Number.isSafeInteger(hostBytes) && hostBytes <= 0.8 * hostMemoryBytes,
                        `configuration ${id} needs about ${(hostBytes / 2 ** 30).toFixed(1)} GiB of host memory; this machine has ${(hostMemoryBytes / 2 ** 30).toFixed(1)} GiB free. Lower --batch or --ctx`,
                      );
                      let cost: CallCost;
                      if (external?.executor === 'plugin') {
                        if (!externalCost)
                          throw new EtokError('BAD_USAGE', `no cost function for plugin ${external.name}`);
                        cost = externalCost(external, base);
                      } else cost = callCost({ ...base, variant: layout });
                      configs.push({ ...base, id, cost, hostBytes });
                    }
  }
  check(configs.length > 0, 'the sweep is empty; give at least one value for each axis');
  return {
    device: request.device,
    meter: request.meter,
    profile: request.profile,
    seed: request.seed,
    quality: request.quality,
    timing: { ...(suite?.timing ?? DEFAULT_TIMING), ...request.timing },
    configs,
  };
}

export { DEFAULT_PARAMS, DTYPES, PHASES };

/** A lever set of a configuration with no implementation in a peer family, and why. */
export interface NoPeer {
  of: string;
  family: string;
  reason: string;
}

/**
 * Peers join the plan: after each of etok's own configurations, the peer implementations `decide` names for it,
 * with the same shape (so they are measured in its interleaved group) and variant `<lever set>@<family>:<name>`.
 * What `decide` says has no peer is returned beside the plan, to be reported, never replaced by a substitute.
 */
export function withPeers(
  plan: BenchPlan,
  decide: (config: BenchConfig) => { peers: ExternalVariant[]; none: Omit<NoPeer, 'of'>[] },
): { plan: BenchPlan; noPeers: NoPeer[] } {
  const configs: BenchConfig[] = [];
  const noPeers: NoPeer[] = [];
  for (const config of plan.configs) {
    configs.push(config);
    if (config.external) continue;
    const { peers, none } = decide(config);
    for (const n of none) noPeers.push({ of: config.id, ...n });
    for (const peer of peers) {
      if (!peer.peer) continue;
      const variant = peerVariant(config.variant, peer.peer);
      configs.push({
        ...config,
        variant,
        external: peer,
        id: `${variant}${config.id.slice(config.variant.length)}`,
      });
    }
  }
  return { plan: { ...plan, configs }, noPeers };
}

/**
 * Configurations that differ only in their lever set are measured as one group, their energy windows interleaved
 * (ABAB…) so drift cannot favour one. Order follows the plan; groups never exceed the memory the plan allowed.
 */
export function comparisonGroups(
  configs: readonly BenchConfig[],
  hostMemoryBytes: number,
  interleave: boolean,
): BenchConfig[][] {
  if (!interleave) return configs.map((c) => [c]);
  const groups = new Map<string, BenchConfig[]>();
  for (const c of configs) {
    const key = c.id
      .slice(c.variant.length + 1)
      .replace(/\/h\d+r\d+p\d+$|\/h\d+kv\d+d\d+$/, `/h${c.shape.heads}`);
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  const out: BenchConfig[][] = [];
  for (const list of groups.values()) {
    let current: BenchConfig[] = [];
    let bytes = 0;
    for (const c of list) {
      if (current.length > 0 && bytes + c.hostBytes > 0.8 * hostMemoryBytes) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      current.push(c);
      bytes += c.hostBytes;
    }
    if (current.length > 0) out.push(current);
  }
  return out;
}
