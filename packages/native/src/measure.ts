// One measurement at a time per device: the addon runs the harness on a worker thread; this module
// queues work per device so two measurements never share a GPU or the CPU's cores.
import type { NativeMeasurePlan, NativeMeasureResult, ProgressCallback } from './binding.js';
import { loadBinding } from './load.js';

export interface MeasureHandle<T> {
  result: Promise<T>;
  /** Stops the harness between kernel calls; `result` then resolves with what was measured (cancelled: true). */
  cancel(): void;
  /** Ends the measurement at once, in the middle of a call (a measuring child process is killed); `result` rejects. */
  kill?(): void;
}

const deviceQueues = new Map<string, Promise<unknown>>();

function enqueue<T>(device: string, start: (token: Int32Array) => Promise<T>): MeasureHandle<T> {
  const token = new Int32Array(new SharedArrayBuffer(4));
  const previous = deviceQueues.get(device) ?? Promise.resolve();
  const run = () =>
    Atomics.load(token, 0) !== 0
      ? Promise.reject(
          Object.assign(new Error('measurement cancelled before it started'), { code: 'CANCELLED' }),
        )
      : start(token);
  const result = previous.then(run, run);
  deviceQueues.set(
    device,
    result.catch(() => undefined),
  );
  return { result, cancel: () => Atomics.store(token, 0, 1) };
}

/** Measures one plan. */
export function measure(
  plan: NativeMeasurePlan,
  onProgress?: ProgressCallback,
): MeasureHandle<NativeMeasureResult> {
  return enqueue(plan.device, (token) => loadBinding().measure(plan, onProgress, token));
}

/** Measures plans to be compared as one group: energy windows interleaved in random order (ABAB…). */
export function measureGroup(
  plans: NativeMeasurePlan[],
  onProgress?: ProgressCallback,
): MeasureHandle<NativeMeasureResult[]> {
  const device = plans[0]?.device ?? 'cpu';
  return enqueue(device, (token) => loadBinding().measure(plans, onProgress, token));
}
