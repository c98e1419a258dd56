// The harness's quality check on problems above the fp64 reference budget: the references check a part of the
// output (one batch element, the last units, the last rows; kernels/sample.h). The part's errors must be exactly
// the errors of the same slice of a whole-problem comparison, so a wrong slice of the inputs, of the output or of
// the causal rows shows as an error of order 1 instead of float rounding.
import { describe, expect, it } from 'vitest';
import {
  measure,
  type NativeKernelRequest,
  type NativeMeasurePlan,
  type NativeQualitySample,
  referenceOutput,
  runKernel,
  syntheticInputs,
} from '../src/index.js';

const TIMING = {
  warmupS: 0.01,
  minTimeS: 0.02,
  maxTimeS: 0.05,
  idleS: 0,
  coldSamples: 0,
  minTrials: 2,
  maxTrials: 2,
  minWindowS: 0.01,
  energyBudgetS: 0.2,
};

/** Rows [batch][heads][rows][dv] of `full` that the part covers, in order. */
function slice(
  full: ArrayLike<number>,
  req: NativeKernelRequest,
  part: NativeQualitySample,
  dv: number,
): number[] {
  const s = req.shape;
  const rows = req.phase === 'decode' ? 1 : s.qLen;
  const perUnit = part.unit === 'kv group' ? s.heads / s.kvHeads : part.unit === 'head' ? 1 : s.heads;
  const out: number[] = [];
  for (let h = part.firstUnit * perUnit; h < (part.firstUnit + part.unitCount) * perUnit; h++)
    for (let r = part.firstRow; r < part.firstRow + part.rowCount; r++) {
      const base = ((part.batchIndex * s.heads + h) * rows + r) * dv;
      for (let d = 0; d < dv; d++) out.push(full[base + d]);
    }
  return out;
}

function relL2(out: number[], ref: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < out.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function measured(req: NativeKernelRequest, maxReferenceFlops: number) {
  const plan: NativeMeasurePlan = {
    ...req,
    device: 'cpu',
    meter: 'model',
    profile: 'peaked',
    seed: 3,
    quality: true,
    maxReferenceFlops,
    timing: TIMING,
  };
  return measure(plan).result;
}

const CASES: {
  name: string;
  req: NativeKernelRequest;
  budget: number;
  expect: Partial<NativeQualitySample>;
}[] = [
  {
    name: 'sparse GQA prefill: last kv group, last rows (causal rows and NSA selection kept)',
    req: {
      variant: 'sparse+kv-int8',
      phase: 'prefill',
      dtype: 'f32',
      shape: { batch: 3, heads: 8, kvHeads: 4, headDim: 16, qLen: 40, kvLen: 100, rank: 512, ropeDim: 64 },
      params: { blockSize: 16, topK: 2, window: 24 },
    },
    budget: 2 * 32 * 2 * 15 * 100, // one group (2 heads) × 15 rows of 100 tokens
    expect: {
      batchIndex: 2,
      unit: 'kv group',
      units: 4,
      firstUnit: 3,
      unitCount: 1,
      firstRow: 25,
      rowCount: 15,
    },
  },
  {
    name: 'mla decode: the last heads of the last batch element',
    req: {
      variant: 'mla+kv-fp8',
      phase: 'decode',
      dtype: 'bf16',
      shape: { batch: 2, heads: 6, kvHeads: 1, headDim: 128, qLen: 1, kvLen: 64, rank: 32, ropeDim: 8 },
      params: { blockSize: 16, topK: 2, window: 16 },
    },
    budget: 2 * 72 * 2 * 64, // two heads
    expect: { batchIndex: 1, unit: 'head', units: 6, firstUnit: 4, unitCount: 2, rowCount: 1 },
  },
  {
    name: 'mla sparse prefill: every head (selection sums them), the last rows',
    req: {
      variant: 'mla+sparse',
      phase: 'prefill',
      dtype: 'f32',
      shape: { batch: 2, heads: 4, kvHeads: 1, headDim: 128, qLen: 20, kvLen: 48, rank: 16, ropeDim: 8 },
      params: { blockSize: 8, topK: 1, window: 8 },
    },
    budget: 2 * 40 * 4 * 5 * 48, // 5 rows of 4 heads
    expect: { batchIndex: 1, unit: 'all heads', units: 1, unitCount: 1, firstRow: 15, rowCount: 5 },
  },
];

describe('harness quality above the reference budget', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await measured(c.req, c.budget);
      expect(r.qualitySample).toMatchObject(c.expect);
      const part = r.qualitySample!;
      expect(r.qualityNote).toMatch(
        /^fp64 references on a part .*: batch element \d+ of \d+, .* of the output$/,
      );
      const dv = c.req.variant.includes('mla') ? c.req.shape.rank : c.req.shape.headDim;
      const inputs = syntheticInputs(c.req, 'peaked', 3);
      const out = slice(runKernel(c.req, inputs), c.req, part, dv);
      for (const which of ['exact', 'dense'] as const) {
        const want = relL2(out, slice(referenceOutput(c.req, inputs, which), c.req, part, dv));
        const got = which === 'exact' ? r.relErrorVsExact : r.relErrorVsDense;
        expect(got).not.toBeNull();
        expect(Math.abs(got! - want)).toBeLessThanOrEqual(1e-9 * Math.max(want, 1e-12));
      }
      // The slice is not trivially right: every part's exact error is float rounding, not a mismatch.
      expect(r.relErrorVsExact!).toBeLessThan(1e-2);
    });
  }

  it('checks the whole output, and says nothing of a part, when the references fit the budget', async () => {
    const r = await measured(CASES[0].req, 4e9);
    expect(r.qualitySample).toBeUndefined();
    expect(r.qualityNote).toBe('');
    expect(r.relErrorVsExact).not.toBeNull();
  });
});
