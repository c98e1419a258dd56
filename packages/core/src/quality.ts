// How a quality figure is printed: a relative error is of the whole output unless it says which part.
import type { QualitySample } from './schemas.js';

/** The share of the output, as "1/64" when it is one over a whole number, else a percentage. */
export function shareText(share: number): string {
  const inverse = 1 / share;
  if (Math.abs(inverse - Math.round(inverse)) < 1e-9) return `1/${Math.round(inverse)}`;
  return `${Number((share * 100).toPrecision(3))}%`;
}

/** "3.1e-3", or "3.1e-3 (part: 1/64)" when the fp64 references checked a part of the output; `missing` for null. */
export function relErrorText(
  error: number | null,
  sample: QualitySample | undefined,
  missing: string,
): string {
  if (error === null) return missing;
  return sample
    ? `${error.toExponential(1)} (part: ${shareText(sample.outputShare)})`
    : error.toExponential(1);
}
