// Crash isolation (the reliability rule "nothing measured is ever lost"): each measurement group runs in a child
// process. If a kernel crashes it, the group ends with a KERNEL_CRASHED error naming the signal, and the caller's
// process, its results file and the rest of the sweep are untouched.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeMeasurePlan, NativeMeasureResult, ProgressCallback } from './binding.js';
import type { MeasureHandle } from './measure.js';

/** The compiled worker: next to this file in dist/, or in dist/ when running from src/ (tests). */
function workerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'measure-worker.js');
  return existsSync(beside) ? beside : join(here, '..', 'dist', 'measure-worker.js');
}

/** Seconds a kernel call may take when the plan says nothing (`--call-timeout`). */
export const DEFAULT_CALL_TIMEOUT_S = 60;

export class IsolatedMeasureError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type WorkerMessage =
  | { type: 'progress'; stage: string; fraction: number; callS?: number }
  | { type: 'result'; results: NativeMeasureResult[] }
  | { type: 'error'; error: { message: string; code: string; field?: string } };

export function measureGroupIsolated(
  plans: NativeMeasurePlan[],
  onProgress?: ProgressCallback,
): MeasureHandle<NativeMeasureResult[]> {
  const child = fork(workerPath(), [], {
    serialization: 'advanced', // typed arrays (samples) cross intact
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
  let settled = false;
  // A kernel call that never returns would hold the group forever: once calls run (the timing and energy stages),
  // the worker must say something within the plans' call limit, else it is stopped and the group fails KERNEL_HUNG.
  const limitS = Math.max(...plans.map((p) => p.callTimeoutS ?? DEFAULT_CALL_TIMEOUT_S));
  let watchdog: NodeJS.Timeout | undefined;
  let hung = false;
  const arm = (on: boolean) => {
    if (watchdog) clearTimeout(watchdog);
    watchdog = on
      ? setTimeout(() => {
          hung = true;
          child.kill('SIGKILL');
        }, limitS * 1000)
      : undefined;
    watchdog?.unref();
  };
  const result = new Promise<NativeMeasureResult[]>((resolve, reject) => {
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') arm(message.stage === 'timing' || message.stage === 'energy');
      else arm(false);
      if (message.type === 'progress') onProgress?.(message.stage, message.fraction, message.callS);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.results);
      } else {
        settled = true;
        reject(new IsolatedMeasureError(message.error.message, message.error.code, message.error.field));
      }
    });
    child.on('error', (error) => {
      if (!settled)
        reject(
          new IsolatedMeasureError(`cannot start the measurement process: ${error.message}`, 'INTERNAL'),
        );
    });
    child.on('exit', (code, signal) => {
      arm(false);
      if (settled) return;
      settled = true;
      if (hung) {
        reject(
          new IsolatedMeasureError(
            `a kernel call did not return within ${limitS} s; its measuring process was stopped (raise the limit with --call-timeout)`,
            'KERNEL_HUNG',
          ),
        );
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const hint =
        signal === 'SIGKILL'
          ? ' (out of memory?)'
          : signal === 'SIGSEGV' || signal === 'SIGBUS'
            ? ' (a crash in the kernel)'
            : '';
      reject(new IsolatedMeasureError(`the measurement process ${how}${hint}`, 'KERNEL_CRASHED'));
    });
  });
  child.send({ type: 'measure', plans });
  return {
    result,
    cancel: () => {
      if (child.connected) child.send({ type: 'cancel' });
    },
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}
