// Errors that cross package boundaries carry a stable code; what each code means is in error-catalogue.ts.
import { errorEntry } from './error-catalogue.js';

export type EtokErrorCode =
  | 'BAD_USAGE'
  | 'BAD_VARIANT'
  | 'BAD_SHAPE'
  | 'BAD_RESULTS'
  | 'TOO_LARGE'
  | 'UNKNOWN_DEVICE'
  | 'UNKNOWN_METER'
  | 'MEASUREMENT_FAILED';

export class EtokError extends Error {
  constructor(
    readonly code: EtokErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EtokError';
  }
}

/** Errors caused by what the user typed or handed in, or this machine cannot do (exit 2), as opposed to a failed
 *  measurement (exit 1): the error catalogue decides. */
export function isUsageError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && errorEntry(code)?.exit === 2;
}
