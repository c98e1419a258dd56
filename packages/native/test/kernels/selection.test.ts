// NSA-style selection (docs/spec.md §3) checked index by index on hand-built cases: keys are constant within a block, so
// a block's mean, and with q = e0 its score, is the number written beside it. Each case also runs the kernel,
// which must reproduce attention over exactly those blocks (its referenceExact), not dense attention.
import { selectedTokenCount } from '@etok/kernels';
import { describe, expect, it } from 'vitest';
import {
  type NativeKernelRequest,
  referenceOutput,
  runKernel,
  selectBlocks,
  syntheticInputs,
} from '../../src/index.js';
import { firstMismatch, relativeL2 } from './tolerance.js';

const D = 4;

/** Dense inputs, one kv head: key t = [score(t), 0, 0, 0.1·t] (distinct keys), queries as given, random values. */
function handInputs(req: NativeKernelRequest, keyScore: (t: number) => number, queries: number[][]) {
  const { kvLen = 1 } = req.shape;
  const inputs = syntheticInputs(req, 'uniform', 3);
  const k = new Float32Array(kvLen * D);
  for (let t = 0; t < kvLen; t++) {
    k[t * D] = keyScore(t);
    k[t * D + 3] = 0.001 * t;
  }
  inputs.k = k;
  inputs.q = new Float32Array(queries.flat());
  return inputs;
}

function expectKernelFollowsSelection(req: NativeKernelRequest, inputs: ReturnType<typeof handInputs>) {
  const out = runKernel(req, inputs);
  expect(firstMismatch(out, referenceOutput(req, inputs, 'exact'), 2e-6, 2e-5)).toBeNull();
}

