// The options of `etok bench` for peers and for users' ONNX models, in a module of their own with no heavy imports,
// so the bench command can declare them statically and load ONNX Runtime (protobufjs, onnxruntime-node) only when
// they are used.
import { EtokError } from '@etok/core';
import { type OptionSpec, type ParsedArgs, stringOption } from '../options.js';

export const ONNX_BENCH_OPTIONS: OptionSpec[] = [
  {
    name: 'peer',
    type: 'string',
    value: 'NAME',
    description:
      'also measure the best implementation of each lever set in peer families, in the same interleaved group: torch (PyTorch), onnx (ONNX Runtime); comma-separated',
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

export const PEER_FAMILIES = ['torch', 'onnx'] as const;
export type PeerFamily = (typeof PEER_FAMILIES)[number];

/** The peer families named by --peer (none when absent); an unknown one is bad usage. */
export function requestedPeers(args: ParsedArgs): PeerFamily[] {
  const text = stringOption(args, 'peer');
  if (text === undefined) return [];
  const families = text.split(',').map((s) => s.trim());
  for (const f of families)
    if (!(PEER_FAMILIES as readonly string[]).includes(f))
      throw new EtokError(
        'BAD_USAGE',
        `--peer '${f}' is not a peer family; families are: ${PEER_FAMILIES.join(', ')}`,
      );
  return [...new Set(families)] as PeerFamily[];
}
