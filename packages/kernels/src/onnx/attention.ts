// ONNX graphs of etok's attention variants (docs/spec.md §3), written from the specification with plain ONNX ops (MatMul, Softmax,
// Where, Cast, Mul, Floor, Concat, Reshape): dense/GQA attention (decode and causal prefill, head grouping by
// broadcasting over a kv-head axis), MLA in the absorbed form (score = qNope·ckv + qRope·kRope, values = ckv), and
// the dequantize-then-attend form of each KV format (the quantized cache and its f16 scales are graph inputs).
// Shapes are fixed when the graph is built, so what depends only on shapes (which blocks a query position sees,
// its sink and window blocks) is a constant table; what depends on data (block means, scores, the top-k choice)
// is computed in the graph: CumSum for the means over each position's visible tokens, TopK (ONNX breaks ties to
// the lower index, as the specification asks) for the scored blocks, ScatterElements for the mask.
import {
  type AttentionParams,
  type AttentionShape,
  DEFAULT_PARAMS,
  DEFAULT_SHAPE,
  type Phase,
  parseVariant,
} from '../index.js';
import { GraphBuilder, type OnnxElementType, type OnnxValueSpec } from './graph.js';
import { INT4_GROUP, type KvFormat, quantizeRows } from './quantize.js';

export interface OnnxAttentionProblem {
  variant: string;
  phase: Phase;
  shape: Partial<AttentionShape>;
  params?: Partial<AttentionParams>;
}

export interface OnnxAttentionGraph {
  /** The serialised ModelProto. */
  bytes: Uint8Array;
  inputs: OnnxValueSpec[];
  output: OnnxValueSpec;
  /** One line on what the graph computes, for reports. */
  form: string;
}

/** A tensor to feed, in onnxruntime-common's terms (float16 as its 16-bit patterns). */
export interface OnnxFeed {
  type: OnnxElementType;
  data: Float32Array | Uint8Array | Int8Array | Uint16Array | Int32Array;
  dims: number[];
}

export type Expressible = { ok: true } | { ok: false; reason: string };

/** Whether a lever set can be written as an ONNX graph here (every lever set can), and why not when not. */
export function onnxExpressible(variant: string): Expressible {
  parseVariant(variant); // a string that is not a lever set throws VariantError
  return { ok: true };
}

function fullShape(shape: Partial<AttentionShape>, phase: Phase): AttentionShape {
  const s = { ...DEFAULT_SHAPE, ...shape };
  return phase === 'decode' ? { ...s, qLen: 1 } : s;
}

/** The softmax scale the specification prescribes when none is given: 1/√headDim, or 1/√192 under mla. */
export function defaultScale(variant: string, shape: AttentionShape): number {
  return parseVariant(variant).mla ? 1 / Math.sqrt(192) : 1 / Math.sqrt(shape.headDim);
}

/**
 * Adds graph inputs for a cache of vectors stored in `format` and returns the f32 tensor they dequantize to,
 * shaped [...rowDims, dim]. `name` is the runKernel input name (k, v, ckv, kRope).
 */
