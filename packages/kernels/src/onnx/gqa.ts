// ONNX Runtime's fused attention contrib op, com.microsoft.GroupQueryAttention, as a graph for dense/GQA decode
// and causal prefill: the fastest attention ORT's CPU execution provider has, which makes it the fair peer of
// etok's kernels (findings on what the 1.30 CPU build accepts are in docs/onnx.md). The op takes the query in
// BSNH layout ([batch, seq, heads·headDim]), the new keys/values likewise, and the past cache in BNSH; etok's
// k/v hold the whole context, so the last qLen positions are the "new" tokens and the rest is the past.
import { type AttentionShape, DEFAULT_SHAPE, type Phase } from '../index.js';
import type { OnnxAttentionGraph, OnnxFeed } from './attention.js';
import { GraphBuilder } from './graph.js';

export interface GqaProblem {
  phase: Phase;
  shape: Partial<AttentionShape>;
  /** null: the op's default 1/√headDim, which is also the SPEC's. */
  scale?: number | null;
}

function fullShape(p: GqaProblem): AttentionShape {
  const s = { ...DEFAULT_SHAPE, ...p.shape };
  return p.phase === 'decode' ? { ...s, qLen: 1 } : s;
}

export function buildGqaContribGraph(problem: GqaProblem): OnnxAttentionGraph {
  const s = fullShape(problem);
  const { batch: B, heads: H, kvHeads: KH, headDim: D, qLen: S, kvLen: L } = s;
  const past = L - S;
  const g = new GraphBuilder(`etok_gqa_${problem.phase}`);
  const inputs = [
    g.input('query', 'float32', [B, S, H * D]),
    g.input('key', 'float32', [B, S, KH * D]),
    g.input('value', 'float32', [B, S, KH * D]),
    past > 0 ? g.input('past_key', 'float32', [B, KH, past, D]) : '',
    past > 0 ? g.input('past_value', 'float32', [B, KH, past, D]) : '',
    g.input('seqlens_k', 'int32', [B]),
    g.input('total_sequence_length', 'int32', []),
  ];
  g.node(
    'GroupQueryAttention',
    inputs,
    {
      num_heads: H,
      kv_num_heads: KH,
      ...(problem.scale ? { scale: { float: problem.scale } } : {}),
    },
    { domain: 'com.microsoft', domainVersion: 1, names: ['out', 'present_key', 'present_value'] },
  );
  g.output('out', 'float32', [B, S, H * D]);
  // present_* length is left symbolic: ORT's shape inference sizes it from past_key (a shared-buffer convention)
  g.output('present_key', 'float32', [B, KH, 'present_length', D]);
  g.output('present_value', 'float32', [B, KH, 'present_length', D]);
  return {
    bytes: g.toBytes(),
    inputs: g.inputSpecs(),
    output: g.outputSpecs()[0]!,
    form: `com.microsoft.GroupQueryAttention (${H / KH} query heads per kv head, past ${past}, new ${S})`,
  };
}

/** [b, n, s, d] → [b, s, n·d] for rows s0 ≤ s < s1. */
function bnshToBsnh(x: Float32Array, b: number, n: number, s: number, d: number, s0: number, s1: number) {
  const rows = s1 - s0;
  const out = new Float32Array(b * rows * n * d);
  for (let bi = 0; bi < b; bi++)
    for (let ni = 0; ni < n; ni++)
      for (let si = s0; si < s1; si++)
        out.set(
          x.subarray(((bi * n + ni) * s + si) * d, ((bi * n + ni) * s + si + 1) * d),
          ((bi * rows + (si - s0)) * n + ni) * d,
        );
  return out;
}

/** [b, n, s, d] → [b, n, s1 − s0, d]. */
function bnshRows(x: Float32Array, b: number, n: number, s: number, d: number, s0: number, s1: number) {
  const out = new Float32Array(b * n * (s1 - s0) * d);
  for (let bn = 0; bn < b * n; bn++)
    out.set(x.subarray((bn * s + s0) * d, (bn * s + s1) * d), bn * (s1 - s0) * d);
  return out;
}

/** Feeds from runKernel's dense inputs (q, k, v in SPEC §3 layouts). */
export function gqaFeeds(
  problem: GqaProblem,
  inputs: Record<string, Float32Array>,
): Record<string, OnnxFeed> {
  const s = fullShape(problem);
  const { batch: B, heads: H, kvHeads: KH, headDim: D, qLen: S, kvLen: L } = s;
  const { q, k, v } = inputs;
  if (!q || !k || !v) throw new Error('gqaFeeds needs q, k and v');
  const past = L - S;
  const feeds: Record<string, OnnxFeed> = {
    query: { type: 'float32', data: bnshToBsnh(q, B, H, S, D, 0, S), dims: [B, S, H * D] },
    key: { type: 'float32', data: bnshToBsnh(k, B, KH, L, D, past, L), dims: [B, S, KH * D] },
    value: { type: 'float32', data: bnshToBsnh(v, B, KH, L, D, past, L), dims: [B, S, KH * D] },
    // ORT's convention: seqlens_k is the total sequence length minus one, per sequence.
    seqlens_k: { type: 'int32', data: new Int32Array(B).fill(L - 1), dims: [B] },
    total_sequence_length: { type: 'int32', data: Int32Array.of(L), dims: [] },
  };
  if (past > 0) {
    feeds.past_key = { type: 'float32', data: bnshRows(k, B, KH, L, D, 0, past), dims: [B, KH, past, D] };
    feeds.past_value = { type: 'float32', data: bnshRows(v, B, KH, L, D, 0, past), dims: [B, KH, past, D] };
  }
  return feeds;
}

/** The op's output [B, S, H·D] back to etok's [B, H, S, D]. */
export function gqaOutputToBnsh(
  out: Float32Array,
  shape: Partial<AttentionShape>,
  phase: Phase,
): Float32Array {
  const s = fullShape({ phase, shape });
  const { batch: B, heads: H, headDim: D, qLen: S } = s;
  const res = new Float32Array(out.length);
  for (let b = 0; b < B; b++)
    for (let si = 0; si < S; si++)
      for (let h = 0; h < H; h++)
        res.set(
          out.subarray(((b * S + si) * H + h) * D, ((b * S + si) * H + h + 1) * D),
          ((b * H + h) * S + si) * D,
        );
  return res;
}
