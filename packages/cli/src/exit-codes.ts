// Exit statuses (0 success, 1 failed measurement, 2 bad usage, 130 interrupted); which errors are which is core's
// error catalogue.
import { exitStatusOf, stripControl } from '@etok/core';

export const EXIT_OK = 0;
export const EXIT_MEASUREMENT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** The exit status of an error that ends a command, from core's error catalogue (2 bad usage, else 1). */
export function exitCodeFor(error: unknown): number {
  return exitStatusOf(error);
}

/** Errors we raised on purpose print one line; anything else is a bug and prints what to report. */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; stack?: unknown };
  // One line, and inert: a message may quote a path or a device name holding newlines or terminal escapes.
  if (typeof e?.code === 'string' && typeof e.message === 'string') return `etok: ${stripControl(e.message)}`;
  const stack = typeof e?.stack === 'string' ? e.stack : String(error);
  return `etok: internal error — please report it with the command you ran:\n${stack}`;
}
