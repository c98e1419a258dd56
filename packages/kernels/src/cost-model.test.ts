// The analytic cost model against small cases counted by hand (the arithmetic is written beside each number).
import { describe, expect, it } from 'vitest';
import { callCost, kvVectorBytes, selectedTokenCount } from './cost-model.js';
import { type AttentionProblem, type AttentionShape, DEFAULT_PARAMS } from './shape.js';

function problem(
  variant: string,
  phase: 'decode' | 'prefill',
  dtype: 'f32' | 'bf16' | 'f16',
  shape: Partial<AttentionShape>,
  params = {},
): AttentionProblem {
  const full: AttentionShape = {
    batch: 1,
    heads: 1,
    kvHeads: 1,
    headDim: 8,
    qLen: 1,
    kvLen: 1,
    rank: 8,
    ropeDim: 4,
    ...shape,
  };
  return { variant, phase, dtype, shape: full, params: { ...DEFAULT_PARAMS, ...params } };
}

describe('kvVectorBytes', () => {
  it('stores scales as 16-bit floats', () => {
    expect(kvVectorBytes(64, null, 'f32')).toBe(256);
    expect(kvVectorBytes(64, null, 'bf16')).toBe(128);
    expect(kvVectorBytes(64, 'kv-int8', 'f32')).toBe(64 + 2);
    expect(kvVectorBytes(64, 'kv-fp8', 'bf16')).toBe(64 + 2);
    expect(kvVectorBytes(64, 'kv-int4', 'f32')).toBe(32 + 2 * 2); // 4.5 bits a value
    expect(kvVectorBytes(40, 'kv-int4', 'f32')).toBe(20 + 2 * 2); // groups of 32 and 8
    expect((kvVectorBytes(128, 'kv-int4', 'f16') * 8) / 128).toBe(4.5);
  });
});

describe('selectedTokenCount', () => {
  const params = (blockSize: number, topK: number, window: number) => ({
    scale: null,
    blockSize,
    topK,
    window,
  });
  it('counts sink, window and top-k blocks', () => {
    // 22 tokens, blocks of 4: window 3 → tokens 19..21 → blocks 4 (16..19) and 5 (20, 21) = 6 tokens; sink 4; top-1 4.
    expect(selectedTokenCount(22, params(4, 1, 3))).toBe(14);
    // window covers everything: all 22 tokens, no double counting of the sink
    expect(selectedTokenCount(22, params(4, 3, 100))).toBe(22);
    // top-k larger than the candidates: blocks 1..3 (12 tokens) + sink 4 + window 6
    expect(selectedTokenCount(22, params(4, 99, 3))).toBe(22);
  });
  it('window 0 selects no window blocks (full-block upper bound for a partial top-k pick)', () => {
    expect(selectedTokenCount(10, params(4, 1, 0))).toBe(8); // sink 4 + one block of 4
    expect(selectedTokenCount(16, params(4, 0, 0))).toBe(4); // sink only
    expect(selectedTokenCount(10, params(4, 5, 0))).toBe(10); // capped at the visible tokens
  });
});

describe('callCost', () => {
  it('dense GQA decode, f32', () => {
    // batch 2, heads 4, kvHeads 2, headDim 8, kvLen 10
    const c = callCost(problem('dense', 'decode', 'f32', { batch: 2, heads: 4, kvHeads: 2, kvLen: 10 }));
    expect(c.flops).toBe(2 * 2 * 8 * (2 * 4 * 10)); // (QK + PV) × 2 FLOPs × headDim, per (sequence, head, token)
    expect(c.bytes).toBe(2 * 4 * 8 * 4 + 2 * (2 * 2 * 10 * 8 * 4) + 2 * 4 * 8 * 4); // q 256 + K,V 2560 + out 256
    expect(c.tokens).toBe(2);
  });

  it('causal prefill counts each row over its visible tokens, KV read once, bf16', () => {
    // kvLen 5, qLen 3: rows see 3, 4, 5 tokens = 12; heads 2, kvHeads 1, headDim 4
    const c = callCost(problem('dense', 'prefill', 'bf16', { heads: 2, headDim: 4, kvLen: 5, qLen: 3 }));
    expect(c.flops).toBe(4 * 4 * 2 * 12);
    expect(c.bytes).toBe(2 * 3 * 4 * 2 + 2 * 5 * 4 * 2 + 2 * 3 * 4 * 2); // q 48 + K,V 80 + out 48
    expect(c.tokens).toBe(3);
  });

  it('kv-int4 and kv-int8 count the packed values and their f16 scales', () => {
    const int4 = callCost(problem('kv-int4', 'decode', 'f16', { headDim: 64, kvLen: 3 }));
    expect(int4.bytes).toBe(64 * 2 + 2 * 3 * (32 + 4) + 64 * 2); // q 128 + K,V 216 + out 128
    const int8 = callCost(problem('kv-int8', 'decode', 'f16', { headDim: 64, kvLen: 3 }));
    expect(int8.bytes).toBe(64 * 2 + 2 * 3 * (64 + 2) + 64 * 2);
    expect(int8.flops).toBe(int4.flops); // quantization changes bytes, not the products
  });

  it('mla decode: latent cache read once for all heads, ckv and kRope each with a scale', () => {
    // heads 2, rank 8, ropeDim 4, kvLen 3, kv-int8, f32
    const c = callCost(problem('mla+kv-int8', 'decode', 'f32', { heads: 2, kvLen: 3 }));
    expect(c.flops).toBe(2 * (8 + 4 + 8) * 2 * 3); // QK over rank + ropeDim, PV over rank
    expect(c.bytes).toBe(2 * (8 + 4) * 4 + 3 * (8 + 2 + 4 + 2) + 2 * 8 * 4); // q 96 + cache 48 + out 64
  });

  it('sparse decode reads the selected tokens and the block means', () => {
    // heads 2, kvHeads 1, headDim 4, kvLen 22, blocks of 4 (6 blocks), top-1, window 3 → 14 tokens (see above)
    const c = callCost(
      problem(
        'sparse',
        'decode',
        'f32',
        { heads: 2, headDim: 4, kvLen: 22 },
        { blockSize: 4, topK: 1, window: 3 },
      ),
    );
    expect(c.flops).toBe(4 * 4 * 2 * 14);
    expect(c.bytes).toBe(2 * 4 * 4 + 2 * 14 * 4 * 4 + 6 * 4 * 4 + 2 * 4 * 4); // q 32 + K,V 448 + means 96 + out 32
  });

  it('mla+sparse+kv-int4: means of ckv ‖ kRope at the activation dtype', () => {
    // heads 1, rank 32, ropeDim 32, kvLen 8, blocks of 4, top-0, window 1: sink (4) + last block (4) = 8 tokens
    const c = callCost(
      problem(
        'mla+sparse+kv-int4',
        'decode',
        'bf16',
        { rank: 32, ropeDim: 32, kvLen: 8 },
        { blockSize: 4, topK: 0, window: 1 },
      ),
    );
    expect(c.bytes).toBe(64 * 2 + 8 * (16 + 2 + 16 + 2) + 2 * 64 * 2 + 32 * 2); // q + cache + means (2 blocks) + out
  });
});
