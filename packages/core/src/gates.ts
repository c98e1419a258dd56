// The fixed (q*, s*) point of docs/spec.md §1: a variant is compared with the baseline only when it meets the quality
// target q* and the service target s*; one that misses either is listed with the reason and gets no Φ.

import { type KvLever, parseVariant } from '@etok/kernels';
import { EtokError } from './errors.js';
import type { Measurement } from './schemas.js';

/** The KV storage format of a variant: its kv-* lever, or `none` (the activation dtype). */
export type KvFormat = 'none' | KvLever;

export interface QualityDefault {
  kv: KvFormat;
  /** Largest allowed relative L2 error of the output against fp64 dense attention (`relErrorVsDense`). */
  maxRelError: number;
  reason: string;
}

/**
 * Default q* per KV format, judged on `relErrorVsDense` (every variant, sparse and mla included, is measured
 * against fp64 *dense* attention on the same inputs, so approximation error of sparse selection counts in full).
 * Each limit sits a few times above the rounding noise the format is designed to add, so a correct kernel passes
 * and a broken one (a wrong scale, a dropped block, a mis-indexed head) fails. Applications with a stricter or
 * looser budget set their own with `--quality rel-error<=X`. This table is printed in the README.
 */
export const DEFAULT_QUALITY_TARGETS: readonly QualityDefault[] = [
  {
    kv: 'none',
    maxRelError: 1e-2,
    reason:
      'f32/bf16/f16 storage: bf16 rounds at 2^-9 ≈ 2e-3 relative, so a correct bf16 output lands near 2e-3–4e-3; ×2.5 headroom',
  },
  {
    kv: 'kv-int8',
    maxRelError: 2e-2,
    reason:
      'int8 symmetric per token and head: step = max/127, RMS error ≈ 0.7% of a Gaussian row; output error ≈ 1%, ×2 headroom',
  },
  {
    kv: 'kv-fp8',
    maxRelError: 5e-2,
    reason:
      'fp8 E4M3 with per-token scale: 3 mantissa bits, ≈ 3.6% RMS relative per value, partly averaged out by softmax·V',
  },
  {
    kv: 'kv-int4',
    maxRelError: 1e-1,
    reason:
      'int4 in groups of 32: step = max/7, ≈ 9% RMS per value; 10% is where int4 KV stays usable in published evaluations',
  },
];

/** The KV format of a lever set; a name that is not one (a user's kernel) stores its cache unquantized. */
export function kvFormatOf(variant: string): KvFormat {
  try {
    return parseVariant(variant).kv ?? 'none';
  } catch {
    return 'none';
  }
}

export function defaultQualityTarget(variant: string): QualityDefault {
  const kv = kvFormatOf(variant);
  return DEFAULT_QUALITY_TARGETS.find((d) => d.kv === kv)!;
}

/** q*: a relative-error limit for every variant, the per-KV-format defaults, or no quality gate at all. */
export type QualityTarget =
  | { kind: 'rel-error'; maxRelError: number }
  | { kind: 'defaults' }
  | { kind: 'none' };

/** s*: milliseconds per call (a decode step or a whole prefill), per phase; an absent phase is not gated. */
export interface ServiceTarget {
  decodeMs?: number;
  prefillMs?: number;
}

export interface Gates {
  quality: QualityTarget;
  service: ServiceTarget;
}

export const DEFAULT_GATES: Gates = { quality: { kind: 'defaults' }, service: {} };

/** `rel-error<=0.02` (also `rel-error<=2e-2`), `default` or `none`. */
export function parseQualityTarget(text: string): QualityTarget {
  const t = text.trim();
  if (t === 'default' || t === 'defaults') return { kind: 'defaults' };
  if (t === 'none') return { kind: 'none' };
  const m = /^rel-error\s*<=\s*(\S+)$/.exec(t);
  const x = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isFinite(x) || x < 0)
    throw new EtokError(
      'BAD_USAGE',
      `--quality '${text}' is not valid; expected rel-error<=X with X ≥ 0 (e.g. rel-error<=0.02), default or none`,
    );
  return { kind: 'rel-error', maxRelError: x };
}

