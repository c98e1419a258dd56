// The state of each fleet task, from three witnesses: the queue (squeue, then sacct), the task's exit sidecar, and
// its results file. Pure: the caller reads the files and runs the Slurm commands.
import type { FleetSubmission, FleetTask } from './manifest.js';
import type { QueueRecord } from './slurm.js';

export const TASK_STATES = ['done', 'pending', 'running', 'failed', 'preempted', 'missing'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskEvidence {
  task: FleetTask;
  submission?: FleetSubmission;
  queue?: QueueRecord;
  /** The exit sidecar written by the task script after bench returned. */
  exit?: { exitCode: number; arrayJobId?: string; jobId?: string; node?: string };
  /** The results file: whether it exists and says `complete: true`. */
  results?: { complete: boolean; measurements: number; node?: string };
  /** The fleet runs as Kubernetes Jobs: etok sees no queue, only the files. */
  kubernetes?: boolean;
}

export interface TaskStatus {
  id: number;
  slice: number;
  device: string;
  state: TaskState;
  /** Why, in words (Slurm's state, the exit status, what is missing). */
  detail: string;
  node: string | null;
  jobId: string | null;
}

const PENDING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SUSPENDED']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);
const PREEMPTED = new Set(['PREEMPTED']);

/** Exit statuses of a task killed by a signal (bench exits 130 on SIGINT/SIGTERM; bash reports 128+N). */
function signalled(code: number): boolean {
  return code === 130 || code === 143 || code === 137;
}

export function classifyTask(e: TaskEvidence): TaskStatus {
  const base = {
    id: e.task.id,
    slice: e.task.slice,
    device: e.task.device,
    node: e.results?.node ?? e.exit?.node ?? (e.queue?.node || null) ?? e.task.node,
    jobId: e.submission ? `${e.submission.jobId}_${e.task.id}` : null,
  };
  const q = e.queue;
  if (q && PENDING.has(q.state))
    return {
      ...base,
      state: 'pending',
      detail: `${q.state.toLowerCase()}${q.reason ? ` (${q.reason})` : ''}`,
    };
  if (q && RUNNING.has(q.state)) return { ...base, state: 'running', detail: `running on ${q.node}` };
  // An exit sidecar from an earlier submission says nothing about this one.
  const exit =
    e.exit && (!e.submission || !e.exit.arrayJobId || e.exit.arrayJobId === e.submission.jobId)
      ? e.exit
      : undefined;
  if (q && PREEMPTED.has(q.state))
    return {
      ...base,
      state: 'preempted',
      detail: `preempted by Slurm${exit ? ` (exit ${exit.exitCode})` : ''}`,
    };
  if (exit && exit.exitCode !== 0) {
    const why = signalled(exit.exitCode)
      ? `stopped by a signal (exit ${exit.exitCode})`
      : `etok bench exited ${exit.exitCode}`;
    return { ...base, state: 'failed', detail: `${why}${q ? `; Slurm: ${q.state}` : ''}` };
  }
  if (q && q.state !== 'COMPLETED')
    return {
      ...base,
      state: 'failed',
      detail: `Slurm: ${q.state}${q.exitCode ? ` (exit ${q.exitCode})` : ''}${q.reason && q.reason !== 'None' ? `, ${q.reason}` : ''}`,
    };
  if (e.results?.complete)
    return { ...base, state: 'done', detail: `${e.results.measurements} measurement(s)` };
  if (e.results)
    return {
      ...base,
      state: 'failed',
      detail: `results file is incomplete (${e.results.measurements} measurement(s), complete: false)`,
    };
  if (q || exit) return { ...base, state: 'failed', detail: 'the task ended but wrote no results file' };
  if (e.kubernetes)
    return {
      ...base,
      state: 'missing',
      detail: 'no results file yet (Kubernetes: kubectl get pods -l app.kubernetes.io/name=etok-fleet)',
    };
  if (!e.submission) return { ...base, state: 'missing', detail: 'never submitted' };
  return {
    ...base,
    state: 'missing',
    detail: 'neither the queue nor the directory knows it (purged from squeue, no results file)',
  };
}

/** Tasks that `etok fleet resubmit` runs again. */
export function needsRerun(state: TaskState): boolean {
  return state === 'failed' || state === 'preempted' || state === 'missing';
}
