// Analytic cost of one attention call (docs/spec.md §3): FLOPs, bytes moved at the stored dtype, tokens produced.
// Formulas and the conventions behind them are written out in packages/kernels/README.md ("Cost model").
// FLOPs count each multiply-add of the QK and PV products as 2; softmax is excluded (FlashInfer's convention).

import type { AttentionParams, AttentionProblem, AttentionShape } from './shape.js';
import { type Dtype, type KvLever, parseVariant } from './variants.js';

export interface CallCost {
  flops: number;
  bytes: number;
  tokens: number;
}

const DTYPE_BYTES: Record<Dtype, number> = { f32: 4, bf16: 2, f16: 2 };
/** Scales of quantized KV are stored as 16-bit floats. */
const SCALE_BYTES = 2;
const INT4_GROUP = 32;

/** Bytes to store one vector of `dim` cache values (one token of one kv head, or of the latent). */
export function kvVectorBytes(dim: number, kv: KvLever | null, dtype: Dtype): number {
  switch (kv) {
    case null:
      return dim * DTYPE_BYTES[dtype];
    case 'kv-int8':
    case 'kv-fp8':
      return dim + SCALE_BYTES; // one byte a value, one scale per token and head
    case 'kv-int4':
      return dim / 2 + Math.ceil(dim / INT4_GROUP) * SCALE_BYTES; // 4.5 bits a value at group 32
  }
}

/**
 * Tokens that NSA-style selection attends to when `visible` tokens can be seen (docs/spec.md §3, sparse): the sink block,
 * the blocks holding the last `window` tokens, and topK other blocks. Every block but the last is full, and the
 * last is in the window whenever window ≥ 1, so the count is exact then. With window 0 the last, partial block
 * may be a top-k pick; the count assumes full blocks there (an upper bound by less than one block).
 */
export function selectedTokenCount(visible: number, params: AttentionParams): number {
  const bs = params.blockSize;
  const nBlocks = Math.ceil(visible / bs);
  if (params.window <= 0) {
    const others = Math.min(params.topK, nBlocks - 1);
    return Math.min(visible, bs + others * bs);
  }
  const windowStart = Math.max(0, visible - params.window);
  const firstWindowBlock = Math.floor(windowStart / bs);
  const windowBlocks = nBlocks - firstWindowBlock;
  const forced = firstWindowBlock === 0 ? windowBlocks : windowBlocks + 1; // + sink block 0
  const others = Math.min(params.topK, nBlocks - forced);
  // Every block outside the window is full; the window's blocks hold the rest of the visible tokens.
  const windowTokens = visible - firstWindowBlock * bs;
  const sinkTokens = firstWindowBlock === 0 ? 0 : bs;
  return windowTokens + sinkTokens + others * bs;
}

/** For each query row of one sequence, how many KV tokens it attends to. */
function attendedPerQuery(
  shape: AttentionShape,
  phase: AttentionProblem['phase'],
  sparse: boolean,
  params: AttentionParams,
): number[] {
  const qLen = phase === 'decode' ? 1 : shape.qLen;
  const counts: number[] = [];
  for (let i = 0; i < qLen; i++) {
    const visible = phase === 'decode' ? shape.kvLen : shape.kvLen - shape.qLen + i + 1;
    counts.push(sparse ? selectedTokenCount(visible, params) : visible);
  }
  return counts;
}

export function callCost(problem: AttentionProblem): CallCost {
  const { shape, params, phase, dtype } = problem;
  const v = parseVariant(problem.variant);
  const qLen = phase === 'decode' ? 1 : shape.qLen;
  const act = DTYPE_BYTES[dtype];
  const attended = attendedPerQuery(shape, phase, v.sparse, params);
  const attendedSum = attended.reduce((a, b) => a + b, 0);
  const tokens = phase === 'decode' ? shape.batch : shape.batch * shape.qLen;

  // KV tokens read once per (sequence, kv group): decode reads the selected ones; prefill reads every visible
  // token once (over a whole prefill, nearly every block is selected by some query).
  const kvTokensRead = phase === 'decode' ? attendedSum : shape.kvLen;
  const nBlocks = Math.ceil(shape.kvLen / params.blockSize);

  if (v.mla) {
    const qkMacs = shape.rank + shape.ropeDim;
    const pvMacs = shape.rank;
    const flops = 2 * (qkMacs + pvMacs) * shape.batch * shape.heads * attendedSum;
    const qBytes = shape.batch * shape.heads * qLen * (shape.rank + shape.ropeDim) * act;
    const cacheVector = kvVectorBytes(shape.rank, v.kv, dtype) + kvVectorBytes(shape.ropeDim, v.kv, dtype);
    const kvBytes = shape.batch * kvTokensRead * cacheVector;
    // Sparse selection scores blocks by their mean keys, kept beside the cache at the activation dtype.
    const meanBytes = v.sparse ? shape.batch * nBlocks * (shape.rank + shape.ropeDim) * act : 0;
    const outBytes = shape.batch * shape.heads * qLen * shape.rank * act;
    return { flops, bytes: qBytes + kvBytes + meanBytes + outBytes, tokens };
  }

  const d = shape.headDim;
  const flops = 2 * 2 * d * shape.batch * shape.heads * attendedSum;
  const qBytes = shape.batch * shape.heads * qLen * d * act;
  const kvBytes = 2 * shape.batch * shape.kvHeads * kvTokensRead * kvVectorBytes(d, v.kv, dtype);
  const meanBytes = v.sparse ? shape.batch * shape.kvHeads * nBlocks * d * act : 0;
  const outBytes = qBytes;
  return { flops, bytes: qBytes + kvBytes + meanBytes + outBytes, tokens };
}
