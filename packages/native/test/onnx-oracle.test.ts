// ONNX Runtime as an independent numerics oracle: etok's native kernels and ONNX graphs written from the
// specification (docs/spec.md; packages/kernels/src/onnx) run on the same synthetic inputs, and must agree within
// the tolerances of docs/onnx.md. Neither side uses etok's fp64 references, so a misreading of the specification
// shared by a kernel and its reference (layouts, head grouping, the causal offset, default scales, a quantization
// scheme) shows up here. Every lever set has an ONNX form (sparse selection included) and must run natively: a
// native BAD_SHAPE fails the case unless the case is listed in NATIVE_UNSUPPORTED with where it is documented.
import { allVariants, parseVariant } from '@etok/kernels';
import {
  attentionFeeds,
  buildAttentionGraph,
  buildGqaContribGraph,
  gqaFeeds,
  gqaOutputToBnsh,
  type OnnxFeed,
  onnxExpressible,
} from '@etok/kernels/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type NativeKernelRequest, runKernel, syntheticInputs } from '../src/index.js';

/** |native − onnx| ≤ atol + rtol·|onnx| per element, and the relative L2 error of the whole output. */
const TOLERANCE = {
  // Both sides compute in f32 from the same f32 (or the same dequantized) values; they differ only in the order
  // of additions and in exp/softmax implementations.
  float: { atol: 2e-5, rtol: 2e-4, relL2: 2e-5 },
  // Under kv-* each side quantizes on its own (C++ and quantize.ts) from the same written scheme (f32 division by
  // an f16 scale, round half to even, saturation), so the stored values must be identical and the outputs agree
  // as closely as unquantized ones: a looser bound would hide a scheme difference (amax/128, round half away…).
  quantized: { atol: 2e-5, rtol: 2e-4, relL2: 2e-5 },
};

function tensors(feeds: Record<string, OnnxFeed>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor(f.type, f.data, f.dims)]),
  );
}

/** Cases ("variant: label") the native CPU kernels document as unsupported, with where; none today. A listed case
 *  must still be refused (BAD_SHAPE), so the list cannot outlive the limitation. */
const NATIVE_UNSUPPORTED: Record<string, string> = {};

/** Small sparse settings so that selection matters at these contexts (dense variants ignore them). */
const SPARSE = { blockSize: 8, topK: 1, window: 8 };

interface Case {
  label: string;
  phase: 'decode' | 'prefill';
  shape: NativeKernelRequest['shape'];
  scale?: number;
  profile: 'uniform' | 'peaked';
}

const CASES: Case[] = [
  {
    label: 'GQA decode b2 h4/kv2 d64 ctx96',
    phase: 'decode',
    shape: { batch: 2, heads: 4, kvHeads: 2, headDim: 64, qLen: 1, kvLen: 96, rank: 64, ropeDim: 32 },
    profile: 'uniform',
  },
  {
    label: 'MQA decode b1 h4/kv1 d32 ctx64, scale 0.3, peaked',
    phase: 'decode',
    shape: { batch: 1, heads: 4, kvHeads: 1, headDim: 32, qLen: 1, kvLen: 64, rank: 32, ropeDim: 32 },
    scale: 0.3,
    profile: 'peaked',
  },
  {
    label: 'causal prefill chunk b2 h4/kv2 d32 q12 ctx40',
    phase: 'prefill',
    shape: { batch: 2, heads: 4, kvHeads: 2, headDim: 32, qLen: 12, kvLen: 40, rank: 64, ropeDim: 32 },
    profile: 'uniform',
  },
  {
    label: 'full prefill b1 h2/kv2 d64 q32 ctx32',
    phase: 'prefill',
    shape: { batch: 1, heads: 2, kvHeads: 2, headDim: 64, qLen: 32, kvLen: 32, rank: 32, ropeDim: 32 },
    profile: 'peaked',
  },
];

function compare(native: Float32Array, oracle: Float32Array, tol: (typeof TOLERANCE)['float']) {
  let num = 0;
  let den = 0;
  let worst = { index: -1, excess: 0 };
  for (let i = 0; i < oracle.length; i++) {
    const d = Math.abs(native[i]! - oracle[i]!);
    num += d * d;
    den += oracle[i]! * oracle[i]!;
    const excess = d - (tol.atol + tol.rtol * Math.abs(oracle[i]!));
    if (excess > worst.excess) worst = { index: i, excess };
  }
  return { relL2: Math.sqrt(num / den), worst };
}

