// ONNX Runtime in etok (issue 9): the peer (`etok bench --peer onnx`) and users' own models (`etok bench --onnx`).
// Loaded by the bench command only when those options are given, so plain runs never load onnxruntime-node.

export { runOnnxModelCommand, runPeerMeasurements } from './bench-hook.js';
export { type MeasureRunsOptions, measureRuns, type RunOnce } from './measure-runs.js';
export {
  benchOnnxModel,
  type OnnxModelBenchOptions,
  type OnnxModelBenchResult,
  parseInputSpecs,
} from './model-runner.js';
export { encodeNpy, type NpyArray, parseNpy } from './npy.js';
export { ONNX_BENCH_OPTIONS, requestedPeer } from './options.js';
export { createSession, loadOrt, type OrtSession } from './ort.js';
export {
  type OnnxPeerOptions,
  type OnnxPeerResult,
  type PeerForm,
  peerComparison,
  peerGraph,
  runOnnxPeer,
} from './peer.js';
