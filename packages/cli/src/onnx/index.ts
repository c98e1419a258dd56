// ONNX Runtime in etok: users' own models (`etok bench --onnx`) and the peer (`etok bench --peer onnx`), both run
// by the ONNX Runtime executor in a child process. Loaded by the bench command only when those options are given.

export { runOnnxModelCommand } from './bench-hook.js';
export { ortExecutor } from './executor-spec.js';
export {
  benchOnnxModel,
  type OnnxModelBenchOptions,
  type OnnxModelBenchResult,
} from './model-bench.js';
export { parseInputSpecs } from './model-inputs.js';
export { encodeNpy, type NpyArray, parseNpy } from './npy.js';
export { ONNX_BENCH_OPTIONS, requestedPeers } from './options.js';
export { createSession, loadOrt, type OrtSession } from './ort.js';
export { onnxPeerFor, type PeerForm, peerGraph } from './peer.js';
