// Every lever set × phase × dtype × odd shapes against the fp64 references (docs/spec.md §3), on the AVX2 path where the
// CPU has it, on the portable path, and on the opt-in AVX-512 path where the CPU has that. Shapes are small so the
// whole file runs in seconds.
import { allVariants } from '@etok/kernels';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cpuKernelIsa,
  type NativeKernelRequest,
  referenceOutput,
  runKernel,
  syntheticInputs,
} from '../../src/index.js';
import {
  DENSE_REL_L2,
  EXACT_TOLERANCE,
  firstMismatch,
  INT8_DOT_F32_TOLERANCE,
  relativeL2,
} from './tolerance.js';

type Shape = NativeKernelRequest['shape'];
type Params = NonNullable<NativeKernelRequest['params']>;

interface Case {
  name: string;
  shape: Shape;
  prefillQLen: number;
  params: Params;
}

const CASES: Case[] = [
  {
    // heads = kvHeads; headDim and rank not multiples of 8 (scalar tails; int4 groups of 20 and 32 + 8);
    // kvLen not a multiple of the block size
    name: 'heads=kvHeads, odd dims, kvLen 77',
    shape: { batch: 1, heads: 3, kvHeads: 3, headDim: 20, kvLen: 77, rank: 40, ropeDim: 6 },
    prefillQLen: 5,
    params: { blockSize: 16, topK: 2, window: 24 },
  },
  {
    // heads = 8 × kvHeads; kvLen < window (every block is in the window)
    name: 'heads=8×kvHeads, kvLen < window',
    shape: { batch: 2, heads: 16, kvHeads: 2, headDim: 64, kvLen: 100, rank: 64, ropeDim: 16 },
    prefillQLen: 13,
    params: { blockSize: 32, topK: 1, window: 512 },
  },
  {
    // one sequence and one kv group over a longer context: decode splits the KV range across threads
    name: 'split KV, window 0',
    shape: { batch: 1, heads: 8, kvHeads: 1, headDim: 32, kvLen: 1100, rank: 32, ropeDim: 16 },
    prefillQLen: 37,
    params: { blockSize: 64, topK: 3, window: 0 },
  },
  {
    // the benchmark's layout: 4 heads a kv group (one query block reads each tile in place), headDim 128 (int4:
    // 4 scale groups a row), full 32-token tiles
    name: 'GQA 4, headDim 128',
    shape: { batch: 1, heads: 8, kvHeads: 2, headDim: 128, kvLen: 300, rank: 128, ropeDim: 32 },
    prefillQLen: 9,
    params: { blockSize: 64, topK: 2, window: 64 },
  },
  {
    // 2 heads a kv group (query blocks of 2), headDim 48 (three 16-value chunks of the opt-in int8 path), an odd
    // last tile (333 = 10·32 + 13: a single last token and a half-empty weight pair); mla with 4 heads reads its
    // ckv values in place too
    name: 'GQA 2, headDim 48, odd last tile',
    shape: { batch: 2, heads: 4, kvHeads: 2, headDim: 48, kvLen: 333, rank: 48, ropeDim: 16 },
    prefillQLen: 2,
    params: { blockSize: 32, topK: 2, window: 40 },
  },
];

const DTYPES = ['f32', 'bf16', 'f16'] as const;
const PHASES = ['decode', 'prefill'] as const;

function request(
  variant: string,
  phase: (typeof PHASES)[number],
  dtype: (typeof DTYPES)[number],
  c: Case,
): NativeKernelRequest {
  const shape = { ...c.shape, qLen: phase === 'decode' ? 1 : c.prefillQLen };
  return { variant, phase, dtype, shape, params: c.params };
}

function kvFormat(variant: string): keyof typeof DENSE_REL_L2 {
  const kv = variant.split('+').find((l) => l.startsWith('kv-'));
  return (kv as keyof typeof DENSE_REL_L2 | undefined) ?? 'none';
}

type Dtype = (typeof DTYPES)[number];

/** Every case × dtype of one lever set and phase, on peaked inputs, within tolerance(dtype) of referenceExact. */
function expectMatchesExact(
  variant: string,
  phase: (typeof PHASES)[number],
  cases: Case[],
  dtypes: readonly Dtype[],
  tolerance: (dtype: Dtype) => { atol: number; rtol: number },
): void {
  for (const c of cases)
    for (const dtype of dtypes) {
      const req = request(variant, phase, dtype, c);
      const inputs = syntheticInputs(req, 'peaked', 11);
      const out = runKernel(req, inputs);
      const ref = referenceOutput(req, inputs, 'exact');
      const { atol, rtol } = tolerance(dtype);
      const bad = firstMismatch(out, ref, atol, rtol);
      expect(bad, `${c.name}, ${dtype}: ${JSON.stringify(bad)}`).toBeNull();
    }
}

const savedIsa = process.env.ETOK_CPU_ISA;
afterAll(() => {
  if (savedIsa === undefined) delete process.env.ETOK_CPU_ISA;
  else process.env.ETOK_CPU_ISA = savedIsa;
});

