// @etok/kernels/onnx: ONNX graphs of etok's attention variants and the KV quantizers they read.
// A subpath of its own so that loading @etok/kernels does not load protobufjs.
export * from './attention.js';
export * from './gqa.js';
export * from './graph.js';
export * from './quantize.js';
