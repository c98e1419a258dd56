// Whether a measurement can be used, and how precise it is: two different questions. A measurement is *invalid*
// when it is wrong (drift beyond its interval, throttling, windows too short for the meter, a failed counter, a
// cancelled or faulted run); it is merely *imprecise* when its interval stayed wider than the target when the time
// budget ended, and its interval says how precise it is. Imprecise rows count everywhere (Φ, attribution, reports,
// compare) with their wider intervals; invalid rows count nowhere. Every reader asks statusOf().
import type { Measurement } from './schemas.js';

/** Reasons that are precision warnings, not invalidity (files of older versions listed them under `validity`). */
export const PRECISION_WARNINGS = ['ci-not-reached'] as const;
export type PrecisionWarning = (typeof PRECISION_WARNINGS)[number];

export interface MeasurementStatus {
  valid: boolean;
  /** Why it is invalid; empty when valid. */
  reasons: string[];
  /** Precision warnings (the interval is wider than the target); the row is still used. */
  warnings: string[];
}

const isWarning = (r: string) => (PRECISION_WARNINGS as readonly string[]).includes(r);

export function statusOf(m: Measurement): MeasurementStatus {
  const raw = m as { valid?: unknown; validity?: unknown; warnings?: unknown };
  const listed = Array.isArray(raw.validity) ? raw.validity.map(String) : [];
  const warnings = [
    ...new Set([
      ...listed.filter(isWarning),
      ...(Array.isArray(raw.warnings) ? raw.warnings.map(String) : []),
    ]),
  ];
  const reasons = listed.filter((r) => !isWarning(r));
  // A file that says invalid without a reason stays invalid; one invalid only for precision becomes usable.
  const valid = raw.valid === false ? reasons.length === 0 && listed.length > 0 : true;
  return { valid, reasons: valid ? [] : reasons.length > 0 ? reasons : ['marked invalid'], warnings };
}

/** "ci ±4.1% (target ±3%)": the precision warning of a row in words, or empty. */
export function precisionText(m: Measurement, targetFraction?: number): string {
  const s = statusOf(m);
  if (!s.warnings.includes('ci-not-reached')) return '';
  const e = m.energy;
  const half =
    e.ciLowJoulesPerCall !== undefined && e.ciHighJoulesPerCall !== undefined && e.joulesPerCall !== 0
      ? (e.ciHighJoulesPerCall - e.ciLowJoulesPerCall) / 2 / Math.abs(e.joulesPerCall)
      : Number.NaN;
  const width = Number.isFinite(half) ? `±${(100 * half).toFixed(1)}%` : 'wide';
  return `CI ${width}${targetFraction ? ` (target ±${(100 * targetFraction).toFixed(0)}%)` : ''}`;
}