function cacheInput(
  g: GraphBuilder,
  name: string,
  format: KvFormat | null,
  rowDims: number[],
  dim: number,
): string {
  if (format === null) return g.input(name, 'float32', [...rowDims, dim]);
  const toFloat = (x: string) => g.op('Cast', [x], { to: 1 });
  if (format === 'kv-int4') {
    if (dim % INT4_GROUP !== 0)
      throw new Error(`the kv-int4 graph needs vectors in whole groups of ${INT4_GROUP}; ${name} has ${dim}`);
    const groups = dim / INT4_GROUP;
    const packed = g.input(`${name}Packed`, 'uint8', [...rowDims, dim / 2]);
    const scales = g.input(`${name}Scale`, 'float16', [...rowDims, groups]);
    // byte j of a group holds value j (low nibble) and value j + 16 (high nibble), each stored as q + 8
    const bytes = g.op('Reshape', [toFloat(packed), g.ints([...rowDims, groups, INT4_GROUP / 2])]);
    const hi = g.op('Floor', [g.op('Div', [bytes, g.scalar(16)])]);
    const lo = g.op('Sub', [bytes, g.op('Mul', [hi, g.scalar(16)])]);
    const levels = g.op('Sub', [g.op('Concat', [lo, hi], { axis: -1 }), g.scalar(8)]);
    const scale = g.op('Unsqueeze', [toFloat(scales), g.ints([-1])]);
    return g.op('Reshape', [g.op('Mul', [levels, scale]), g.ints([...rowDims, dim])]);
  }
  const values = g.input(`${name}Quant`, format === 'kv-int8' ? 'int8' : 'uint8', [...rowDims, dim]);
  const scale = toFloat(g.input(`${name}Scale`, 'float16', [...rowDims, 1]));
  if (format === 'kv-int8') return g.op('Mul', [toFloat(values), scale]);
  // E4M3FN from its byte: sign bit 7, exponent bits 6..3 (bias 7), mantissa bits 2..0; exponent 0 is subnormal.
  const byte = toFloat(values);
  const sign = g.op('Floor', [g.op('Div', [byte, g.scalar(128)])]);
  const rest = g.op('Sub', [byte, g.op('Mul', [sign, g.scalar(128)])]);
  const exp = g.op('Floor', [g.op('Div', [rest, g.scalar(8)])]);
  const man = g.op('Sub', [rest, g.op('Mul', [exp, g.scalar(8)])]);
  const normal = g.op('Mul', [
    g.op('Add', [man, g.scalar(8)]),
    g.op('Pow', [g.scalar(2), g.op('Sub', [exp, g.scalar(10)])]),
  ]);
  const subnormal = g.op('Mul', [man, g.scalar(2 ** -9)]);
  const magnitude = g.op('Where', [g.op('Equal', [exp, g.scalar(0)]), subnormal, normal]);
  const signed = g.op('Mul', [magnitude, g.op('Sub', [g.scalar(1), g.op('Mul', [sign, g.scalar(2)])])]);
  return g.op('Mul', [signed, scale]);
}

/** Additive causal mask [qLen, kvLen]: query i sees KV positions ≤ kvLen − qLen + i (docs/spec.md §3), else −∞. */
function causalMask(g: GraphBuilder, qLen: number, kvLen: number): string {
  const rows = g.op('Range', [
    g.constant('int64', [], [kvLen - qLen]),
    g.constant('int64', [], [kvLen]),
    g.constant('int64', [], [1]),
  ]);
  const cols = g.op('Range', [
    g.constant('int64', [], [0]),
    g.constant('int64', [], [kvLen]),
    g.constant('int64', [], [1]),
  ]);
  const hidden = g.op('Less', [g.op('Unsqueeze', [rows, g.ints([1])]), cols]);
  return g.op('Where', [hidden, g.scalar(Number.NEGATIVE_INFINITY), g.scalar(0)]);
}

/** Scale, causal mask (prefill), the sparse selection mask when given, softmax over the last axis. */
function probabilities(
  g: GraphBuilder,
  scores: string,
  scale: number,
  phase: Phase,
  s: AttentionShape,
  selection?: string,
): string {
  let x = g.op('Mul', [scores, g.scalar(scale)]);
  if (phase === 'prefill') x = g.op('Add', [x, causalMask(g, s.qLen, s.kvLen)]);
  if (selection) x = g.op('Add', [x, selection]);
  return g.op('Softmax', [x], { axis: -1 });
}

/** What the selection of each query row may use, from shapes alone (docs/spec.md §3, sparse). */
export interface SelectionTables {
  blocks: number;
  /** [rows × blocks]: the token range [start, end) of each block that the row sees (end = start: none). */
  start: number[];
  end: number[];
  /** [rows × blocks]: 1 for the sink block and the blocks holding the row's last `window` visible tokens. */
  forced: number[];
  /** The most scored (visible, not forced) blocks any row has, capped at topK: the TopK size. */
  k: number;
}

