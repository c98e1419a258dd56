// Open meters from TypeScript: `etok measure`, power timelines and the meter tests. The harness opens its own
// meters in C++; this is for everything that measures something other than a built-in kernel.
import type { NativeMeterHandle } from './binding.js';
import { loadBinding } from './load.js';

/**
 * Opens `nvml:N`, `rapl` or `model` (for `device`, which only the model meter uses). Throws an Error with a stable
 * `code` (NVML_UNAVAILABLE, NVML_NOT_SUPPORTED, NVML_NO_PERMISSION, RAPL_PERMISSION, UNKNOWN_METER…). Opening an
 * `modelUtilization` picks the model meter's utilization source: `system-cpu` (all processes, for commands etok
 * wraps), `process-cpu` (etok's own threads) or `harness` (busy marks). Opening an
 * NVML meter measures its counter's update period, which takes a few update periods (≤ ~0.5 s). Call close().
 */
export function openMeter(
  id: string,
  device = 'cpu',
  modelUtilization?: 'system-cpu' | 'process-cpu' | 'harness',
): NativeMeterHandle {
  const binding = loadBinding();
  return modelUtilization ? new binding.Meter(id, device, modelUtilization) : new binding.Meter(id, device);
}

/** The engine's window rule (harness.cpp), for windows it observes but does not drive: seconds a window must span
 *  for a meter updating every `updatePeriodMs` (at least minWindowS and minWindowUpdates updates). */
export function windowTargetS(
  timing: { minWindowS?: number; minWindowUpdates?: number },
  updatePeriodMs: number,
): number {
  return loadBinding().windowTargetS(timing, updatePeriodMs);
}

/** The engine's timing defaults (harness.h MeasurePlan): what a plan that sets nothing gets. */
export function engineTimingDefaults(): Record<string, number> {
  return loadBinding().defaultTiming() as unknown as Record<string, number>;
}