function positiveMs(text: string, whole: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x <= 0)
    throw new EtokError(
      'BAD_USAGE',
      `--slo-ms '${whole}' is not valid; expected milliseconds > 0, or decode=MS,prefill=MS`,
    );
  return x;
}

/** `5` (both phases) or `decode=5,prefill=200` (either part may be left out). */
export function parseServiceTarget(text: string): ServiceTarget {
  const t = text.trim();
  if (!t.includes('=')) {
    const ms = positiveMs(t, text);
    return { decodeMs: ms, prefillMs: ms };
  }
  const out: ServiceTarget = {};
  for (const part of t.split(',')) {
    const [name, value, ...rest] = part.split('=').map((s) => s.trim());
    if (rest.length > 0 || value === undefined || (name !== 'decode' && name !== 'prefill'))
      throw new EtokError(
        'BAD_USAGE',
        `--slo-ms '${text}' is not valid; expected milliseconds > 0, or decode=MS,prefill=MS`,
      );
    out[name === 'decode' ? 'decodeMs' : 'prefillMs'] = positiveMs(value, text);
  }
  return out;
}

/**
 * Gates from flags, falling back to what `etok bench --quality/--slo-ms` recorded in the results file's `plan`,
 * then to the defaults. Returns where each came from so reports can say it.
 */
export function resolveGates(
  flags: { quality?: string | undefined; sloMs?: string | undefined },
  results?: object,
): Gates & { qualitySource: string; serviceSource: string } {
  const plan = ((results as { plan?: unknown } | undefined)?.plan ?? {}) as {
    quality?: unknown;
    sloMs?: unknown;
  };
  const qualityText = flags.quality ?? (typeof plan.quality === 'string' ? plan.quality : undefined);
  const sloText =
    flags.sloMs ??
    (typeof plan.sloMs === 'string'
      ? plan.sloMs
      : typeof plan.sloMs === 'number'
        ? String(plan.sloMs)
        : undefined);
  return {
    quality: qualityText === undefined ? { kind: 'defaults' } : parseQualityTarget(qualityText),
    service: sloText === undefined ? {} : parseServiceTarget(sloText),
    qualitySource:
      flags.quality !== undefined ? 'flag' : qualityText !== undefined ? 'results file' : 'default',
    serviceSource: flags.sloMs !== undefined ? 'flag' : sloText !== undefined ? 'results file' : 'none',
  };
}

export interface GateVerdict {
  pass: boolean;
  /** One reason per missed gate, e.g. "quality: rel. error vs dense 3.1e-2 > 2e-2 (default for kv-int8)". */
  reasons: string[];
  /** The q* limit applied (null when the quality gate is off). */
  maxRelError: number | null;
  /** The s* limit applied in ms (null when this phase has none). */
  sloMs: number | null;
}

const exp = (x: number) => x.toExponential(1);

/** Checks one measurement against q* (relErrorVsDense) and s* (median time per call). */
export function checkGates(m: Measurement, gates: Gates): GateVerdict {
  const reasons: string[] = [];
  let maxRelError: number | null = null;
  if (gates.quality.kind !== 'none') {
    // A peer row is judged as the lever set it computes.
    const def =
      gates.quality.kind === 'defaults' ? defaultQualityTarget(m.peer?.leverSet ?? m.variant) : undefined;
    maxRelError = gates.quality.kind === 'rel-error' ? gates.quality.maxRelError : def!.maxRelError;
    const label = def ? ` (default for ${def.kv === 'none' ? 'unquantized KV' : def.kv})` : '';
    const err = m.quality.relErrorVsDense;
    if (err === null)
      reasons.push(
        `quality: not measured (${m.quality.note || 'relErrorVsDense is null; rerun bench without --no-quality'})`,
      );
    else if (!(err <= maxRelError))
      reasons.push(`quality: rel. error vs dense ${exp(err)} > ${exp(maxRelError)}${label}`);
  }
  const sloMs = (m.phase === 'decode' ? gates.service.decodeMs : gates.service.prefillMs) ?? null;
  if (sloMs !== null) {
    const ms = m.time.medianS * 1e3;
    if (!(ms <= sloMs))
      reasons.push(`service: median ${ms.toPrecision(3)} ms per ${m.phase} call > s* ${sloMs} ms`);
  }
  return { pass: reasons.length === 0, reasons, maxRelError, sloMs };
}
