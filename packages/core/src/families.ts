// Executor families in a results file. etok's own kernels are one family; each peer family (torch, onnx) another;
// users' plugins and Python callables are kernels of their own, not lever sets. Φ, attribution and the
// production function compare lever sets within one family, so a lever's gain is never the difference between
// two implementations.
import { canonicalVariant } from '@etok/kernels';
import type { Measurement } from './schemas.js';
import { statusOf } from './validity.js';

export const OWN_FAMILY = 'etok';

/** The family a row belongs to: its peer family, or etok for etok's own kernels; null for users' kernels. */
export function familyOf(m: Measurement): string | null {
  if (m.peer) return m.peer.family;
  if (m.executor === undefined || m.executor === 'etok') return OWN_FAMILY;
  return null;
}

const validOf = (m: Measurement) => statusOf(m).valid;

/** The part of a configuration id after its variant: the operating point (phase, dtype, shape). */
function pointOf(m: Measurement): string {
  return m.id.slice(m.variant.length);
}

/**
 * The rows of one family as lever sets: etok's own rows as they are; a peer family's rows renamed to the lever set
 * they compute, keeping at each operating point its best implementation (the lowest J/token among valid rows, else
 * among all) and saying which in `implementation`.
 */
export function familyRows(measurements: readonly Measurement[], family = OWN_FAMILY): Measurement[] {
  if (family === OWN_FAMILY) return measurements.filter((m) => familyOf(m) === OWN_FAMILY);
  const best = new Map<string, Measurement>();
  for (const m of measurements) {
    if (m.peer?.family !== family) continue;
    const key = `${canonicalVariant(m.peer.leverSet)}${pointOf(m)}`;
    const current = best.get(key);
    const better =
      !current ||
      (validOf(m) && !validOf(current)) ||
      (validOf(m) === validOf(current) && m.energy.joulesPerToken < current.energy.joulesPerToken);
    if (better) best.set(key, m);
  }
  return [...best.values()].map((m) => ({
    ...m,
    id: `${m.peer!.leverSet}${pointOf(m)}`,
    variant: m.peer!.leverSet,
    implementation: `${m.peer!.family}:${m.peer!.name}${m.peer!.version ? ` ${m.peer!.version}` : ''}`,
  }));
}

/** The families present in a file, etok's first. */
export function familiesIn(measurements: readonly Measurement[]): string[] {
  const seen = new Set<string>();
  for (const m of measurements) {
    const f = familyOf(m);
    if (f) seen.add(f);
  }
  return [...seen].sort((a, b) => (a === OWN_FAMILY ? -1 : b === OWN_FAMILY ? 1 : a.localeCompare(b)));
}

/** An etok configuration beside the best implementation of its lever set in one peer family. */
export interface PeerComparison {
  /** etok's configuration id. */
  id: string;
  family: string;
  /** e.g. "torch:sdpa-flash 2.11.0". */
  implementation: string;
  etok: Measurement;
  peer: Measurement;
  /** peer ÷ etok: > 1 means the peer costs more joules per token (or more time) than etok's kernel. */
  joulesPerTokenRatio: number;
  timeRatio: number;
}

/** For each of etok's own configurations and each peer family measured beside it, its best implementation there. */
export function peerComparisons(measurements: readonly Measurement[]): PeerComparison[] {
  const own = new Map(measurements.filter((m) => familyOf(m) === OWN_FAMILY).map((m) => [m.id, m]));
  const out: PeerComparison[] = [];
  for (const family of familiesIn(measurements)) {
    if (family === OWN_FAMILY) continue;
    for (const best of familyRows(measurements, family)) {
      const etok = own.get(best.id);
      if (!etok) continue;
      const peer = best; // the peer's own figures; only its id and variant name the lever set
      out.push({
        id: etok.id,
        family,
        implementation: best.implementation ?? family,
        etok,
        peer,
        joulesPerTokenRatio: peer.energy.joulesPerToken / etok.energy.joulesPerToken,
        timeRatio: peer.time.medianS / etok.time.medianS,
      });
    }
  }
  return out;
}
