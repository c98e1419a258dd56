// runKernel (SPEC §3): synchronous, for validation and tests. Errors carry `code` (BAD_SHAPE, …) and `field`.
import type { NativeInputs, NativeKernelRequest } from './binding.js';
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
