// GPU tier: the CUDA kernels through runKernel against the fp64 references, every lever set × phase ×
// dtype on small odd shapes with fresh seeds. Skips, saying why, where the addon has no CUDA or no device is
// visible (capabilities().cudaReason / cudaRuntimeReason). The exhaustive matrix (both kernel paths, forced KV
// splits, poisoned outputs) is the C++ program etok-cuda-validate beside this file, run by bench/gpu/run.py.
import { allVariants } from '@etok/kernels';
import { capabilities, listDevices, referenceOutput, runKernel, syntheticInputs } from '@etok/native';
import { describe, expect, it } from 'vitest';

const caps = capabilities();
const skipReason = !caps.cuda
  ? `CUDA kernels not compiled in: ${caps.cudaReason}`
  : caps.cudaRuntimeReason
    ? `no usable CUDA device: ${caps.cudaRuntimeReason}`
    : '';

// ‖out − exact‖ / ‖exact‖ per dtype: f32 SIMT arithmetic; f16/bf16 also round the dequantized tile and P.
const TOLERANCE = { f32: 2e-5, f16: 8e-3, bf16: 2.5e-2 } as const;

function relativeL2(out: Float32Array, ref: Float64Array): number {
  expect(out.length).toBe(ref.length);
  let num = 0;
  let den = 0;
  ref.forEach((r, i) => {
    const d = (out[i] ?? Number.NaN) - r;
    num += d * d;
    den += r * r;
  });
  return Math.sqrt(num / den);
}

describe.skipIf(skipReason !== '')(
  `CUDA kernels on cuda:0${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    for (const variant of allVariants())
      for (const phase of ['decode', 'prefill'] as const)
        for (const dtype of ['f32', 'bf16', 'f16'] as const)
          it(`${variant} ${phase} ${dtype}`, () => {
            const mla = variant.includes('mla');
            const seed = Math.floor(Math.random() * 2 ** 31);
            const request = {
              variant,
              phase,
              dtype,
              device: 'cuda:0',
              shape: mla
                ? {
                    batch: 2,
                    heads: 16,
                    rank: 512,
                    ropeDim: 64,
                    kvLen: 333,
                    qLen: phase === 'decode' ? 1 : 45,
                  }
                : {
                    batch: 2,
                    heads: 8,
                    kvHeads: 2,
                    headDim: 128,
                    kvLen: 333,
                    qLen: phase === 'decode' ? 1 : 45,
                  },
              // window 0 (every third seed) makes a prefill row's partial last block a top-k candidate.
              params: { blockSize: 32, topK: 3, window: seed % 3 === 0 ? 0 : 64 },
            };
            const inputs = syntheticInputs(request, seed % 2 ? 'peaked' : 'uniform', seed);
            const out = runKernel(request, inputs);
            expect(out.every(Number.isFinite), `seed ${seed}: non-finite output`).toBe(true);
            const err = relativeL2(out, referenceOutput(request, inputs, 'exact'));
            expect(err, `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE[dtype]);
          });
  },
);

// A skip must be true: where the matrix is skipped, asking for cuda:0 fails with the code of the stated reason.
it.skipIf(skipReason === '')(`CUDA GPU tests are skipped here: ${skipReason || 'n/a'}`, () => {
  const request = {
    variant: 'dense',
    phase: 'decode' as const,
    device: 'cuda:0',
    shape: { batch: 1, heads: 2, kvHeads: 1, headDim: 16, kvLen: 8 },
  };
  expect(listDevices().some((d) => d.kind === 'cuda')).toBe(false);
  expect(() => runKernel(request, syntheticInputs(request, 'uniform', 1))).toThrow(
    expect.objectContaining({
      code: caps.cuda ? expect.stringMatching(/^(CUDA_ERROR|BAD_SHAPE)$/) : 'CUDA_NOT_COMPILED',
    }),
  );
});
