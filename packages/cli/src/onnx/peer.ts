// `etok bench --peer onnx`: the same configuration measured through ONNX Runtime, with the same inputs (the
// addon's seeded syntheticInputs), the same meter and the harness's rules (measure-runs.ts), so etok's kernels and
// ORT can be printed side by side with their ratio. The ORT form is the fastest this build has for the problem:
// the fused com.microsoft.GroupQueryAttention for dense f32 where the CPU provider accepts it (decode; prefill
// without a past, or batch 1), else the graph of packages/kernels/src/onnx (MLA, sparse selection, kv-*
// dequantize-then-attend, chunked prefill at batch > 1). Other storage dtypes and plugin kernels are reported as
// not comparable.
import { analyseMeasurement, type BenchConfig, type BenchPlan, type Measurement } from '@etok/core';
import { parseVariant } from '@etok/kernels';
import {
  attentionFeeds,
  buildAttentionGraph,
  buildGqaContribGraph,
  gqaFeeds,
  type OnnxAttentionGraph,
  type OnnxFeed,
  onnxExpressible,
} from '@etok/kernels/onnx';
import { type NativeMeterHandle, openMeter, syntheticInputs } from '@etok/native';
import type { Column } from '../output/table.js';
import { si } from '../output/table.js';
import { measureRuns } from './measure-runs.js';
import { createSession, toTensors } from './ort.js';

export interface OnnxPeerOptions {
  /** The resolved meter id the etok measurements used (nvml:N, rapl, model). */
  meter: string;
  /**
   * 'plain' forces the plain graph even where the fused GroupQueryAttention op applies. 'gqa-per-channel' measures
   * kv-int8 / kv-int4 decode with the op's own quantized cache (int8 or int4 with per-channel scales,
   * buildGqaContribGraph's kvBits): the same bytes a value as etok's levers but another scale scheme, so it is a
   * speed peer only (the benchmark's like-for-like rows), never what `etok bench --peer onnx` picks.
   */
  form?: PeerForm;
  intraOpThreads?: number | null;
  onProgress?: (stage: string, fraction: number) => void;
  cancelled?: () => boolean;
}

export type OnnxPeerResult =
  | { ok: true; measurement: Measurement }
  | { ok: false; id: string; reason: string };

export type PeerForm = 'auto' | 'plain' | 'gqa-per-channel';

/** Which ORT graph measures a configuration, or why none does. */
export function peerGraph(
  config: BenchConfig,
  form: PeerForm = 'auto',
):
  | {
      graph: OnnxAttentionGraph;
      /** Short name of the form for tables: the fused op (with its own quantized cache) or the plain graph. */
      kind: 'GQA op' | 'GQA op, per-channel KV' | 'plain graph';
      feeds: (inputs: Record<string, Float32Array>) => Record<string, OnnxFeed>;
    }
  | { reason: string } {
  let expressible: ReturnType<typeof onnxExpressible>;
  try {
    expressible = onnxExpressible(config.variant);
  } catch {
    return { reason: `'${config.variant}' is not an etok lever set (a plugin kernel); it has no ORT form` };
  }
  if (!expressible.ok) return { reason: expressible.reason };
  if (config.dtype !== 'f32')
    return { reason: `the ORT peer graphs are f32; ${config.dtype} is not compared` };
  const problem = {
    variant: config.variant,
    phase: config.phase,
    shape: config.shape,
    params: { scale: config.params.scale },
  };
  const s = config.shape;
  if (parseVariant(config.variant).sparse) {
    // The graph holds per-row block means [batch, groups, rows, blocks, dim] in f32; refuse what would not fit.
    const mla = parseVariant(config.variant).mla;
    const rows = config.phase === 'decode' ? 1 : s.qLen;
    const meanBytes =
      4 *
      s.batch *
      (mla ? 1 : s.kvHeads) *
      rows *
      Math.ceil(s.kvLen / config.params.blockSize) *
      (mla ? s.rank + s.ropeDim : s.headDim);
    if (meanBytes > 2 ** 30)
      return {
        reason: `the sparse ORT graph would hold ${(meanBytes / 2 ** 30).toFixed(1)} GiB of per-row block means at this shape; compare a shorter prefill`,
      };
  }
  if (form === 'gqa-per-channel') {
    const bits = config.variant === 'kv-int8' ? 8 : config.variant === 'kv-int4' ? 4 : null;
    if (!bits || config.phase !== 'decode')
      return {
        reason: `GroupQueryAttention's per-channel quantized cache stands in for kv-int8 or kv-int4 decode only, not ${config.variant} ${config.phase}`,
      };
    const gqa = { phase: config.phase, shape: s, scale: config.params.scale, kvBits: bits } as const;
    return {
      graph: buildGqaContribGraph(gqa),
      kind: 'GQA op, per-channel KV',
      feeds: (inputs) => gqaFeeds(gqa, inputs),
    };
  }
  const fusedFits =
    config.variant === 'dense' && (config.phase === 'decode' || s.qLen === s.kvLen || s.batch === 1);
  if (form === 'auto' && fusedFits) {
    const gqa = { phase: config.phase, shape: s, scale: config.params.scale };
    return { graph: buildGqaContribGraph(gqa), kind: 'GQA op', feeds: (inputs) => gqaFeeds(gqa, inputs) };
  }
  return {
    graph: buildAttentionGraph(problem),
    kind: 'plain graph',
    feeds: (inputs) => attentionFeeds(problem, inputs),
  };
}

