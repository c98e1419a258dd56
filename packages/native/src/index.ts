// @etok/native: what the rest of etok may use of the addon. The raw binding stays behind loadBinding().
export type * from './binding.js';
export { capabilities, listDevices, listMeters } from './discovery.js';
export { referenceOutput, runKernel, syntheticInputs } from './kernels.js';
export { AddonLoadError, loadBinding } from './load.js';
export { type MeasureHandle, measure, measureGroup } from './measure.js';
