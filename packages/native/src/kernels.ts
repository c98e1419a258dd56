// runKernel (docs/spec.md §3): synchronous, for validation and tests. Errors carry `code` (BAD_SHAPE, …) and `field`.
import type { NativeCpuRoofline, NativeInputs, NativeKernelRequest, NativeKernelTiming } from './binding.js';
import { loadBinding } from './load.js';

export function runKernel(request: NativeKernelRequest, inputs: NativeInputs): Float32Array {
  return loadBinding().runKernel(request, inputs);
}

/** The fp64 reference of the variant itself (`exact`) or of dense attention on the same inputs (`dense`). */
export function referenceOutput(
  request: NativeKernelRequest,
  inputs: NativeInputs,
  which: 'exact' | 'dense',
): Float64Array {
  return loadBinding().reference(request, inputs, which);
}

/** The seeded synthetic inputs the harness measures on. */
export function syntheticInputs(
  request: NativeKernelRequest,
  profile: 'uniform' | 'peaked',
  seed: number,
): NativeInputs {
  return loadBinding().syntheticInputs(request, profile, seed);
}

/** The fp64 reference's NSA-style block selection per (batch, kv group, query row), ascending (sparse lever). */
export function selectBlocks(request: NativeKernelRequest, inputs: NativeInputs): number[][] {
  return loadBinding().selectBlocks(request, inputs);
}

/** Prepares once, warms up once, then times `iterations` run() calls (and at least minTimeS). For benchmarks. */
export function timeKernel(
  request: NativeKernelRequest,
  inputs: NativeInputs,
  options: { iterations?: number; minTimeS?: number } = {},
): NativeKernelTiming {
  return loadBinding().timeKernel(request, inputs, options);
}

/** Sustained read bandwidth and FMA peak of this CPU, measured now (roofline of the CPU benchmark). */
/** The vector path the CPU kernels run in this process: "avx2" where the CPU has it, else "portable"; the
 *  environment variable ETOK_CPU_ISA (portable, avx2, avx512) chooses, and a value this CPU cannot run throws. */
export function cpuKernelIsa(): 'avx512' | 'avx2' | 'portable' {
  return loadBinding().cpuKernelIsa();
}

export function cpuRoofline(
  options: { threads?: number; seconds?: number; bufferBytes?: number } = {},
): NativeCpuRoofline {
  return loadBinding().cpuRoofline(options);
}
