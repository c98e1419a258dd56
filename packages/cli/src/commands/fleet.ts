// `etok fleet`: a bench sweep run across the nodes of a cluster through the scheduler it already has (Slurm job
// arrays; a Kubernetes Indexed Job equivalent is printed by --emit k8s), then collected into one results file per
// device model for `etok compare` and `etok report`. Subcommands: submit, status, resubmit, collect.
import { resolve } from 'node:path';
import { EtokError } from '@etok/core';
import { collect } from '../fleet/collect.js';
import { SLICE_MODES } from '../fleet/slices.js';
import { resubmit, status } from '../fleet/status.js';
import { PASSTHROUGH_OPTIONS, submit } from '../fleet/submit.js';
import type { CommandIo } from '../io.js';
import { type CommandSpec, type OptionSpec, type ParsedArgs, stringOption } from '../options.js';

const FLEET_OPTIONS: OptionSpec[] = [
  {
    name: 'dir',
    type: 'string',
    value: 'DIR',
    description: 'shared directory every node can write: task files, manifest, script, logs',
  },
  {
    name: 'partition',
    type: 'string',
    value: 'P',
    description: 'Slurm partition (default: the cluster default)',
  },
  {
    name: 'nodes',
    type: 'string',
    value: 'LIST',
    description: 'run every slice on each of these nodes (one array per node, pinned with --nodelist)',
  },
  {
    name: 'device',
    type: 'string',
    value: 'LIST',
    description:
      'devices each node measures, as the task sees them (default: cuda:0 with --gpus-per-task, else cpu)',
  },
  {
    name: 'gpus-per-task',
    type: 'string',
    value: 'N',
    description: 'GPUs each task asks for (--gres=gpu:N)',
  },
  { name: 'cpus-per-task', type: 'string', value: 'N', description: 'CPUs each task asks for' },
  { name: 'time', type: 'string', value: 'LIMIT', description: 'Slurm time limit per task, e.g. 00:30:00' },
  { name: 'max-parallel', type: 'string', value: 'N', description: 'at most N tasks at once (--array …%N)' },
  {
    name: 'slice',
    type: 'string',
    value: 'MODE',
    default: 'shape',
    description: `one task per: ${SLICE_MODES.join(' or ')} (shape keeps a shape's lever sets interleaved)`,
  },
  { name: 'job-name', type: 'string', value: 'NAME', default: 'etok-fleet', description: 'Slurm job name' },
  {
    name: 'etok-command',
    type: 'string',
    value: 'CMD',
    description:
      'how a task starts etok (default: this node and etok, by absolute path; `etok` with --emit k8s)',
  },
  {
    name: 'dry-run',
    type: 'boolean',
    description: 'print the batch script (or what resubmit would run); change nothing',
  },
  {
    name: 'emit',
    type: 'string',
    value: 'k8s',
    description: 'print the Kubernetes Indexed Job equivalent instead',
  },
  {
    name: 'image',
    type: 'string',
    value: 'IMAGE',
    default: 'etok:latest',
    description: 'k8s: container image',
  },
  {
    name: 'pvc',
    type: 'string',
    value: 'NAME',
    default: 'etok-results',
    description: 'k8s: ReadWriteMany claim mounted at --dir',
  },
  {
    name: 'out',
    type: 'string',
    value: 'DIR',
    description: 'collect: where the merged files go (default: DIR/merged), one per device model',
  },
];

export const spec: CommandSpec = {
  name: 'fleet',
  summary: 'run a bench sweep across cluster nodes (Slurm job arrays) and collect it',
  usage: [
    'etok fleet submit --dir SHARED_DIR [--partition P | --nodes LIST] [--gpus-per-task N] [bench options…] [--dry-run] [--emit k8s]',
    '       etok fleet status --dir DIR',
    '       etok fleet resubmit --dir DIR [--dry-run]',
    '       etok fleet collect --dir DIR [--out MERGED_DIR]',
  ].join('\n'),
  options: [...FLEET_OPTIONS, ...PASSTHROUGH_OPTIONS],
  details: [
    'submit splits the sweep (lever sets × shapes × devices × nodes) into tasks of one Slurm job array; each task',
    'runs `etok bench` on its slice and writes DIR/task-<id>.json with the job, array task and node in its',
    'provenance. status reads squeue/sacct and the directory; resubmit reruns only failed, pre-empted or missing',
    'tasks; collect validates the task files and writes one etok.results/v1 file per device model for',
    '`etok compare` and `etok report`. Exit: 0 ok, 1 a failed task or job, 2 bad usage. See docs/fleet.md.',
    'Example: etok fleet submit --partition gpu --gpus-per-task 1 --dir /shared/etok --suite quick',
  ].join('\n'),
};

export const SUBCOMMANDS = ['submit', 'status', 'resubmit', 'collect'] as const;

/** The fleet directory: --dir, or the positional after the subcommand (`etok fleet collect DIR`). */
export function fleetDir(args: ParsedArgs, io: CommandIo): string {
  const dir = stringOption(args, 'dir') ?? args.positionals[1];
  if (!dir) throw new EtokError('BAD_USAGE', `etok fleet ${args.positionals[0]} needs --dir DIR`);
  if (stringOption(args, 'dir') !== undefined && args.positionals.length > 1)
    throw new EtokError('BAD_USAGE', `unexpected argument '${args.positionals[1]}' (the directory is --dir)`);
  if (args.positionals.length > 2)
    throw new EtokError('BAD_USAGE', `unexpected argument '${args.positionals[2]}'`);
  return resolve(io.cwd, dir);
}

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const sub = args.positionals[0];
  if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub))
    throw new EtokError(
      'BAD_USAGE',
      `${sub ? `unknown fleet subcommand '${sub}'` : 'etok fleet needs a subcommand'}; use one of ${SUBCOMMANDS.join(', ')} (see 'etok fleet --help')`,
    );
  const dir = fleetDir(args, io);
  switch (sub) {
    case 'submit':
      return submit(args, io, dir);
    case 'status':
      return status(args, io, dir);
    case 'resubmit':
      return resubmit(args, io, dir);
    default:
      return collect(args, io, dir);
  }
}
