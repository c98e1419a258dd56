// ONNX Runtime's fused attention contrib op, com.microsoft.GroupQueryAttention, as a graph for dense/GQA decode
// and causal prefill: the fastest attention ORT's CPU execution provider has, which makes it the fair peer of
// etok's kernels (findings on what the 1.30 CPU build accepts are in docs/onnx.md). The op takes the query in
// BSNH layout ([batch, seq, heads·headDim]), the new keys/values likewise, and the past cache in BNSH; etok's
// k/v hold the whole context, so the last qLen positions are the "new" tokens and the rest is the past.
import { type AttentionShape, DEFAULT_SHAPE, type Phase } from '../index.js';
import type { OnnxAttentionGraph, OnnxFeed } from './attention.js';
import { GraphBuilder } from './graph.js';
import { roundHalfEven } from './quantize.js';

export interface GqaProblem {
  phase: Phase;
  shape: Partial<AttentionShape>;
  /** null: the op's default 1/√headDim, which is also the specification's. */
  scale?: number | null;
  /**
   * The op's own quantized KV cache: the past stored as int8 (8) or packed int4 (4) with f32 scales per kv head
   * and channel (`PER_CHANNEL`), the only granularities the op takes besides one per tensor. Not etok's kv-int8
   * or kv-int4 (scales per token, or per 32-value group): the same bytes a value, a different scheme, so outputs
   * differ; it is the like-for-like speed peer of those levers, not an oracle.
   */
  kvBits?: 8 | 4;
}

function fullShape(p: GqaProblem): AttentionShape {
  const s = { ...DEFAULT_SHAPE, ...p.shape };
  return p.phase === 'decode' ? { ...s, qLen: 1 } : s;
}

export function buildGqaContribGraph(problem: GqaProblem): OnnxAttentionGraph {
  const s = fullShape(problem);
  const { batch: B, heads: H, kvHeads: KH, headDim: D, qLen: S, kvLen: L } = s;
  const past = L - S;
  const bits = problem.kvBits;
  if (bits && past === 0)
    throw new Error('a quantized GroupQueryAttention cache needs a past (kvLen > qLen)');
  const cacheType = bits === 8 ? 'int8' : bits === 4 ? 'uint8' : 'float32';
  const stored = bits === 4 ? D / 2 : D;
  const g = new GraphBuilder(`etok_gqa_${problem.phase}`);
  const inputs = [
    g.input('query', 'float32', [B, S, H * D]),
    g.input('key', 'float32', [B, S, KH * D]),
    g.input('value', 'float32', [B, S, KH * D]),
    past > 0 ? g.input('past_key', cacheType, [B, KH, past, stored]) : '',
    past > 0 ? g.input('past_value', cacheType, [B, KH, past, stored]) : '',
    g.input('seqlens_k', 'int32', [B]),
    g.input('total_sequence_length', 'int32', []),
  ];
  if (bits)
    // cos_cache, sin_cache, position_ids, attention_bias, head_sink unused; then the scales
    inputs.push(
      '',
      '',
      '',
      '',
      '',
      g.input('k_scale', 'float32', [1, KH, 1, D]),
      g.input('v_scale', 'float32', [1, KH, 1, D]),
    );
  g.node(
    'GroupQueryAttention',
    inputs,
    {
      num_heads: H,
      kv_num_heads: KH,
      ...(problem.scale ? { scale: { float: problem.scale } } : {}),
      ...(bits ? { k_quant_type: 'PER_CHANNEL', v_quant_type: 'PER_CHANNEL', kv_cache_bit_width: bits } : {}),
    },
    { domain: 'com.microsoft', domainVersion: 1, names: ['out', 'present_key', 'present_value'] },
  );
  g.output('out', 'float32', [B, S, H * D]);
  // present_* length is left symbolic: ORT's shape inference sizes it from past_key (a shared-buffer convention)
  g.output('present_key', cacheType, [B, KH, 'present_length', stored]);
  g.output('present_value', cacheType, [B, KH, 'present_length', stored]);
  const cache = bits ? `, int${bits} KV cache with per-channel scales` : '';
  return {
    bytes: g.toBytes(),
    inputs: g.inputSpecs(),
    output: g.outputSpecs()[0]!,
    form: `com.microsoft.GroupQueryAttention (${H / KH} query heads per kv head, past ${past}, new ${S}${cache})`,
  };
}

/**
 * The past rows of x ([b, n, s, d], rows s0 ≤ s < s1) quantized as the op's PER_CHANNEL cache: one f32 scale per
 * (head, channel) over every sequence and past token, symmetric, amax/127 (int8) or amax/7 (int4, levels −8…7
 * stored +8, element 2i in the low nibble and 2i+1 in the high), round half to even.
 */
export function quantizePerChannel(
  x: Float32Array,
  dims: { b: number; n: number; s: number; d: number },
  past: number,
  bits: 8 | 4,
): { data: Int8Array | Uint8Array; scale: Float32Array } {
  const { b: B, n: N, s: S, d: D } = dims;
  const amax = new Float32Array(N * D);
  for (let bi = 0; bi < B; bi++)
    for (let ni = 0; ni < N; ni++)
      for (let si = 0; si < past; si++) {
        const row = ((bi * N + ni) * S + si) * D;
        for (let di = 0; di < D; di++)
          amax[ni * D + di] = Math.max(amax[ni * D + di]!, Math.abs(x[row + di]!));
      }
  const top = bits === 8 ? 127 : 7;
  const scale = Float32Array.from(amax, (a) => (a > 0 ? a / top : 1));
  const levels = new Int8Array(B * N * past * D);
  for (let bi = 0; bi < B; bi++)
    for (let ni = 0; ni < N; ni++)
      for (let si = 0; si < past; si++) {
        const from = ((bi * N + ni) * S + si) * D;
        const to = ((bi * N + ni) * past + si) * D;
        for (let di = 0; di < D; di++) {
          const l = roundHalfEven(Math.fround(x[from + di]! / scale[ni * D + di]!));
          levels[to + di] = Math.max(bits === 8 ? -127 : -8, Math.min(top, l));
        }
      }
  if (bits === 8) return { data: levels, scale };
  const packed = new Uint8Array(levels.length / 2);
  for (let i = 0; i < packed.length; i++) packed[i] = (levels[2 * i]! + 8) | ((levels[2 * i + 1]! + 8) << 4);
  return { data: packed, scale };
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

/** Feeds from runKernel's dense inputs (q, k, v in docs/spec.md §3 layouts). */
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
  const bits = problem.kvBits;
  if (bits) {
    const dims = { b: B, n: KH, s: L, d: D };
    const stored = bits === 4 ? D / 2 : D;
    const type = bits === 8 ? 'int8' : 'uint8';
    const kq = quantizePerChannel(k, dims, past, bits);
    const vq = quantizePerChannel(v, dims, past, bits);
    feeds.past_key = { type, data: kq.data, dims: [B, KH, past, stored] };
    feeds.past_value = { type, data: vq.data, dims: [B, KH, past, stored] };
    feeds.k_scale = { type: 'float32', data: kq.scale, dims: [1, KH, 1, D] };
    feeds.v_scale = { type: 'float32', data: vq.scale, dims: [1, KH, 1, D] };
  } else if (past > 0) {
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
