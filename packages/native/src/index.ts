// @etok/native: what the rest of etok may use of the addon. The raw binding stays behind loadBinding().
export type * from './binding.js';
export { capabilities, listDevices, listMeters } from './discovery.js';
export {
  type ChildProblem,
  type ChildSession,
  EXECUTOR_PROTOCOL,
  ExecutorFailure,
  type SetupRequest,
  serveExecutor,
} from './executor-child.js';
export { IsolatedMeasureError, measureGroupIsolated } from './isolated.js';
export {
  cpuKernelIsa,
  cpuRoofline,
  referenceOutput,
  runKernel,
  selectBlocks,
  syntheticInputs,
  timeKernel,
} from './kernels.js';
export { AddonLoadError, loadBinding } from './load.js';
export { type MeasureHandle, measure, measureGroup } from './measure.js';
export { engineTimingDefaults, openMeter, windowTargetS } from './meters.js';
export { type PluginProbe, PluginProbeError, probePlugin } from './plugin-probe.js';
export { inspectPlugin, pluginCost } from './plugins.js';
export { PROFILE_INJECTION_FILE, probeProfileLibraries, profileInjectionLibrary } from './profile.js';
export {
  type ExecutorTimeouts,
  listPythonCallables,
  type PythonCallable,
  PythonFileError,
  type PythonListing,
  peerFile,
  pythonExecutor,
  pythonInterpreter,
  pythonPackageDir,
} from './python.js';
