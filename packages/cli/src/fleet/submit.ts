// `etok fleet submit`: plan the sweep, slice it into tasks, check the cluster and the shared directory, write the
// task script and the manifest, and queue one Slurm array per target (`--dry-run` prints the script, `--emit k8s`
// the Kubernetes manifest; neither touches the directory or the cluster).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtokError } from '@etok/core';
import { spec as benchSpec } from '../bench/options.js';
import { requestFromArgs } from '../bench/request.js';
import type { CommandIo } from '../io.js';
import {
  choiceOption,
  flag,
  listOption,
  type OptionSpec,
  type ParsedArgs,
  parsePositiveInt,
  stringOption,
} from '../options.js';
import { toolVersion } from '../provenance.js';
import { taskScript } from './batch-script.js';
import { k8sManifest } from './k8s.js';
import {
  type FleetManifest,
  type FleetTask,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_ID,
  manifestPath,
  SCRIPT_FILE,
  writeManifest,
} from './manifest.js';
import { SLICE_MODES, sliceFlags, sliceSweep } from './slices.js';
import { arraySpec, listNodes, listPartitions, requireSlurmCommand, sbatch } from './slurm.js';

/**
 * Bench options a fleet passes through to every task; `--device` becomes a list and `--out` is the fleet's.
 * `--plugin` is left out: a user's kernel is a library path on one host, and its variant names are only known
 * once the addon has loaded it; a fleet of plugins is not supported.
 */
export const PASSTHROUGH_OPTIONS: OptionSpec[] = benchSpec.options.filter(
  (o) => o.name !== 'out' && o.name !== 'device' && o.name !== 'plugin',
);

/** Axis flags are rewritten per slice; the rest of the bench flags go to every task unchanged. */
const AXIS_OPTIONS = new Set([
  'variants',
  'levers',
  'phase',
  'dtype',
  'batch',
  'ctx',
  'q-len',
  'heads',
  'kv-heads',
  'head-dim',
]);

function passthroughFlags(args: ParsedArgs): string[] {
  const out: string[] = [];
  for (const o of PASSTHROUGH_OPTIONS) {
    if (AXIS_OPTIONS.has(o.name)) continue;
    const v = args.values[o.name];
    if (o.type === 'boolean') {
      if (v === true) out.push(`--${o.name}`);
    } else if (Array.isArray(v)) {
      for (const item of v) out.push(`--${o.name}`, item);
    } else {
      const s = stringOption(args, o.name);
      if (s !== undefined) out.push(`--${o.name}`, s);
    }
  }
  return out;
}

function defaultEtokCommand(): string[] {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'etok.mjs');
  return [process.execPath, bin];
}

const DEVICE = /^(cpu|cuda:\d+)$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SLURM_TIME = /^(\d+-)?\d+(:\d{2}){0,2}$/;