describe('sparse block selection', () => {
  it('decode: sink ∪ window ∪ top-k, ties to the lower index', () => {
    // 22 tokens in blocks of 4: blocks 0..4 full, block 5 holds tokens 20, 21. window 3 → tokens 19..21 → blocks 4, 5.
    const blockScore = [9, 1, 5, 5, 2, 7];
    const base = {
      variant: 'sparse',
      phase: 'decode' as const,
      shape: { batch: 1, heads: 1, kvHeads: 1, headDim: D, kvLen: 22 },
    };
    const score = (t: number) => blockScore[Math.floor(t / 4)]!;
    for (const [topK, expected] of [
      [0, [0, 4, 5]],
      [1, [0, 2, 4, 5]], // blocks 2 and 3 tie at 5: the lower index wins
      [2, [0, 2, 3, 4, 5]],
      [9, [0, 1, 2, 3, 4, 5]],
    ] as const) {
      const req = { ...base, params: { blockSize: 4, topK, window: 3 } };
      const inputs = handInputs(req, score, [[1, 0, 0, 0]]);
      expect(selectBlocks(req, inputs), `topK ${topK}`).toEqual([expected]);
      expectKernelFollowsSelection(req, inputs);
    }
  });

  it('window 0 selects no window blocks; a window reaching block 0 adds nothing beyond the sink', () => {
    const score = (t: number) => [0, 3, 1, 2][Math.floor(t / 4)]!;
    const shape = { batch: 1, heads: 1, kvHeads: 1, headDim: D, kvLen: 16 };
    const noWindow = {
      variant: 'sparse',
      phase: 'decode' as const,
      shape,
      params: { blockSize: 4, topK: 1, window: 0 },
    };
    expect(selectBlocks(noWindow, handInputs(noWindow, score, [[1, 0, 0, 0]]))).toEqual([[0, 1]]);
    const wide = { ...noWindow, params: { blockSize: 4, topK: 0, window: 16 } };
    expect(selectBlocks(wide, handInputs(wide, score, [[1, 0, 0, 0]]))).toEqual([[0, 1, 2, 3]]);
  });

  it('scores sum over the query heads of the group (GQA), not per head', () => {
    // Two heads share one kv head. Head 0 prefers block 1, head 1 prefers block 2, the sum prefers block 3.
    const req = {
      variant: 'sparse',
      phase: 'decode' as const,
      shape: { batch: 1, heads: 2, kvHeads: 1, headDim: D, kvLen: 20 },
      params: { blockSize: 4, topK: 1, window: 1 },
    };
    const inputs = syntheticInputs(req, 'uniform', 3);
    const means = [
      [0, 0],
      [5, -4],
      [-4, 5],
      [3, 3],
      [0, 0],
    ];
    const k = new Float32Array(20 * D);
    for (let t = 0; t < 20; t++) {
      k[t * D] = means[Math.floor(t / 4)]![0]!;
      k[t * D + 1] = means[Math.floor(t / 4)]![1]!;
    }
    inputs.k = k;
    inputs.q = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]);
    expect(selectBlocks(req, inputs)).toEqual([[0, 3, 4]]);
    expectKernelFollowsSelection(req, inputs);
  });

  it('prefill: each query row selects over its visible tokens, with block means over those tokens only', () => {
    // kvLen 10, qLen 3: rows see 8, 9, 10 tokens. Block 2 holds tokens 8 (score 6) and 9 (score −10): row 1 sees
    // only token 8 (mean 6 beats block 1's 2), row 2 sees both (mean −2 loses to block 1).
    const req = {
      variant: 'sparse',
      phase: 'prefill' as const,
      shape: { batch: 1, heads: 1, kvHeads: 1, headDim: D, kvLen: 10, qLen: 3 },
      params: { blockSize: 4, topK: 1, window: 0 },
    };
    const score = (t: number) => (t < 4 ? 0 : t < 8 ? 2 : t === 8 ? 6 : -10);
    const inputs = handInputs(req, score, [
      [1, 0, 0, 0],
      [1, 0, 0, 0],
      [1, 0, 0, 0],
    ]);
    expect(selectBlocks(req, inputs)).toEqual([
      [0, 1],
      [0, 2],
      [0, 1],
    ]);
    expectKernelFollowsSelection(req, inputs);
  });

  it('mla: the latent cache is one group, scored by qNope·mean(ckv) + qRope·mean(kRope)', () => {
    const req = {
      variant: 'mla+sparse',
      phase: 'decode' as const,
      shape: { batch: 1, heads: 2, kvLen: 12, rank: 4, ropeDim: 2 },
      params: { blockSize: 4, topK: 1, window: 1 },
    };
    const inputs = syntheticInputs(req, 'uniform', 4);
    // Block 1: nope part scores 2, rope part 0 → 2 per head; block 2 hidden in the window; block 1 vs nothing else.
    // Make block 1 lose: its nope score is high but its rope score is very negative.
    const ckv = new Float32Array(12 * 4);
    const kRope = new Float32Array(12 * 2);
    for (let t = 4; t < 8; t++) {
      ckv[t * 4] = 2;
      kRope[t * 2] = -3;
    }
    inputs.ckv = ckv;
    inputs.kRope = kRope;
    inputs.qNope = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0]);
    inputs.qRope = new Float32Array([1, 0, 1, 0]);
    // Block 1 scores 2·(2 − 3) = −2 per the sum; it is still the only candidate, so topK 1 takes it.
    expect(selectBlocks(req, inputs)).toEqual([[0, 1, 2]]);
    const none = { ...req, params: { ...req.params, topK: 0 } };
    expect(selectBlocks(none, inputs)).toEqual([[0, 2]]);
    expectKernelFollowsSelection(req, inputs);
  });

  it('the cost model counts exactly the tokens the selection attends to (window ≥ 1)', () => {
    for (const [kvLen, blockSize, topK, window] of [
      [77, 16, 2, 24],
      [100, 32, 1, 512],
      [1100, 64, 3, 64],
      [64, 64, 5, 1],
      [300, 7, 4, 30],
    ] as const) {
      const params = { blockSize, topK, window };
      const req = {
        variant: 'sparse',
        phase: 'decode' as const,
        shape: { batch: 1, heads: 2, kvHeads: 1, headDim: 8, kvLen },
        params,
      };
      const sel = selectBlocks(req, syntheticInputs(req, 'uniform', 1))[0]!;
      const tokens = sel.reduce((n, j) => n + Math.min(kvLen, (j + 1) * blockSize) - j * blockSize, 0);
      expect(selectedTokenCount(kvLen, { ...params, scale: null }), `kvLen ${kvLen}`).toBe(tokens);
    }
  });

  it('sparse attention loses less on peaked inputs than on uniform ones (the planted blocks are found)', () => {
    const req = {
      variant: 'sparse',
      phase: 'decode' as const,
      shape: { batch: 2, heads: 8, kvHeads: 2, headDim: 64, kvLen: 2048 },
      params: { blockSize: 64, topK: 8, window: 128 },
    };
    const loss = (profile: 'uniform' | 'peaked') => {
      const inputs = syntheticInputs(req, profile, 1);
      return relativeL2(runKernel(req, inputs), referenceOutput(req, inputs, 'dense'));
    };
    // topK 8 + sink + window keep 11 of 32 blocks: on uniform inputs most of the mass is dropped; on peaked ones
    // the planted blocks carry it, so sparse stays near dense (the default quality gate is 1e-2).
    expect(loss('uniform')).toBeGreaterThan(0.1);
    expect(loss('peaked')).toBeLessThan(1e-2);
  });
});
