// The addon loads everywhere and says why CUDA is or is not usable; runKernel rejects bad input by field.
import { describe, expect, it } from 'vitest';
import {
  capabilities,
  cpuKernelIsa,
  cpuRoofline,
  listDevices,
  listMeters,
  referenceOutput,
  runKernel,
  syntheticInputs,
} from '../src/index.js';

describe('addon discovery', () => {
  it('reports the CPU with cores and SIMD level', () => {
    const cpu = listDevices().find((d) => d.id === 'cpu');
    expect(cpu).toBeDefined();
    expect(cpu!.kind).toBe('cpu');
    if (cpu!.kind === 'cpu') {
      expect(cpu!.cores).toBeGreaterThan(0);
      expect(['avx512', 'avx2', 'sse4.2', 'neon', 'portable']).toContain(cpu!.simd);
    }
  });

  it('explains a missing CUDA device instead of failing', () => {
    const caps = capabilities();
    const gpus = listDevices().filter((d) => d.kind === 'cuda');
    if (gpus.length === 0) expect(caps.cudaRuntimeReason).toMatch(/no CUDA device/);
    if (!caps.cuda) expect(caps.cudaReason).not.toBe('');
    // The CUDA runtime calls a machine without any driver "driver version is insufficient"; etok says which it is.
    if (caps.cuda && gpus.length === 0) expect(caps.cudaRuntimeReason).not.toMatch(/insufficient/);
  });

  it('lists every meter kind, with a reason for each unavailable one', () => {
    const meters = listMeters();
    expect(meters.map((m) => m.kind).sort()).toEqual(['model', 'nvml', 'rapl']);
    for (const m of meters) if (!m.available) expect(m.reason).toBeTruthy();
    expect(meters.find((m) => m.kind === 'model')!.available).toBe(true);
  });
});

describe('runKernel', () => {
  const request = {
    variant: 'dense',
    phase: 'decode' as const,
    shape: { batch: 2, heads: 4, kvHeads: 2, headDim: 16, kvLen: 77 },
  };

  it('matches the fp64 reference for dense GQA decode', () => {
    const inputs = syntheticInputs(request, 'uniform', 7);
    const out = runKernel(request, inputs);
    const ref = referenceOutput(request, inputs, 'exact');
    expect(out.length).toBe(2 * 4 * 16);
    let num = 0;
    let den = 0;
    for (let i = 0; i < out.length; i++) {
      num += (out[i]! - ref[i]!) ** 2;
      den += ref[i]! ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
  });

  it('names the field of a shape that does not divide', () => {
    const bad = { ...request, shape: { ...request.shape, heads: 5 } };
    expect(() => runKernel(bad, syntheticInputs(request, 'uniform', 1))).toThrow(/kvHeads/);
    let caught: unknown;
    try {
      runKernel(bad, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({ code: 'BAD_SHAPE', field: 'kvHeads' });
  });

  it('a backend error reaches JS with its code as `code`, not as a prefix of its message', () => {
    // A device past the last one: a build without CUDA says CUDA_NOT_COMPILED, a machine without a driver
    // CUDA_ERROR (from the runtime), a machine with GPUs BAD_SHAPE naming the device.
    const gpus = listDevices().filter((d) => d.kind === 'cuda').length;
    const onCuda = { ...request, device: `cuda:${gpus}` };
    let caught: unknown;
    try {
      runKernel(onCuda, syntheticInputs(request, 'uniform', 1));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    const { code, message } = caught as Error & { code?: string };
    const expected = !capabilities().cuda
      ? ['CUDA_NOT_COMPILED']
      : gpus === 0
        ? ['CUDA_ERROR', 'BAD_SHAPE']
        : ['BAD_SHAPE'];
    expect(expected).toContain(code);
    expect(message).not.toMatch(/^[A-Z_]+: /);
  });

  it('names an input of the wrong length', () => {
    const inputs = syntheticInputs(request, 'uniform', 1);
    inputs.k = new Float32Array(3);
    expect(() => runKernel(request, inputs)).toThrow(/input 'k' has 3 elements/);
  });
});

describe("the CPU kernels' vector path (ETOK_CPU_ISA)", () => {
  const request = {
    variant: 'dense',
    phase: 'decode' as const,
    shape: { batch: 1, heads: 2, kvHeads: 1, headDim: 16, kvLen: 40 },
  };
  const withIsa = <T>(isa: string | undefined, body: () => T): T => {
    const saved = process.env.ETOK_CPU_ISA;
    if (isa === undefined) delete process.env.ETOK_CPU_ISA;
    else process.env.ETOK_CPU_ISA = isa;
    try {
      return body();
    } finally {
      if (saved === undefined) delete process.env.ETOK_CPU_ISA;
      else process.env.ETOK_CPU_ISA = saved;
    }
  };

  it('is AVX2 where the CPU has it and portable otherwise, unless chosen; AVX-512 only when asked for', () => {
    const cpu = listDevices().find((d) => d.id === 'cpu');
    const simd = cpu?.kind === 'cpu' ? cpu.simd : 'portable';
    const byDefault = withIsa(undefined, cpuKernelIsa);
    expect(byDefault).toBe(simd === 'avx2' || simd === 'avx512' ? 'avx2' : 'portable');
    expect(withIsa('portable', cpuKernelIsa)).toBe('portable');
  });

  it('names a value it does not know, or one this CPU cannot run, as bad usage', () => {
    for (const [isa, message] of [
      ['avx3', /ETOK_CPU_ISA='avx3' is not one of portable, avx2, avx512/],
      ...(withIsa(undefined, cpuKernelIsa) === 'portable'
        ? [['avx2', /ETOK_CPU_ISA=avx2, but this CPU lacks AVX2/] as const]
        : []),
    ] as const) {
      const inputs = syntheticInputs(request, 'uniform', 1);
      let caught: unknown;
      withIsa(isa, () => {
        try {
          runKernel(request, inputs);
        } catch (error) {
          caught = error;
        }
      });
      expect((caught as Error | undefined)?.message).toMatch(message);
      expect((caught as { code?: string }).code).toBe('BAD_USAGE');
    }
    // The roofline's FMA probe runs the kernels' path too: the same error, not a crash of the process.
    expect(() => withIsa('avx3', () => cpuRoofline({ seconds: 0.01, bufferBytes: 1 << 20 }))).toThrow(
      /ETOK_CPU_ISA='avx3'/,
    );
  });
});
