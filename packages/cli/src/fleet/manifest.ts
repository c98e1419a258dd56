// The fleet manifest (`etok-fleet.json` in the shared directory): what `etok fleet submit` planned and submitted,
// so that `status`, `resubmit` and `collect` know every task, its slice, its node and the Slurm jobs that ran it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtokError } from '@etok/core';
import { writeJsonAtomic } from '../output/results-writer.js';

export const MANIFEST_SCHEMA_ID = 'etok.fleet/v1';
export const MANIFEST_FILE = 'etok-fleet.json';
export const SCRIPT_FILE = 'fleet-job.sh';

export interface FleetTask {
  /** Global task id = Slurm array index = Kubernetes completion index (+ offset of its Job). */
  id: number;
  /** Index of the slice in the sweep. */
  slice: number;
  /** The node the task is pinned to (`--nodes`), or null when the scheduler picks one (`--partition`). */
  node: string | null;
  /** The etok device the task measures (cpu or cuda:N, as the task's node sees it). */
  device: string;
  /** The complete `etok bench` argument list (without --out). */
  args: string[];
  configIds: string[];
}

export interface FleetSubmission {
  /** Slurm's array job id (what `sbatch --parsable` printed before any `;cluster`). */
  jobId: string;
  arrayIndices: number[];
  node: string | null;
  submittedAt: string;
  kind: 'submit' | 'resubmit';
}

export interface FleetManifest {
  schema: typeof MANIFEST_SCHEMA_ID;
  createdAt: string;
  tool: { name: 'etok'; version: string };
  /** Who runs the tasks: Slurm arrays (submit queued them) or Kubernetes Jobs (--emit k8s printed them). */
  scheduler?: 'slurm' | 'kubernetes';
  dir: string;
  command: string[];
  partition: string | null;
  nodes: string[] | null;
  gpusPerTask: number | null;
  sliceMode: string;
  script: string;
  configCount: number;
  tasks: FleetTask[];
  submissions: FleetSubmission[];
}

export function taskFileName(id: number): string {
  return `task-${id}.json`;
}

export function exitFileName(id: number): string {
  return `task-${id}.exit.json`;
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

export function writeManifest(dir: string, manifest: FleetManifest): void {
  writeJsonAtomic(manifestPath(dir), manifest);
}

/** Reads and checks the manifest; a directory without one, or a damaged one, is a usage error. */
export function readManifest(dir: string): FleetManifest {
  const path = manifestPath(dir);
  if (!existsSync(path))
    throw new EtokError(
      'BAD_USAGE',
      `${dir} holds no fleet (no ${MANIFEST_FILE}); give the --dir that 'etok fleet submit' used`,
    );
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new EtokError(
      'BAD_USAGE',
      `cannot read ${path}: ${code === 'EISDIR' ? 'it is a directory, not a file' : (error as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EtokError('BAD_USAGE', `${path}: not JSON (${(error as Error).message})`);
  }
  const m = raw as Partial<FleetManifest>;
  if (m?.schema !== MANIFEST_SCHEMA_ID)
    throw new EtokError('BAD_USAGE', `${path}: schema is not ${MANIFEST_SCHEMA_ID}`);
  const tasksOk =
    Array.isArray(m.tasks) &&
    m.tasks.every(
      (t) =>
        Number.isInteger(t?.id) &&
        Array.isArray(t.args) &&
        Array.isArray(t.configIds) &&
        typeof t.device === 'string',
    );
  const subsOk =
    Array.isArray(m.submissions) &&
    m.submissions.every((s) => typeof s?.jobId === 'string' && Array.isArray(s.arrayIndices));
  if (!tasksOk || !subsOk || typeof m.tool?.version !== 'string')
    throw new EtokError('BAD_USAGE', `${path}: damaged manifest (tasks, submissions or tool.version)`);
  return m as FleetManifest;
}

/** The latest submission that ran each task (a resubmission supersedes the first run). */
export function latestSubmissions(manifest: FleetManifest): Map<number, FleetSubmission> {
  const latest = new Map<number, FleetSubmission>();
  for (const s of manifest.submissions) for (const i of s.arrayIndices) latest.set(i, s);
  return latest;
}
