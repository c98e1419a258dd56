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
  const result = new Promise<NativeMeasureResult[]>((resolve, reject) => {
    child.on('message', (message: WorkerMessage) => {
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
      if (settled) return;
      settled = true;
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
