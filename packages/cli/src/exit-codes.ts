// The one place that maps errors to exit statuses (SPEC §6): 0 success, 1 failed measurement, 2 bad usage.
import { isUsageError, stripControl } from '@etok/core';

export const EXIT_OK = 0;
export const EXIT_MEASUREMENT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** Codes from the addon that mean the user asked for something this machine or build cannot do (a meter that is
    not here counts: the library or powercap tree is missing before anything is measured). */
const NATIVE_USAGE_CODES = new Set([
  'BAD_SHAPE',
  'NVML_UNAVAILABLE',
  'RAPL_UNAVAILABLE',
  'BAD_USAGE',
  'UNKNOWN_METER',
  'UNKNOWN_DEVICE',
  'CUDA_NOT_COMPILED',
]);

export function exitCodeFor(error: unknown): number {
  if (isUsageError(error)) return EXIT_USAGE;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && NATIVE_USAGE_CODES.has(code)) return EXIT_USAGE;
  return EXIT_MEASUREMENT_FAILED;
}

/** Errors we raised on purpose print one line; anything else is a bug and prints what to report. */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; stack?: unknown };
  // One line, and inert: a message may quote a path or a device name holding newlines or terminal escapes.
  if (typeof e?.code === 'string' && typeof e.message === 'string') return `etok: ${stripControl(e.message)}`;
  const stack = typeof e?.stack === 'string' ? e.stack : String(error);
  return `etok: internal error — please report it with the command you ran:\n${stack}`;
}