/** The shared directory must exist (or be creatable), be a directory, take a file, and hold no fleet yet. */
function prepareDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new EtokError('BAD_USAGE', `--dir ${dir} is not a directory`);
  if (existsSync(manifestPath(dir)))
    throw new EtokError(
      'BAD_USAGE',
      `--dir ${dir} already holds a fleet (${MANIFEST_FILE}); use 'etok fleet resubmit --dir ${dir}' or another directory`,
    );
  const probe = join(dir, `.etok-write-test-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new EtokError(
      'BAD_USAGE',
      `--dir ${dir} is not a writable directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

export async function submit(args: ParsedArgs, io: CommandIo, dir: string): Promise<number> {
  const emit = stringOption(args, 'emit');
  if (emit !== undefined && emit !== 'k8s')
    throw new EtokError('BAD_USAGE', `--emit '${emit}' is not supported; the only format is k8s`);
  const partition = stringOption(args, 'partition');
  if (partition !== undefined && !NODE_NAME.test(partition))
    throw new EtokError('BAD_USAGE', `--partition '${partition}' is not a partition name`);
  const nodes = listOption(args, 'nodes');
  for (const n of nodes ?? [])
    if (!NODE_NAME.test(n)) throw new EtokError('BAD_USAGE', `--nodes: '${n}' is not a node name`);
  if (nodes && new Set(nodes).size !== nodes.length)
    throw new EtokError('BAD_USAGE', `--nodes '${nodes.join(',')}' names a node twice`);
  const gpus = stringOption(args, 'gpus-per-task');
  const gpusPerTask = gpus !== undefined ? parsePositiveInt('gpus-per-task', gpus) : undefined;
  const cpus = stringOption(args, 'cpus-per-task');
  const cpusPerTask = cpus !== undefined ? parsePositiveInt('cpus-per-task', cpus) : undefined;
  const maxPar = stringOption(args, 'max-parallel');
  const maxParallel = maxPar !== undefined ? parsePositiveInt('max-parallel', maxPar) : undefined;
  const time = stringOption(args, 'time');
  if (time !== undefined && !SLURM_TIME.test(time))
    throw new EtokError('BAD_USAGE', `--time '${time}' is not a Slurm time limit (MM, HH:MM:SS or D-HH:MM)`);
  const jobName = stringOption(args, 'job-name') ?? 'etok-fleet';
  if (!NODE_NAME.test(jobName))
    throw new EtokError('BAD_USAGE', `--job-name '${jobName}' is not a plain name`);
  const devices = listOption(args, 'device') ?? [gpusPerTask ? 'cuda:0' : 'cpu'];
  for (const d of devices)
    if (!DEVICE.test(d)) throw new EtokError('BAD_USAGE', `--device '${d}' is not cpu or cuda:N`);
  if (gpusPerTask)
    for (const d of devices)
      if (d.startsWith('cuda:') && Number(d.slice(5)) >= gpusPerTask)
        throw new EtokError(
          'BAD_USAGE',
          `--device ${d} is not among the ${gpusPerTask} GPU(s) a task gets (cuda:0…cuda:${gpusPerTask - 1})`,
        );
  const mode = choiceOption(args, 'slice', SLICE_MODES) ?? 'shape';
  const etokCommandText = stringOption(args, 'etok-command');
  const etokCommand = etokCommandText
    ? etokCommandText.trim().split(/\s+/)
    : emit === 'k8s'
      ? ['etok']
      : defaultEtokCommand();

  const request = requestFromArgs(args);
  const { slices, configCount } = sliceSweep({ ...request, device: devices[0]! }, mode);
  const common = passthroughFlags(args);
  const tasks: FleetTask[] = [];
  for (const node of nodes ?? [null])
    for (const device of devices)
      for (const s of slices)
        tasks.push({
          id: tasks.length,
          slice: s.index,
          node,
          device,
          args: ['--device', device, ...common, ...sliceFlags(s.axes)],
          configIds: s.configIds,
        });

  const createdAt = new Date().toISOString();
  const script = taskScript({
    dir,
    toolVersion: toolVersion(),
    createdAt,
    etokCommand,
    jobName,
    ...(partition ? { partition } : {}),
    ...(gpusPerTask ? { gpusPerTask } : {}),
    ...(cpusPerTask ? { cpusPerTask } : {}),
    ...(time ? { time } : {}),
    tasks,
  });
  const summary = `etok fleet: ${configCount} configuration(s) in ${slices.length} slice(s) × ${devices.length} device(s) × ${nodes?.length ?? 1} target(s) = ${tasks.length} task(s)`;

  const manifest: FleetManifest = {
    schema: MANIFEST_SCHEMA_ID,
    createdAt,
    tool: { name: 'etok', version: toolVersion() },
    scheduler: emit === 'k8s' ? 'kubernetes' : 'slurm',
    dir,
    command: ['etok', 'fleet', ...process.argv.slice(3)],
    partition: partition ?? null,
    nodes: nodes ?? null,
    gpusPerTask: gpusPerTask ?? null,
    sliceMode: mode,
    script: SCRIPT_FILE,
    configCount,
    tasks,
    submissions: [],
  };

  if (emit === 'k8s') {
    io.stdout.write(
      k8sManifest({
        name: jobName,
        dir,
        script,
        image: stringOption(args, 'image') ?? 'etok:latest',
        pvc: stringOption(args, 'pvc') ?? 'etok-results',
        manifest: `${JSON.stringify(manifest, null, 2)}\n`,
        ...(gpusPerTask ? { gpusPerTask } : {}),
        ...(maxParallel ? { parallelism: maxParallel } : {}),
        tasks,
      }),
    );
    io.stderr.write(`${summary}; Kubernetes manifest on stdout (kubectl apply -f -)\n`);
    return 0;
  }
  if (flag(args, 'dry-run')) {
    io.stdout.write(script);
    const arrays = (nodes ?? [null]).map((node) => {
      const ids = tasks.filter((t) => t.node === node).map((t) => t.id);
      return `sbatch --parsable --array=${arraySpec(ids, maxParallel)}${node ? ` --nodelist=${node}` : ''} ${join(dir, SCRIPT_FILE)}`;
    });
    io.stderr.write(
      `${summary}; dry run, nothing submitted. Would run:\n${arrays.map((a) => `  ${a}`).join('\n')}\n`,
    );
    return 0;
  }

  // Bad input before anything is written: no Slurm here, an unknown partition or node, a directory we cannot use.
  requireSlurmCommand('sbatch');
  requireSlurmCommand('sinfo');
  if (partition !== undefined) {
    const known = listPartitions();
    if (!known.includes(partition))
      throw new EtokError(
        'BAD_USAGE',
        `partition '${partition}' does not exist on this cluster; partitions: ${known.join(', ') || 'none'}`,
      );
  }
  if (nodes) {
    const known = listNodes();
    const unknown = nodes.filter((n) => !known.includes(n));
    if (unknown.length > 0)
      throw new EtokError(
        'BAD_USAGE',
        `node(s) ${unknown.join(', ')} not known to Slurm; nodes: ${known.join(', ') || 'none'}`,
      );
  }
  prepareDir(dir);

  mkdirSync(join(dir, 'logs'), { recursive: true });
  const scriptPath = join(dir, SCRIPT_FILE);
  writeFileSync(scriptPath, script, { mode: 0o755 });
  writeManifest(dir, manifest);
  for (const node of nodes ?? [null]) {
    const ids = tasks.filter((t) => t.node === node).map((t) => t.id);
    const jobId = sbatch(scriptPath, arraySpec(ids, maxParallel), node, dir);
    manifest.submissions.push({
      jobId,
      arrayIndices: ids,
      node,
      submittedAt: new Date().toISOString(),
      kind: 'submit',
    });
    writeManifest(dir, manifest);
  }
  const jobs = manifest.submissions.map((s) => (s.node ? `${s.jobId} (${s.node})` : s.jobId)).join(', ');
  if (flag(args, 'json'))
    io.stdout.write(
      `${JSON.stringify({ dir, jobs: manifest.submissions, tasks: tasks.length, slices: slices.length, configs: configCount }, null, 2)}\n`,
    );
  else {
    io.stderr.write(`${summary}\n`);
    io.stdout.write(`submitted job ${jobs}; follow with: etok fleet status --dir ${dir}\n`);
  }
  return 0;
}
