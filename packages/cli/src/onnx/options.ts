// The options `etok bench` gains for ONNX Runtime (issue 9), in a module of their own with no heavy imports, so
// bench.ts can declare them statically and load bench-hook.ts (protobufjs, onnxruntime-node) only when used.
import { EtokError } from '@etok/core';
import { type OptionSpec, type ParsedArgs, stringOption } from '../options.js';

export const ONNX_BENCH_OPTIONS: OptionSpec[] = [
  {
    name: 'peer',
    type: 'string',
    value: 'NAME',
    description: 'also measure each configuration through a peer runtime and print both: onnx (ONNX Runtime)',
  },
  {
    name: 'onnx',
    type: 'string',
    value: 'FILE',
    description: "measure a user's ONNX model instead of etok's kernels",
  },
  {
    name: 'tokens-per-run',
    type: 'string',
    value: 'N',
    description: 'with --onnx: tokens one run of the model produces (J/token = J/run ÷ N)',
  },
  {
    name: 'input',
    type: 'string',
    value: 'NAME=SHAPE|FILE',
    multiple: true,
    description: 'with --onnx: shape of an input (x=1x128x64, random data) or its data (x=x.npy); repeatable',
  },
];

/** The peer named by --peer, or null; anything but `onnx` is bad usage. */
export function requestedPeer(args: ParsedArgs): 'onnx' | null {
  const peer = stringOption(args, 'peer');
  if (peer === undefined) return null;
  if (peer !== 'onnx')
    throw new EtokError('BAD_USAGE', `--peer '${peer}' is not a known peer; peers are: onnx`);
  return 'onnx';
}
