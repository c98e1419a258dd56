// One measurement at a time per device (STYLE 5): the addon runs the harness on a worker thread; this module
// queues plans per device so two never share a GPU or the CPU's cores.
import type { NativeMeasurePlan, NativeMeasureResult } from './binding.js';
import { loadBinding } from './load.js';

export interface MeasureHandle {
  result: Promise<NativeMeasureResult>;
  /** Stops the harness between kernel calls; `result` then resolves with what was measured (cancelled: true). */
  cancel(): void;
}

const deviceQueues = new Map<string, Promise<unknown>>();

export function measure(
  plan: NativeMeasurePlan,
  onProgress?: (stage: string, fraction: number) => void,
): MeasureHandle {
  const token = new Int32Array(new SharedArrayBuffer(4));
  const previous = deviceQueues.get(plan.device) ?? Promise.resolve();
  const result = previous.then(
    () =>
      Atomics.load(token, 0) !== 0
        ? cancelledBeforeStart(plan)
        : loadBinding().measure(plan, onProgress, token),
    () => loadBinding().measure(plan, onProgress, token),
  );
  deviceQueues.set(
    plan.device,
    result.catch(() => undefined),
  );
  return { result, cancel: () => Atomics.store(token, 0, 1) };
}

function cancelledBeforeStart(plan: NativeMeasurePlan): Promise<NativeMeasureResult> {
  return Promise.reject(
    Object.assign(new Error(`measurement of ${plan.variant} was cancelled before it started`), {
      code: 'CANCELLED',
    }),
  );
}
