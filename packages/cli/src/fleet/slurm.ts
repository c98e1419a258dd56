// Talking to Slurm through its own commands (sbatch, sinfo, squeue, sacct), and reading what they print. The
// parsers are pure and exported for tests; the runners are thin wrappers over spawnSync with bounded time.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EtokError } from '@etok/core';

/** What one Slurm command printed about one array task. */
export interface QueueRecord {
  state: string;
  node: string;
  reason: string;
  exitCode?: string;
}

const TIMEOUT_MS = 60_000;

export function onPath(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Fails with one line when a Slurm command is not installed here. */
export function requireSlurmCommand(command: string): void {
  if (!onPath(command))
    throw new EtokError(
      'BAD_USAGE',
      `${command} is not on PATH: run etok fleet on a Slurm login node (or use --dry-run / --emit k8s to print what would be submitted)`,
    );
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCommand(command: string, args: string[]): CommandResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') requireSlurmCommand(command);
    throw new EtokError('MEASUREMENT_FAILED', `${command} did not run: ${r.error.message}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** `0-3,5,7-9`: Slurm's array index syntax for a set of indices, with an optional `%N` throttle. */
export function arraySpec(indices: number[], maxParallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (const i of [...sorted.slice(1), Number.NaN]) {
    if (i === prev + 1) {
      prev = i;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = i;
    prev = i;
  }
  return `${parts.join(',')}${maxParallel ? `%${maxParallel}` : ''}`;
}

/** Expands `12_3`, `12_[4-7,9%2]` or `12` into the array job id and its task indices. */
export function parseArrayJobId(text: string): { jobId: string; indices: number[] } | undefined {
  const m = /^(\d+)(?:_(\d+|\[([^\]]*)\]))?(?:\+\d+)?$/.exec(text.trim());
  if (!m) return undefined;
  if (m[2] === undefined) return { jobId: m[1]!, indices: [] };
  if (m[3] === undefined) return { jobId: m[1]!, indices: [Number(m[2])] };
  const indices: number[] = [];
  for (const part of m[3].replace(/%\d+$/, '').split(',')) {
    const r = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part);
    if (!r) continue;
    const lo = Number(r[1]);
    const hi = r[2] !== undefined ? Number(r[2]) : lo;
    const step = r[3] !== undefined ? Number(r[3]) : 1;
    for (let i = lo; i <= hi; i += step) indices.push(i);
  }
  return { jobId: m[1]!, indices };
}

/** Lines of `squeue -h -r -t all -o %i|%T|%N|%r` or `sacct -n -P -X -o JobID,State,ExitCode,NodeList`. */
export function parseQueueLines(text: string, kind: 'squeue' | 'sacct'): Map<string, QueueRecord> {
  const out = new Map<string, QueueRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    const id = parseArrayJobId(f[0] ?? '');
    if (!id) continue;
    // sacct writes `CANCELLED by 1000`; the first word is the state.
    const state = (f[1] ?? '').trim().split(/\s+/)[0]!.toUpperCase();
    const record: QueueRecord =
      kind === 'squeue'
        ? { state, node: f[2] ?? '', reason: f[3] ?? '' }
        : { state, node: f[3] ?? '', reason: '', exitCode: f[2] ?? '' };
    for (const i of id.indices) out.set(`${id.jobId}_${i}`, record);
  }
  return out;
}

export function listPartitions(): string[] {
  const r = runCommand('sinfo', ['-h', '-o', '%R']);
  if (r.status !== 0)
    throw new EtokError('MEASUREMENT_FAILED', `sinfo failed: ${firstLine(r.stderr) || `exit ${r.status}`}`);
  return [
    ...new Set(
      r.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

export function listNodes(): string[] {
  const r = runCommand('sinfo', ['-h', '-N', '-o', '%N']);
  if (r.status !== 0)
    throw new EtokError('MEASUREMENT_FAILED', `sinfo failed: ${firstLine(r.stderr) || `exit ${r.status}`}`);
  return [
    ...new Set(
      r.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** Submits the script as an array; returns the array job id. */
export function sbatch(script: string, array: string, node: string | null, dir: string): string {
  const args = ['--parsable', `--array=${array}`, ...(node ? [`--nodelist=${node}`] : []), script];
  const r = runCommand('sbatch', args);
  if (r.status !== 0)
    throw new EtokError(
      'MEASUREMENT_FAILED',
      `sbatch refused the fleet job (${firstLine(r.stderr) || `exit ${r.status}`}); nothing was queued for ${node ?? dir}`,
    );
  const jobId = firstLine(r.stdout).split(';')[0]!;
  if (!/^\d+$/.test(jobId))
    throw new EtokError('MEASUREMENT_FAILED', `sbatch printed '${firstLine(r.stdout)}', not a job id`);
  return jobId;
}

/**
 * What squeue knows about these jobs (pending, running, and finished jobs still in the controller's memory).
 * A job id squeue has forgotten makes it fail for the whole list, so it is asked again one job at a time.
 */
export function queueRecords(jobIds: string[]): { records: Map<string, QueueRecord>; note?: string } {
  const ask = (ids: string[]) =>
    runCommand('squeue', ['-h', '-r', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%N|%r']);
  const all = ask(jobIds);
  if (all.status === 0) return { records: parseQueueLines(all.stdout, 'squeue') };
  const merged = new Map<string, QueueRecord>();
  let failure: string | undefined;
  for (const id of jobIds) {
    const one = ask([id]);
    if (one.status === 0) for (const [k, v] of parseQueueLines(one.stdout, 'squeue')) merged.set(k, v);
    // A forgotten job id is normal; anything else (no controller) is worth saying.
    else if (!/invalid job id/i.test(one.stderr)) failure = firstLine(one.stderr) || `exit ${one.status}`;
  }
  return {
    records: merged,
    ...(failure ? { note: failure.startsWith('squeue:') ? failure : `squeue: ${failure}` } : {}),
  };
}

/** sacct's view, or why it has none (no accounting database is common on small clusters). */
export function accountingRecords(jobIds: string[]): { records: Map<string, QueueRecord>; note?: string } {
  if (!onPath('sacct')) return { records: new Map(), note: 'sacct is not on PATH' };
  const r = runCommand('sacct', [
    '-n',
    '-P',
    '-X',
    '-j',
    jobIds.join(','),
    '-o',
    'JobID,State,ExitCode,NodeList',
  ]);
  if (r.status !== 0) {
    const why = firstLine(r.stderr || r.stdout) || `exit ${r.status}`;
    return { records: new Map(), note: why.startsWith('sacct:') ? why : `sacct: ${why}` };
  }
  return { records: parseQueueLines(r.stdout, 'sacct') };
}