/** Whether this machine and build run a vector path when ETOK_CPU_ISA asks for it. */
function runsIsa(isa: string): boolean {
  const saved = process.env.ETOK_CPU_ISA;
  process.env.ETOK_CPU_ISA = isa;
  try {
    return cpuKernelIsa() === isa;
  } catch {
    return false;
  } finally {
    if (saved === undefined) delete process.env.ETOK_CPU_ISA;
    else process.env.ETOK_CPU_ISA = saved;
  }
}

// The default path (AVX2 where the CPU has it), the portable one, and the opt-in AVX-512 one, which runs only where
// the CPU has AVX-512 (not on the development machine: bench/cpu-isa-check.mjs runs the same cases on GPU hosts).
for (const isa of ['native', 'portable', 'avx512'] as const) {
  const runs = isa !== 'avx512' || runsIsa('avx512');
  describe.runIf(runs)(`CPU kernels (${isa} path) match referenceExact`, () => {
    for (const variant of allVariants()) {
      for (const phase of PHASES) {
        it(`${variant} ${phase}`, () => {
          if (isa === 'native') delete process.env.ETOK_CPU_ISA;
          else process.env.ETOK_CPU_ISA = isa;
          // The portable path runs every lever set on the first two shapes, f32 and bf16, to stay quick.
          const cases = isa === 'portable' ? CASES.slice(0, 2) : CASES;
          const dtypes = isa === 'portable' ? DTYPES.slice(0, 2) : DTYPES;
          expectMatchesExact(variant, phase, cases, dtypes, (dtype) => EXACT_TOLERANCE[dtype]);
        });
      }
    }
  });
}

const savedInt8Dot = process.env.ETOK_CPU_INT8_DOT;
afterAll(() => {
  if (savedInt8Dot === undefined) delete process.env.ETOK_CPU_INT8_DOT;
  else process.env.ETOK_CPU_INT8_DOT = savedInt8Dot;
});

describe('opt-in int8 in integers (ETOK_CPU_INT8_DOT=1) matches referenceExact within its own bound', () => {
  // The integer path exists on the AVX2 path only (what the CPU could run, simd, may say avx512).
  delete process.env.ETOK_CPU_ISA;
  const avx2 = cpuKernelIsa() === 'avx2';
  for (const variant of allVariants().filter((v) => v.split('+').includes('kv-int8'))) {
    for (const phase of PHASES) {
      it(`${variant} ${phase}`, () => {
        delete process.env.ETOK_CPU_ISA;
        process.env.ETOK_CPU_INT8_DOT = '1';
        try {
          expectMatchesExact(variant, phase, CASES, DTYPES, (dtype) =>
            dtype === 'f32' ? INT8_DOT_F32_TOLERANCE : EXACT_TOLERANCE[dtype],
          );
        } finally {
          delete process.env.ETOK_CPU_INT8_DOT;
        }
      });
    }
  }

  it.runIf(avx2)('is taken on AVX2 and only when asked for: it rounds, the default path does not', () => {
    delete process.env.ETOK_CPU_ISA;
    const req = request('kv-int8', 'decode', 'f32', CASES[3]!);
    const inputs = syntheticInputs(req, 'uniform', 5);
    const ref = referenceOutput(req, inputs, 'exact');
    const exact = relativeL2(runKernel(req, inputs), ref);
    process.env.ETOK_CPU_INT8_DOT = '1';
    try {
      const rounded = relativeL2(runKernel(req, inputs), ref);
      expect(exact).toBeLessThan(1e-6);
      expect(rounded).toBeGreaterThan(2e-6);
      expect(rounded).toBeLessThan(1e-4);
    } finally {
      delete process.env.ETOK_CPU_INT8_DOT;
    }
  });
});

describe('quality against referenceDense', () => {
  // Without sparsity the only loss is the KV format: pin its size on uniform inputs so a broken quantizer shows.
  for (const variant of allVariants().filter((v) => !v.includes('sparse'))) {
    it(`${variant}: relative L2 within the ${kvFormat(variant)} budget`, () => {
      for (const phase of PHASES) {
        const req = request(variant, phase, 'f32', CASES[1]!);
        const inputs = syntheticInputs(req, 'uniform', 5);
        const err = relativeL2(runKernel(req, inputs), referenceOutput(req, inputs, 'dense'));
        expect(err).toBeLessThan(DENSE_REL_L2[kvFormat(variant)]);
        if (kvFormat(variant) !== 'none') expect(err).toBeGreaterThan(1e-5); // the quantization is really there
      }
    });
  }

  it('sparse selection differs from dense attention but agrees with its own reference', () => {
    const req = request('sparse', 'decode', 'f32', CASES[2]!);
    const inputs = syntheticInputs(req, 'uniform', 2);
    const out = runKernel(req, inputs);
    expect(relativeL2(out, referenceOutput(req, inputs, 'dense'))).toBeGreaterThan(1e-3);
    expect(relativeL2(out, referenceOutput(req, inputs, 'exact'))).toBeLessThan(1e-5);
  });

  it('single-threaded and multi-threaded runs agree bit for bit on decode without splits', () => {
    const req = request('mla+kv-int4', 'decode', 'bf16', CASES[1]!);
    const inputs = syntheticInputs(req, 'uniform', 9);
    const one = runKernel({ ...req, threads: 1 }, inputs);
    const two = runKernel({ ...req, threads: 2 }, inputs);
    expect(Buffer.from(one.buffer).equals(Buffer.from(two.buffer))).toBe(true);
  });
});