/** Measures one configuration of `plan` through ONNX Runtime (CPU provider; CUDA for a cuda:N plan). */
export async function runOnnxPeer(
  plan: BenchPlan,
  config: BenchConfig,
  options: OnnxPeerOptions,
): Promise<OnnxPeerResult> {
  const chosen = peerGraph(config, options.form ?? 'auto');
  if ('reason' in chosen) return { ok: false, id: config.id, reason: chosen.reason };
  const cuda = /^cuda:(\d+)$/.exec(plan.device);
  const ort = await createSession(chosen.graph.bytes, {
    provider: cuda ? 'cuda' : 'cpu',
    deviceIndex: cuda ? Number(cuda[1]) : 0,
    intraOpThreads: options.intraOpThreads ?? null,
  });
  let meter: NativeMeterHandle | null = null;
  let meterNote = '';
  try {
    const request = {
      variant: config.variant,
      phase: config.phase,
      dtype: config.dtype,
      device: plan.device,
      shape: config.shape,
      params: { ...config.params, scale: config.params.scale ?? undefined },
    };
    const feeds = await toTensors(chosen.feeds(syntheticInputs(request, plan.profile, plan.seed)));
    const output = [chosen.graph.output.name];
    const runOnce = async () => {
      await ort.session.run(feeds, output);
    };
    try {
      meter = openMeter(options.meter, plan.device);
    } catch (error) {
      meterNote = `energy NOT measured for the ORT peer: meter ${options.meter} could not be opened (${(error as Error).message})`;
    }
    const raw = await measureRuns(runOnce, {
      timing: plan.timing,
      meter,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.cancelled ? { cancelled: options.cancelled } : {}),
    });
    const m = analyseMeasurement(config, raw, { timing: plan.timing });
    const measurement: Measurement = {
      ...m,
      id: `${config.id}@onnx`,
      quality: {
        relErrorVsDense: null,
        relErrorVsExact: null,
        note: 'not computed for the ORT peer; the ONNX oracle test checks agreement with the native kernels',
      },
      peer: {
        runtime: 'onnxruntime',
        version: ort.ortVersion,
        executionProvider: ort.executionProvider,
        intraOpThreads: ort.intraOpThreads,
        form: chosen.graph.form,
        kind: chosen.kind,
        of: config.id,
      },
      ...(meterNote ? { energyNote: meterNote } : {}),
    };
    return { ok: true, measurement };
  } finally {
    meter?.close();
    await ort.session.release();
  }
}

/** etok vs ORT, one row per configuration measured by both: time and J/call, with ORT ÷ etok ratios. */
export function peerComparison(
  etok: readonly Measurement[],
  peers: readonly Measurement[],
  modeled: boolean,
): { columns: Column[]; rows: string[][] } {
  const tag = modeled ? ' (modeled)' : '';
  const columns: Column[] = [
    { header: 'configuration' },
    { header: 'etok time', align: 'right' },
    { header: 'ORT time', align: 'right' },
    { header: 'ORT/etok', align: 'right' },
    { header: `etok J/call${tag}`, align: 'right' },
    { header: `ORT J/call${tag}`, align: 'right' },
    { header: 'ORT/etok', align: 'right' },
    { header: 'ORT form' },
  ];
  const rows: string[][] = [];
  for (const p of peers) {
    const info = (p as { peer?: { of?: string; kind?: string } }).peer;
    const e = etok.find((m) => m.id === info?.of);
    if (!e) continue;
    const ratio = (a: number, b: number) =>
      Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—';
    const measuredEnergy = p.energy.windows.length > 0;
    rows.push([
      e.id,
      si(e.time.medianS, 's'),
      si(p.time.medianS, 's'),
      ratio(p.time.medianS, e.time.medianS),
      si(e.energy.joulesPerCall, 'J'),
      measuredEnergy ? si(p.energy.joulesPerCall, 'J') : 'not measured',
      measuredEnergy ? ratio(p.energy.joulesPerCall, e.energy.joulesPerCall) : '—',
      info?.kind ?? '',
    ]);
  }
  return { columns, rows };
}
