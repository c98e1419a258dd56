// `etok bench --peer onnx`: the same configuration computed by ONNX Runtime, with the same inputs (etok's seeded
// synthetic inputs), measured by the same engine in the same interleaved group as etok's kernel (the ORT executor,
// ort-executor.ts, runs the graph in a child process). The ORT form is the fastest this build has for the problem:
// the fused com.microsoft.GroupQueryAttention for dense f32 where the CPU provider accepts it (decode; prefill
// without a past, or batch 1), else the graph of packages/kernels/src/onnx (MLA, sparse selection, kv-*
// dequantize-then-attend, chunked prefill at batch > 1). Other storage dtypes and plugin kernels are reported as
// not comparable.
import type { BenchConfig, ExternalVariant } from '@etok/core';
import { parseVariant } from '@etok/kernels';
import {
  attentionFeeds,
  buildAttentionGraph,
  buildGqaContribGraph,
  gqaFeeds,
  gqaOutputToBnsh,
  type OnnxAttentionGraph,
  type OnnxFeed,
  onnxExpressible,
} from '@etok/kernels/onnx';

/**
 * 'auto' takes the fused GroupQueryAttention op where it applies, else the plain graph; 'plain' forces the plain
 * graph. 'gqa-per-channel' measures kv-int8 / kv-int4 decode with the op's own quantized cache (int8 or int4 with
 * per-channel scales, buildGqaContribGraph's kvBits): the same bytes a value as etok's levers but another scale
 * scheme, so a speed peer only (the benchmark's like-for-like rows), never what `etok bench --peer onnx` picks.
 */
export type PeerForm = 'auto' | 'plain' | 'gqa-per-channel';

/** Which ORT graph measures a configuration, or why none does. */
export function peerGraph(
  config: Pick<BenchConfig, 'variant' | 'phase' | 'dtype' | 'shape' | 'params'>,
  form: PeerForm = 'auto',
):
  | {
      graph: OnnxAttentionGraph;
      /** Short name of the form for tables: the fused op (with its own quantized cache) or the plain graph. */
      kind: 'GQA op' | 'GQA op, per-channel KV' | 'plain graph';
      feeds: (inputs: Record<string, Float32Array>) => Record<string, OnnxFeed>;
      /** The graph's output in etok's layout [batch, heads, rows, dim]. */
      toSpecLayout: (out: Float32Array) => Float32Array;
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
      toSpecLayout: (out) => gqaOutputToBnsh(out, s, config.phase),
    };
  }
  const fusedFits =
    config.variant === 'dense' && (config.phase === 'decode' || s.qLen === s.kvLen || s.batch === 1);
  if (form === 'auto' && fusedFits) {
    const gqa = { phase: config.phase, shape: s, scale: config.params.scale };
    return {
      graph: buildGqaContribGraph(gqa),
      kind: 'GQA op',
      feeds: (inputs) => gqaFeeds(gqa, inputs),
      toSpecLayout: (out) => gqaOutputToBnsh(out, s, config.phase),
    };
  }
  return {
    graph: buildAttentionGraph(problem),
    kind: 'plain graph',
    feeds: (inputs) => attentionFeeds(problem, inputs),
    toSpecLayout: (out) => out,
  };
}

/** The ORT peer of an etok configuration for `withPeers`: the graph etok would run, or why there is none. */
export function onnxPeerFor(
  config: BenchConfig,
  form: PeerForm = 'auto',
): { peers: ExternalVariant[]; none: { family: string; reason: string }[] } {
  const chosen = peerGraph(config, form);
  if ('reason' in chosen) return { peers: [], none: [{ family: 'onnx', reason: chosen.reason }] };
  const name = chosen.kind === 'GQA op' ? 'gqa' : chosen.kind === 'plain graph' ? 'graph' : 'gqa-per-channel';
  return {
    peers: [
      {
        name: `onnx:${name}`,
        executor: 'onnx',
        path: '',
        description: `ONNX Runtime, ${chosen.graph.form}`,
        referenceVariant: config.variant,
        peer: { family: 'onnx', name },
        options: { form },
      },
    ],
    none: [],
  };
}
