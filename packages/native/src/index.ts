// @etok/native: what the rest of etok may use of the addon. The raw binding stays behind loadBinding().
export type * from './binding.js';
export { AddonLoadError, loadBinding } from './load.js';
export { runKernel, referenceOutput, syntheticInputs } from './kernels.js';
export { listDevices, listMeters, capabilities } from './discovery.js';
export { measure, type MeasureHandle } from './measure.js';
