// Tolerances of the CPU kernels (the table in packages/kernels/README.md, "Tolerances"), and the elementwise check
// |out − ref| ≤ atol + rtol·|ref| used by every kernel test (FlashInfer's convention).
import type { NativeKernelRequest } from '../../src/index.js';

type Dtype = NonNullable<NativeKernelRequest['dtype']>;

/** Against referenceExact: only the kernel's f32 arithmetic and the rounding of the output to its dtype remain. */
export const EXACT_TOLERANCE: Record<Dtype, { atol: number; rtol: number }> = {
  f32: { atol: 2e-6, rtol: 2e-5 },
  bf16: { atol: 1e-3, rtol: 8e-3 }, // output rounded to bf16: half an ulp is 2^-9 relative
  f16: { atol: 1e-4, rtol: 1e-3 }, //  f16: 2^-12 relative
};

/** Opt-in int8 in integers (ETOK_CPU_INT8_DOT=1, AVX2, int8 read in place): the query and each tile's softmax
 *  weights are rounded to int16 (2^-16 of the row's or tile's largest) for vpmaddwd. Observed against
 *  referenceExact: relative L2 2e-5 to 5e-5, |out − ref| up to 2e-5 at f32, some 500× below the int8 format's own
 *  error. A bound for that path alone; the default path keeps EXACT_TOLERANCE. */
export const INT8_DOT_F32_TOLERANCE = { atol: 5e-5, rtol: 2e-4 };

/** Quality budget against referenceDense (relative L2, uniform inputs) per KV format: the quantization error. */
export const DENSE_REL_L2: Record<'none' | 'kv-int8' | 'kv-fp8' | 'kv-int4', number> = {
  none: 5e-3,
  'kv-int8': 2e-2,
  'kv-fp8': 6e-2,
  'kv-int4': 0.25,
};

/** Index of the first element outside |out − ref| ≤ atol + rtol·|ref|, with its values; null when all pass. */
export function firstMismatch(
  out: Float32Array,
  ref: Float64Array,
  atol: number,
  rtol: number,
): { index: number; out: number; ref: number } | null {
  if (out.length !== ref.length) return { index: -1, out: out.length, ref: ref.length };
  for (let i = 0; i < out.length; i++) {
    const o = out[i]!;
    const r = ref[i]!;
    if (!(Math.abs(o - r) <= atol + rtol * Math.abs(r))) return { index: i, out: o, ref: r };
  }
  return null;
}

export function relativeL2(out: Float32Array, ref: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < out.length; i++) {
    num += (out[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return Math.sqrt(num / den);
}