export function selectionTables(
  phase: Phase,
  s: AttentionShape,
  params: Pick<AttentionParams, 'blockSize' | 'topK' | 'window'>,
): SelectionTables {
  const rows = phase === 'decode' ? 1 : s.qLen;
  const bs = params.blockSize;
  const blocks = Math.ceil(s.kvLen / bs);
  const start: number[] = [];
  const end: number[] = [];
  const forced: number[] = [];
  let k = 0;
  for (let i = 0; i < rows; i++) {
    const visible = phase === 'decode' ? s.kvLen : s.kvLen - s.qLen + i + 1;
    const firstWindowBlock =
      params.window > 0 ? Math.floor(Math.max(0, visible - params.window) / bs) : blocks;
    let candidates = 0;
    for (let b = 0; b < blocks; b++) {
      const b0 = b * bs;
      const b1 = Math.min((b + 1) * bs, visible);
      const seen = b1 > b0;
      start.push(b0);
      end.push(seen ? b1 : b0);
      const isForced = seen && (b === 0 || b >= firstWindowBlock);
      forced.push(isForced ? 1 : 0);
      if (seen && !isForced) candidates++;
    }
    k = Math.max(k, Math.min(params.topK, candidates));
  }
  return { blocks, start, end, forced, k };
}

/**
 * Additive mask [B, groups, rows, kvLen] (0 on selected tokens, −∞ elsewhere) of NSA-style selection: per row,
 * block means over the row's visible tokens of `keys` [B, groups, L, D], block score = (Σ of the group's query
 * heads at that row) · mean, selected = forced blocks ∪ the top-k scored others.
 */
function selectionMask(
  g: GraphBuilder,
  keys: string,
  groupQuerySum: string,
  tables: SelectionTables,
  dims: { batch: number; groups: number; rows: number; kvLen: number; dim: number; blockSize: number },
): string {
  const { batch: B, groups: KG, rows: S, kvLen: L, dim: D, blockSize: bs } = dims;
  const nB = tables.blocks;
  // prefix sums with a leading zero row: the sum of tokens [a, b) is P[b] − P[a]
  const zeroRow = g.op('Expand', [g.constant('float32', [1, 1, 1, 1], [0]), g.ints([B, KG, 1, D])]);
  const prefix = g.op('CumSum', [g.op('Concat', [zeroRow, keys], { axis: 2 }), g.constant('int64', [], [2])]);
  const gather = (idx: number[]) => g.op('Gather', [prefix, g.constant('int64', [S, nB], idx)], { axis: 2 });
  const counts = tables.end.map((e, i) => Math.max(1, e - tables.start[i]!));
  const means = g.op('Div', [
    g.op('Sub', [gather(tables.end), gather(tables.start)]),
    g.constant('float32', [S, nB, 1], counts),
  ]); // [B, KG, S, nB, D]
  const scores = g.op(
    'ReduceSum',
    [g.op('Mul', [means, g.op('Unsqueeze', [groupQuerySum, g.ints([3])])]), g.ints([-1])],
    {
      keepdims: 0,
    },
  ); // [B, KG, S, nB]
  const forced = g.constant('float32', [S, nB], tables.forced);
  const candidate = tables.forced.map((f, i) => (tables.end[i]! > tables.start[i]! && !f ? 1 : 0));
  let selected = g.op('Expand', [forced, g.ints([B, KG, S, nB])]);
  if (tables.k > 0) {
    const masked = g.op('Where', [
      g.op('Cast', [g.constant('float32', [S, nB], candidate)], { to: 9 }),
      scores,
      g.scalar(Number.NEGATIVE_INFINITY),
    ]);
    const [values, indices] = g.node(
      'TopK',
      [masked, g.ints([tables.k])],
      { axis: -1, largest: 1, sorted: 1 },
      {
        outputs: 2,
      },
    );
    // a row with fewer candidates than k also picks −∞ entries: those are not selected
    const real = g.op('Cast', [g.op('Greater', [values!, g.scalar(Number.NEGATIVE_INFINITY)])], { to: 1 });
    const chosen = g.op('ScatterElements', [g.op('Mul', [scores, g.scalar(0)]), indices!, real], {
      axis: -1,
    });
    selected = g.op('Max', [chosen, forced]);
  }
  // blocks → tokens: [B, KG, S, nB] → [B, KG, S, nB, bs] → [B, KG, S, nB·bs] → the first L tokens
  const perToken = g.op('Reshape', [
    g.op('Expand', [g.op('Unsqueeze', [selected, g.ints([-1])]), g.ints([1, 1, 1, 1, bs])]),
    g.ints([B, KG, S, nB * bs]),
  ]);
  const tokens = g.op('Slice', [perToken, g.ints([0]), g.ints([L]), g.ints([3])]);
  return g.op('Where', [
    g.op('Greater', [tokens, g.scalar(0.5)]),
    g.scalar(0),
    g.scalar(Number.NEGATIVE_INFINITY),
  ]);
}

