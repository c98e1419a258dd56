import { familyOf } from '../families.js';
import { checkGates, type Gates, type GateVerdict } from '../gates.js';
import type { Measurement } from '../schemas.js';
import { statusOf } from '../validity.js';
import type { MeasurementRow } from './types.js';

export const loose = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, unknown>) : {});
export const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
export const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
export function validityOf(m: Measurement): { valid: boolean; reasons: string[]; warnings: string[] } {
  return statusOf(m);
}

/** The (q*, s*) verdict; a lever set this etok does not know fails the gate with the reason instead of failing the report. */
export function gateOf(m: Measurement, gates: Gates): GateVerdict {
  try {
    return checkGates(m, gates);
  } catch (error) {
    return {
      pass: false,
      reasons: [`not judged: ${(error as Error).message}`],
      maxRelError: null,
      sloMs: null,
    };
  }
}

export function rowOf(m: Measurement, gates: Gates): MeasurementRow {
  const { valid, reasons, warnings } = validityOf(m);
  const energy = loose(m.energy);
  const prov = loose(loose(m).provenance);
  const tokens = m.tokens;
  return {
    id: m.id,
    variant: m.variant,
    family: familyOf(m),
    phase: m.phase,
    dtype: m.dtype,
    shape: { ...m.shape },
    tokensPerCall: tokens,
    valid,
    invalidReasons: reasons,
    warnings,
    throttled: m.throttled,
    gate: gateOf(m, gates),
    joulesPerToken: m.energy.joulesPerToken,
    ciLowJoulesPerToken:
      num(energy.ciLowJoulesPerToken) ?? (num(energy.ciLowJoulesPerCall) ?? Number.NaN) / tokens,
    ciHighJoulesPerToken:
      num(energy.ciHighJoulesPerToken) ?? (num(energy.ciHighJoulesPerCall) ?? Number.NaN) / tokens,
    joulesPerCall: m.energy.joulesPerCall,
    avgPowerW: m.energy.avgPowerW,
    medianS: m.time.medianS,
    ciLowS: m.time.ciLowS,
    ciHighS: m.time.ciHighS,
    tokensPerSecond: tokens / m.time.medianS,
    flopsPerToken: m.flops / tokens,
    achievedFlopsPerS: m.flops / m.time.medianS,
    achievedBytesPerS: m.bytes / m.time.medianS,
    arithmeticIntensity: m.flops / m.bytes,
    relErrorVsDense: m.quality.relErrorVsDense,
    relErrorVsExact: m.quality.relErrorVsExact,
    ...(m.quality.sample ? { qualitySample: m.quality.sample } : {}),
    windows: m.energy.windows.length,
    trials: num(prov.trials),
    stopReason: str(prov.stopReason),
  };
}

export function fixNaN(row: MeasurementRow): MeasurementRow {
  if (!Number.isFinite(row.ciLowJoulesPerToken ?? Number.NaN)) row.ciLowJoulesPerToken = null;
  if (!Number.isFinite(row.ciHighJoulesPerToken ?? Number.NaN)) row.ciHighJoulesPerToken = null;
  return row;
}
