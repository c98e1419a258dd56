// Errors that cross package boundaries carry a stable code; the CLI maps codes to exit statuses in one place.

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

/** Errors caused by what the user typed or handed in (exit 2), as opposed to a failed measurement (exit 1). */
export function isUsageError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    code === 'BAD_USAGE' ||
    code === 'BAD_VARIANT' ||
    code === 'BAD_SHAPE' ||
    code === 'BAD_RESULTS' ||
    code === 'TOO_LARGE' ||
    code === 'UNKNOWN_DEVICE' ||
    code === 'UNKNOWN_METER'
  );
}