/** Builds the graph of one variant and shape. Throws for a lever set that onnxExpressible() rejects. */
export function buildAttentionGraph(problem: OnnxAttentionProblem): OnnxAttentionGraph {
  const expressible = onnxExpressible(problem.variant);
  if (!expressible.ok) throw new Error(`${problem.variant}: ${expressible.reason}`);
  const v = parseVariant(problem.variant);
  const s = fullShape(problem.shape, problem.phase);
  const scale = problem.params?.scale ?? defaultScale(problem.variant, s);
  const g = new GraphBuilder(`etok_${problem.variant}_${problem.phase}`);
  const { batch: B, heads: H, qLen: S, kvLen: L } = s;
  const params = { ...DEFAULT_PARAMS, ...problem.params };
  const tables = v.sparse ? selectionTables(problem.phase, s, params) : null;
  const kvTag = `${v.sparse ? `, sparse selection (block ${params.blockSize}, top ${params.topK}, window ${params.window})` : ''}${v.kv ? `, KV ${v.kv} dequantized in the graph` : ''}`;
  // Block means are taken over the keys before kv-* quantization (kept beside the cache at the activation dtype,
  // packages/kernels/README.md); under a kv-* lever those plain keys are an input of their own.
  const plainKeys = (name: string, rowDims: number[], dim: number, stored: string) =>
    v.kv ? g.input(`${name}Plain`, 'float32', [...rowDims, dim]) : stored;

  if (v.mla) {
    const { rank: R, ropeDim: P } = s;
    const qNope = g.input('qNope', 'float32', [B, H, S, R]);
    const qRope = g.input('qRope', 'float32', [B, H, S, P]);
    const ckvStored = cacheInput(g, 'ckv', v.kv, [B, L], R);
    const kRopeStored = cacheInput(g, 'kRope', v.kv, [B, L], P);
    const ckv = g.op('Unsqueeze', [ckvStored, g.ints([1])]); // [B,1,L,R]
    const kRope = g.op('Unsqueeze', [kRopeStored, g.ints([1])]);
    const scores = g.op('Add', [
      g.op('MatMul', [qNope, g.op('Transpose', [ckv], { perm: [0, 1, 3, 2] })]),
      g.op('MatMul', [qRope, g.op('Transpose', [kRope], { perm: [0, 1, 3, 2] })]),
    ]);
    let selection: string | undefined;
    if (tables) {
      // the latent cache is one group holding every head: keys [ckv | kRope], queries [qNope | qRope]
      const keys = g.op(
        'Concat',
        [plainKeys('ckv', [B, L], R, ckvStored), plainKeys('kRope', [B, L], P, kRopeStored)],
        {
          axis: -1,
        },
      );
      const querySum = g.op('ReduceSum', [g.op('Concat', [qNope, qRope], { axis: -1 }), g.ints([1])], {
        keepdims: 1,
      });
      selection = selectionMask(g, g.op('Unsqueeze', [keys, g.ints([1])]), querySum, tables, {
        batch: B,
        groups: 1,
        rows: S,
        kvLen: L,
        dim: R + P,
        blockSize: params.blockSize,
      });
    }
    const p = probabilities(g, scores, scale, problem.phase, s, selection);
    g.node('MatMul', [p, ckv], {}, { names: ['out'] });
    g.output('out', 'float32', [B, H, S, R]);
    return {
      bytes: g.toBytes(),
      inputs: g.inputSpecs(),
      output: g.outputSpecs()[0]!,
      form: `MLA absorbed: softmax((qNope·ckvᵀ + qRope·kRopeᵀ)·${scale.toPrecision(4)}${problem.phase === 'prefill' ? ' + causal' : ''})·ckv${kvTag}`,
    };
  }

  const { kvHeads: KH, headDim: D } = s;
  if (H % KH !== 0) throw new Error(`heads (${H}) must be a multiple of kvHeads (${KH})`);
  const G = H / KH;
  const q = g.op('Reshape', [g.input('q', 'float32', [B, H, S, D]), g.ints([B, KH, G, S, D])]);
  const kStored = cacheInput(g, 'k', v.kv, [B, KH, L], D);
  const k = g.op('Unsqueeze', [kStored, g.ints([2])]); // [B,KH,1,L,D]
  const vv = g.op('Unsqueeze', [cacheInput(g, 'v', v.kv, [B, KH, L], D), g.ints([2])]);
  const scores = g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 2, 4, 3] })]); // [B,KH,G,S,L]
  let selection: string | undefined;
  if (tables) {
    const querySum = g.op('ReduceSum', [q, g.ints([2])], { keepdims: 0 }); // [B,KH,S,D]
    const mask = selectionMask(g, plainKeys('k', [B, KH, L], D, kStored), querySum, tables, {
      batch: B,
      groups: KH,
      rows: S,
      kvLen: L,
      dim: D,
      blockSize: params.blockSize,
    });
    selection = g.op('Unsqueeze', [mask, g.ints([2])]); // [B,KH,1,S,L] over the group's heads
  }
  const p = probabilities(g, scores, scale, problem.phase, s, selection);
  g.node('Reshape', [g.op('MatMul', [p, vv]), g.ints([B, H, S, D])], {}, { names: ['out'] });
  g.output('out', 'float32', [B, H, S, D]);
  return {
    bytes: g.toBytes(),
    inputs: g.inputSpecs(),
    output: g.outputSpecs()[0]!,
    form: `GQA (${G} query heads per kv head): softmax(q·kᵀ·${scale.toPrecision(4)}${problem.phase === 'prefill' ? ' + causal' : ''})·v${kvTag}`,
  };
}