describe('ONNX oracle: native kernels agree with ONNX graphs written from the specification', () => {
  const variants = allVariants();

  it('covers every lever set (all 16 have an ONNX form)', () => {
    expect(variants).toHaveLength(16);
    expect(variants.filter((v) => !onnxExpressible(v).ok)).toEqual([]);
  });

  for (const variant of variants) {
    for (const c of CASES) {
      it(`${variant}: ${c.label}`, async (ctx) => {
        const expressible = onnxExpressible(variant);
        expect(expressible.ok, expressible.ok ? '' : expressible.reason).toBe(true);
        const documented = NATIVE_UNSUPPORTED[`${variant}: ${c.label}`];
        const request: NativeKernelRequest = {
          variant,
          phase: c.phase,
          dtype: 'f32',
          device: 'cpu',
          shape: c.shape,
          params: { ...SPARSE, ...(c.scale !== undefined ? { scale: c.scale } : {}) },
        };
        const inputs = syntheticInputs(request, c.profile, 11);
        let native: Float32Array;
        try {
          native = runKernel(request, inputs);
        } catch (error) {
          if (documented && (error as { code?: string }).code === 'BAD_SHAPE')
            return ctx.skip(`the native kernels do not run it (${documented}): ${(error as Error).message}`);
          throw error;
        }
        expect(documented, 'listed in NATIVE_UNSUPPORTED but runs: remove it from the list').toBeUndefined();
        const problem = {
          variant,
          phase: c.phase,
          shape: c.shape,
          params: { ...SPARSE, ...(c.scale !== undefined ? { scale: c.scale } : {}) },
        };
        const graph = buildAttentionGraph(problem);
        const session = await ort.InferenceSession.create(graph.bytes, {
          executionProviders: ['cpu'],
          logSeverityLevel: 3,
        });
        try {
          const out = (await session.run(tensors(attentionFeeds(problem, inputs))))[graph.output.name]!;
          expect(out.dims).toEqual(graph.output.dims);
          const oracle = out.data as Float32Array;
          expect(native.length).toBe(oracle.length);
          const tol = parseVariant(variant).kv ? TOLERANCE.quantized : TOLERANCE.float;
          const { relL2, worst } = compare(native, oracle, tol);
          if (process.env.ETOK_ORACLE_LOG)
            console.log(`ORACLE ${variant} ${c.label} relL2=${relL2.toExponential(2)}`);
          expect(
            worst.index,
            `element ${worst.index}: native ${native[worst.index]} vs onnx ${oracle[worst.index]}`,
          ).toBe(-1);
          expect(relL2).toBeLessThan(tol.relL2);
          if (parseVariant(variant).sparse) {
            // the selection must matter at this shape, or sparse would be checked as dense
            const withoutSparse = variant.replace(/(^|\+)sparse/, '').replace(/^\+/, '') || 'dense';
            const full = runKernel({ ...request, variant: withoutSparse }, inputs);
            expect(compare(native, full, tol).relL2).toBeGreaterThan(1e-3);
          }
        } finally {
          await session.release();
        }
      });
    }
  }
});

describe("ONNX oracle: dense kernels agree with ORT's fused com.microsoft.GroupQueryAttention", () => {
  // A third implementation (ORT's own C++ attention), for the forms the op accepts on the CPU provider.
  for (const c of CASES.filter(
    (c) => c.phase === 'decode' || c.shape.qLen === c.shape.kvLen || c.shape.batch === 1,
  )) {
    it(`dense: ${c.label}`, async () => {
      const request: NativeKernelRequest = {
        variant: 'dense',
        phase: c.phase,
        dtype: 'f32',
        device: 'cpu',
        shape: c.shape,
        ...(c.scale !== undefined ? { params: { scale: c.scale } } : {}),
      };
      const inputs = syntheticInputs(request, c.profile, 11);
      const native = runKernel(request, inputs);
      const gqa = { phase: c.phase, shape: c.shape, scale: c.scale ?? null };
      const graph = buildGqaContribGraph(gqa);
      const session = await ort.InferenceSession.create(graph.bytes, {
        executionProviders: ['cpu'],
        logSeverityLevel: 3,
      });
      try {
        const out = (await session.run(tensors(gqaFeeds(gqa, inputs)), ['out'])).out!;
        const oracle = gqaOutputToBnsh(out.data as Float32Array, c.shape, c.phase);
        const { relL2, worst } = compare(native, oracle, TOLERANCE.float);
        expect(
          worst.index,
          `element ${worst.index}: native ${native[worst.index]} vs GQA ${oracle[worst.index]}`,
        ).toBe(-1);
        expect(relL2).toBeLessThan(TOLERANCE.float.relL2);
      } finally {
        await session.release();
      }
    });
  }
});
