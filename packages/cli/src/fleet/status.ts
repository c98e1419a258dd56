// `etok fleet status` and `etok fleet resubmit`: what became of each task (the queue, the exit sidecar and the
// results file, see task-state.ts), and a new array of only the failed, pre-empted or missing tasks.
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { EtokError } from '@etok/core';
import type { CommandIo } from '../io.js';
import { flag, type ParsedArgs } from '../options.js';
import { renderTable } from '../output/table.js';
import {
  exitFileName,
  type FleetManifest,
  latestSubmissions,
  readManifest,
  SCRIPT_FILE,
  taskFileName,
  writeManifest,
} from './manifest.js';
import { accountingRecords, arraySpec, onPath, queueRecords, requireSlurmCommand, sbatch } from './slurm.js';
import {
  classifyTask,
  needsRerun,
  TASK_STATES,
  type TaskEvidence,
  type TaskState,
  type TaskStatus,
} from './task-state.js';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function resultsEvidence(path: string): TaskEvidence['results'] {
  if (!existsSync(path)) return undefined;
  const doc = readJson(path) as
    | { complete?: unknown; measurements?: unknown; provenance?: { node?: unknown } }
    | undefined;
  if (!doc) return { complete: false, measurements: 0 };
  const node = typeof doc.provenance?.node === 'string' ? doc.provenance.node : undefined;
  return {
    complete: doc.complete === true,
    measurements: Array.isArray(doc.measurements) ? doc.measurements.length : 0,
    ...(node ? { node } : {}),
  };
}

function exitEvidence(path: string): TaskEvidence['exit'] {
  const raw = readJson(path) as { exitCode?: unknown; arrayJobId?: unknown; node?: unknown } | undefined;
  if (!raw || typeof raw.exitCode !== 'number') return undefined;
  return {
    exitCode: raw.exitCode,
    ...(typeof raw.arrayJobId === 'string' && raw.arrayJobId ? { arrayJobId: raw.arrayJobId } : {}),
    ...(typeof raw.node === 'string' && raw.node ? { node: raw.node } : {}),
  };
}

export interface FleetStatus {
  dir: string;
  jobs: string[];
  counts: Record<TaskState, number>;
  tasks: TaskStatus[];
  notes: string[];
}

export function fleetStatus(dir: string, manifest: FleetManifest): FleetStatus {
  const latest = latestSubmissions(manifest);
  const jobs = [...new Set(manifest.submissions.map((s) => s.jobId))];
  const notes: string[] = [];
  let queue = new Map<string, import('./slurm.js').QueueRecord>();
  if (manifest.scheduler === 'kubernetes')
    notes.push('a Kubernetes fleet: states come from the directory alone');
  else if (jobs.length > 0) {
    if (onPath('squeue')) {
      const q = queueRecords(jobs);
      queue = q.records;
      if (q.note) notes.push(q.note);
    } else notes.push('squeue is not on PATH: states come from the directory alone');
    const acct = accountingRecords(jobs);
    if (acct.note) notes.push(`${acct.note}; finished tasks are judged by their files`);
    // squeue knows live and recently finished jobs; sacct fills in the ones the controller has forgotten.
    for (const [k, v] of acct.records) if (!queue.has(k)) queue.set(k, v);
  }
  const tasks = manifest.tasks.map((task) => {
    const submission = latest.get(task.id);
    const queueRecord = submission ? queue.get(`${submission.jobId}_${task.id}`) : undefined;
    const exit = exitEvidence(join(dir, exitFileName(task.id)));
    const results = resultsEvidence(join(dir, taskFileName(task.id)));
    return classifyTask({
      task,
      ...(submission ? { submission } : {}),
      ...(queueRecord ? { queue: queueRecord } : {}),
      ...(exit ? { exit } : {}),
      ...(results ? { results } : {}),
      ...(manifest.scheduler === 'kubernetes' ? { kubernetes: true } : {}),
    });
  });
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const t of tasks) counts[t.state] += 1;
  return { dir, jobs, counts, tasks, notes };
}

function countsLine(s: FleetStatus): string {
  return TASK_STATES.filter((k) => s.counts[k] > 0)
    .map((k) => `${s.counts[k]} ${k}`)
    .join(', ');
}