/**
 * The feeds of a graph from runKernel's f32 inputs (docs/spec.md §3 layouts): floats pass through; under a kv-* lever
 * the caches are quantized here (quantize.ts) and fed as stored values plus f16 scales.
 */
export function attentionFeeds(
  problem: OnnxAttentionProblem,
  inputs: Record<string, Float32Array>,
): Record<string, OnnxFeed> {
  const v = parseVariant(problem.variant);
  const s = fullShape(problem.shape, problem.phase);
  const { batch: B, heads: H, qLen: S, kvLen: L } = s;
  const need = (name: string) => {
    const x = inputs[name];
    if (!x) throw new Error(`attentionFeeds: input '${name}' is missing`);
    return x;
  };
  const feeds: Record<string, OnnxFeed> = {};
  const addCache = (name: string, rowDims: number[], dim: number) => {
    const data = need(name);
    if (!v.kv) {
      feeds[name] = { type: 'float32', data, dims: [...rowDims, dim] };
      return;
    }
    if (v.sparse && (name === 'k' || name === 'ckv' || name === 'kRope'))
      feeds[`${name}Plain`] = { type: 'float32', data, dims: [...rowDims, dim] };
    const qz = quantizeRows(v.kv, data, dim);
    if (v.kv === 'kv-int4') {
      feeds[`${name}Packed`] = { type: 'uint8', data: qz.values, dims: [...rowDims, dim / 2] };
      feeds[`${name}Scale`] = { type: 'float16', data: qz.scales, dims: [...rowDims, qz.groups] };
    } else {
      feeds[`${name}Quant`] = {
        type: v.kv === 'kv-int8' ? 'int8' : 'uint8',
        data: qz.values,
        dims: [...rowDims, dim],
      };
      feeds[`${name}Scale`] = { type: 'float16', data: qz.scales, dims: [...rowDims, 1] };
    }
  };
  if (v.mla) {
    feeds.qNope = { type: 'float32', data: need('qNope'), dims: [B, H, S, s.rank] };
    feeds.qRope = { type: 'float32', data: need('qRope'), dims: [B, H, S, s.ropeDim] };
    addCache('ckv', [B, L], s.rank);
    addCache('kRope', [B, L], s.ropeDim);
  } else {
    feeds.q = { type: 'float32', data: need('q'), dims: [B, H, S, s.headDim] };
    addCache('k', [B, s.kvHeads, L], s.headDim);
    addCache('v', [B, s.kvHeads, L], s.headDim);
  }
  return feeds;
}