export async function status(args: ParsedArgs, io: CommandIo, dir: string): Promise<number> {
  const manifest = readManifest(dir);
  const s = fleetStatus(dir, manifest);
  if (flag(args, 'json')) io.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else {
    const rows = s.tasks.map((t) => [
      String(t.id),
      t.jobId ?? '—',
      t.node ?? 'any',
      t.device,
      String(manifest.tasks[t.id]?.configIds.length ?? 0),
      t.state,
      t.detail,
    ]);
    io.stdout.write(
      renderTable(
        [
          { header: 'task', align: 'right' },
          { header: 'slurm job' },
          { header: 'node' },
          { header: 'device' },
          { header: 'configs', align: 'right' },
          { header: 'state' },
          { header: 'detail' },
        ],
        rows,
      ),
    );
    io.stdout.write(`${manifest.tasks.length} task(s): ${countsLine(s)}\n`);
    for (const n of s.notes) io.stderr.write(`note: ${n}\n`);
    if (s.counts.failed + s.counts.preempted + s.counts.missing > 0)
      io.stderr.write(`rerun them with: etok fleet resubmit --dir ${dir}\n`);
  }
  return s.counts.failed + s.counts.preempted + s.counts.missing > 0 ? 1 : 0;
}

export async function resubmit(args: ParsedArgs, io: CommandIo, dir: string): Promise<number> {
  const manifest = readManifest(dir);
  if (manifest.scheduler === 'kubernetes')
    throw new EtokError(
      'BAD_USAGE',
      `${dir} is a Kubernetes fleet; rerun its failed indices with kubectl (etok fleet resubmit drives Slurm)`,
    );
  const dry = flag(args, 'dry-run');
  if (!dry) requireSlurmCommand('sbatch');
  const s = fleetStatus(dir, manifest);
  const rerun = s.tasks.filter((t) => needsRerun(t.state));
  if (rerun.length === 0) {
    const msg = `nothing to resubmit: ${countsLine(s)}`;
    if (flag(args, 'json'))
      io.stdout.write(`${JSON.stringify({ dir, resubmitted: [], counts: s.counts }, null, 2)}\n`);
    else io.stdout.write(`${msg}\n`);
    return 0;
  }
  const scriptPath = join(dir, manifest.script || SCRIPT_FILE);
  if (!existsSync(scriptPath))
    throw new EtokError(
      'BAD_USAGE',
      `${scriptPath} is gone; the fleet cannot be resubmitted without its script`,
    );
  const byNode = new Map<string | null, number[]>();
  for (const t of rerun) {
    const node = manifest.tasks[t.id]?.node ?? null;
    byNode.set(node, [...(byNode.get(node) ?? []), t.id]);
  }
  if (dry) {
    for (const [node, ids] of byNode)
      io.stdout.write(
        `sbatch --parsable --array=${arraySpec(ids)}${node ? ` --nodelist=${node}` : ''} ${scriptPath}\n`,
      );
    io.stderr.write(
      `dry run: would resubmit ${rerun.length} task(s): ${rerun.map((t) => `${t.id} (${t.state})`).join(', ')}\n`,
    );
    return 0;
  }
  // Keep what the failed attempts left (partial results, exit sidecars) under attempts/, never overwrite it.
  const attempts = join(dir, 'attempts');
  for (const t of rerun) {
    const tag = t.jobId ?? 'unsubmitted';
    for (const name of [taskFileName(t.id), exitFileName(t.id)]) {
      const from = join(dir, name);
      if (!existsSync(from)) continue;
      mkdirSync(attempts, { recursive: true });
      renameSync(from, join(attempts, name.replace(/\.json$/, `.${tag}.json`)));
    }
  }
  const submitted: { jobId: string; node: string | null; tasks: number[] }[] = [];
  for (const [node, ids] of byNode) {
    const jobId = sbatch(scriptPath, arraySpec(ids), node, dir);
    manifest.submissions.push({
      jobId,
      arrayIndices: ids,
      node,
      submittedAt: new Date().toISOString(),
      kind: 'resubmit',
    });
    writeManifest(dir, manifest);
    submitted.push({ jobId, node, tasks: ids });
  }
  if (flag(args, 'json')) io.stdout.write(`${JSON.stringify({ dir, resubmitted: submitted }, null, 2)}\n`);
  else
    for (const x of submitted)
      io.stdout.write(
        `resubmitted task(s) ${arraySpec(x.tasks)} as job ${x.jobId}${x.node ? ` on ${x.node}` : ''}\n`,
      );
  return 0;
}
