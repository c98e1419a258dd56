// The energy-to-token production function (docs/spec.md §1):
//     Q̇ = min( K_eff / c_tok , θ · P_facility / e_tok ) × Φ × U,   P_facility = facility power / PUE,
// with the binding-constraint diagnostic ρ = e_tok / c_tok against ρ* = θ · P_facility / K_eff (J/PFLOP).
// ρ − ρ* > 0 ⇔ the power ceiling is the smaller argument of the min. Both are decided by ONE comparison of the
// two ceilings, so the verdict and the min can never disagree, even in a rounding tie.
// Builds the object `etok tpf --json` prints (docs/spec.md §6); what-if sweeps are rows of the same object.

import { EtokError } from './errors.js';
import { familyRows } from './families.js';
import { checkGates, type Gates } from './gates.js';
import type { Measurement } from './schemas.js';
import {
  computeRate,
  energyPerCompute,
  type FlopsPerSecond,
  type FlopsPerToken,
  flopsPerSecond,
  flopsPerToken,
  type JoulesPerPetaflop,
  type JoulesPerToken,
  joulesPerPetaflop,
  joulesPerToken,
  parseAmount,
  powerPerCompute,
  powerRate,
  type Ratio,
  type TokensPerSecond,
  tokensPerSecond,
  type Unit,
  type Watts,
  watts,
} from './units.js';
import { statusOf } from './validity.js';

export interface TpfInputs {
  /** Effective compute at the operating point (realized, unless stated otherwise in `kEffSource`). */
  kEff: FlopsPerSecond;
  cTok: FlopsPerToken;
  eTok: JoulesPerToken;
  /** Facility power, before PUE. */
  facilityPower: Watts;
  /** Defaults: PUE 1, θ 1, U 1, Φ 1. */
  pue?: Ratio;
  theta?: Ratio;
  utilization?: Ratio;
  phi?: Ratio;
  /** The device's peak compute (measured or datasheet), reported beside the realized figure, labelled. */
  peakKEff?: FlopsPerSecond;
  /** Where each figure came from, carried into the output (e.g. `measured: dense/decode/…`, `flag`). */
  sources?: Partial<Record<'kEff' | 'cTok' | 'eTok' | 'peakKEff', string>>;
}

export type Binding = 'compute' | 'power';

/** The object of `etok tpf --json` (docs/spec.md §6); tokens/s and J/PFLOP. */
export interface TpfResult {
  qdot: TokensPerSecond;
  computeCeiling: TokensPerSecond;
  powerCeiling: TokensPerSecond;
  binding: Binding;
  rho: JoulesPerPetaflop;
  rhoStar: JoulesPerPetaflop;
  rhoMinusRhoStar: JoulesPerPetaflop;
  /** P_facility = facility power / PUE, the IT power the ceilings use. */
  itPowerW: Watts;
  inputs: {
    kEffFlopsPerS: number;
    cTokFlopsPerToken: number;
    eTokJoulesPerToken: number;
    facilityPowerW: number;
    pue: number;
    theta: number;
    utilization: number;
    phi: number;
    sources: Partial<Record<'kEff' | 'cTok' | 'eTok' | 'peakKEff', string>>;
  };
  /** The same figures at the peak K_eff, when one was given (labelled: a ceiling the operating point may not reach). */
  atPeak?: {
    kEffFlopsPerS: number;
    qdot: TokensPerSecond;
    computeCeiling: TokensPerSecond;
    binding: Binding;
    rhoStar: JoulesPerPetaflop;
    rhoMinusRhoStar: JoulesPerPetaflop;
  };
}

function fail(message: string): never {
  throw new EtokError('BAD_USAGE', message);
}

/** Checks every input, naming the offending one in one line. */
export function validateTpfInputs(inputs: TpfInputs): void {
  const { kEff, cTok, eTok, facilityPower, pue = 1, theta = 1, utilization = 1, phi = 1, peakKEff } = inputs;
  const positive: [string, number, string][] = [
    ['--keff', kEff, 'FLOP/s'],
    ['--ctok', cTok, 'FLOP/token'],
    ['--etok', eTok, 'J/token'],
    ['--facility-power', facilityPower, 'W'],
  ];
  for (const [name, x, unit] of positive)
    if (!Number.isFinite(x) || x <= 0)
      fail(`${name} ${x} is not valid; expected a positive number of ${unit}`);
  if (!Number.isFinite(pue) || pue < 1)
    fail(`--pue ${pue} is not valid; PUE (facility power / IT power) is ≥ 1`);
  if (!Number.isFinite(utilization) || utilization <= 0 || utilization > 1)
    fail(`--util ${utilization} is not valid; utilization U is in (0, 1]`);
  if (!Number.isFinite(theta) || theta <= 0)
    fail(`--theta ${theta} is not valid; θ is > 0 (1 at a shared boundary)`);
  if (!Number.isFinite(phi) || phi < 0) fail(`--phi ${phi} is not valid; Φ is ≥ 0 (1 = baseline)`);
  if (peakKEff !== undefined && (!Number.isFinite(peakKEff) || peakKEff <= 0))
    fail(`--peak-keff ${peakKEff} is not valid; expected a positive number of FLOP/s`);
}

/** Ceilings, binding stave and ρ − ρ*, all from one comparison (see the file header). */
function evaluate(
  kEff: FlopsPerSecond,
  cTok: FlopsPerToken,
  eTok: JoulesPerToken,
  itPower: Watts,
  scale: number,
) {
  const computeCeiling = computeRate(kEff, cTok);
  const powerCeiling = powerRate(itPower, eTok);
  const binding: Binding = powerCeiling < computeCeiling ? 'power' : 'compute';
  const rho = energyPerCompute(eTok, cTok);
  const rhoStar = powerPerCompute(itPower, kEff);
  let diff = rho - rhoStar;
  // ρ − ρ* and the ceilings' order are the same comparison in exact arithmetic; within rounding of a tie their
  // signs could differ, and then the tie is the truth: report 0 rather than a verdict that contradicts the min.
  if ((binding === 'power' && diff < 0) || (binding === 'compute' && diff > 0)) diff = 0;
  const min = binding === 'power' ? powerCeiling : computeCeiling;
  return {
    qdot: tokensPerSecond(min * scale),
    computeCeiling,
    powerCeiling,
    binding,
    rho,
    rhoStar,
    rhoMinusRhoStar: joulesPerPetaflop(diff),
  };
}

export function productionFunction(inputs: TpfInputs): TpfResult {
  validateTpfInputs(inputs);
  const { kEff, cTok, eTok, facilityPower, pue = 1, theta = 1, utilization = 1, phi = 1, peakKEff } = inputs;
  const itPower = watts((theta * facilityPower) / pue);
  const scale = phi * utilization;
  const main = evaluate(kEff, cTok, eTok, itPower, scale);
  const result: TpfResult = {
    ...main,
    itPowerW: watts(facilityPower / pue),
    inputs: {
      kEffFlopsPerS: kEff,
      cTokFlopsPerToken: cTok,
      eTokJoulesPerToken: eTok,
      facilityPowerW: facilityPower,
      pue,
      theta,
      utilization,
      phi,
      sources: { ...inputs.sources },
    },
  };
  if (peakKEff !== undefined) {
    const p = evaluate(peakKEff, cTok, eTok, itPower, scale);
    result.atPeak = {
      kEffFlopsPerS: peakKEff,
      qdot: p.qdot,
      computeCeiling: p.computeCeiling,
      binding: p.binding,
      rhoStar: p.rhoStar,
      rhoMinusRhoStar: p.rhoMinusRhoStar,
    };
  }
  return result;
}

/** e_tok, c_tok and realized K_eff (flops / median time per call) of one measurement. */
export function tpfFiguresFromMeasurement(
  m: Measurement,
  modeled = false,
): Pick<TpfInputs, 'kEff' | 'cTok' | 'eTok' | 'sources'> {
  if (!(m.tokens > 0)) fail(`measurement ${m.id} has no tokens per call`);
  if (!(m.time.medianS > 0)) fail(`measurement ${m.id} has no median time`);
  const label = `${modeled ? 'MODELED (a stated power model, not measured)' : 'measured'}: ${m.id}`;
  return {
    eTok: joulesPerToken(m.energy.joulesPerToken),
    cTok: flopsPerToken(m.flops / m.tokens),
    kEff: flopsPerSecond(m.flops / m.time.medianS),
    sources: {
      eTok: label,
      cTok: `analytic cost model: ${m.id}`,
      kEff: `realized (flops / median time): ${m.id}`,
    },
  };
}

/**
 * The measurement `etok tpf --results` reads when nothing names one and the file holds several: the best of etok's
 * lever sets that is valid and meets (q*, s*) (the lowest J/token) at the first operating point, else the baseline;
 * `reason` says which and why. Fails, listing what is there, when no row is usable.
 */
export function chooseForTpf(
  measurements: readonly Measurement[],
  gates: Gates,
  baseline = 'dense',
): { measurement: Measurement; reason: string } {
  const own = familyRows(measurements).filter((m) => statusOf(m).valid && m.energy.joulesPerToken > 0);
  if (own.length === 0)
    fail(
      `no usable measurement of etok's lever sets in the results (${measurements.map((m) => `${m.id}: ${statusOf(m).valid ? 'no energy' : statusOf(m).reasons.join(', ')}`).join('; ') || 'none'})`,
    );
  const point = (m: Measurement) => m.id.slice(m.variant.length);
  const first = point(own[0]!);
  const atPoint = own.filter((m) => point(m) === first);
  const passing = atPoint.filter((m) => checkGates(m, gates).pass);
  if (passing.length > 0) {
    const best = passing.reduce((b, m) => (m.energy.joulesPerToken < b.energy.joulesPerToken ? m : b));
    return {
      measurement: best,
      reason: `${best.variant}: the lowest J/token of the ${passing.length} lever set(s) at ${first.slice(1)} that are valid and meet (q*, s*); choose another with --variant`,
    };
  }
  const base = atPoint.find((m) => m.variant === baseline);
  if (base)
    return {
      measurement: base,
      reason: `${baseline}: no lever set at ${first.slice(1)} meets (q*, s*), so the baseline; choose another with --variant`,
    };
  return fail(
    `no lever set at ${first.slice(1)} meets (q*, s*) and ${baseline} is not usable there; choose one with --variant or --measurement (${atPoint.map((m) => m.id).join(', ')})`,
  );
}

/** The one measurement `etok tpf --results` should read: filtered by id, variant and phase; exactly one must remain. */
export function selectMeasurement(
  measurements: readonly Measurement[],
  filter: { id?: string; variant?: string; phase?: string },
): Measurement {
  const matches = measurements.filter(
    (m) =>
      (filter.id === undefined || m.id === filter.id) &&
      (filter.variant === undefined || m.variant === filter.variant) &&
      (filter.phase === undefined || m.phase === filter.phase),
  );
  const what = [
    filter.id && `id ${filter.id}`,
    filter.variant && `variant ${filter.variant}`,
    filter.phase && `phase ${filter.phase}`,
  ]
    .filter(Boolean)
    .join(', ');
  if (matches.length === 0)
    fail(
      `no measurement in the results matches ${what || 'anything'}; ids there: ${measurements.map((m) => m.id).join(', ') || 'none'}`,
    );
  if (matches.length > 1)
    fail(
      `${matches.length} measurements match${what ? ` ${what}` : ''}; choose one with --variant and --phase, or --measurement ID (${matches.map((m) => m.id).join(', ')})`,
    );
  return matches[0]!;
}

// What-if sweeps ------------------------------------------------------------------------------------------------

export const SWEEP_PARAMETERS = [
  'pue',
  'facility-power',
  'phi',
  'theta',
  'util',
  'keff',
  'ctok',
  'etok',
] as const;
export type SweepParameter = (typeof SWEEP_PARAMETERS)[number];

/** The unit each swept parameter is given in (for tables and chart axes). */
export const SWEEP_UNITS: Record<SweepParameter, Unit> = {
  pue: '1',
  'facility-power': 'W',
  phi: '1',
  theta: '1',
  util: '1',
  keff: 'FLOP/s',
  ctok: 'FLOP/token',
  etok: 'J/token',
};

export interface SweepSpec {
  parameter: SweepParameter;
  values: number[];
}

/** Points when a range gives no step: start, stop and 9 between. */
export const DEFAULT_SWEEP_POINTS = 11;
const MAX_SWEEP_POINTS = 10_000;

const tidy = (x: number) => Number(x.toPrecision(12));

/**
 * `pue=1.1:2.0` (11 points), `pue=1.1:2.0:0.1` (a step), `pue=1.1:2.0/5` (5 points) or `pue=1.1,1.5,2`;
 * numbers may carry an SI suffix (`facility-power=10M:40M`).
 */
export function parseSweep(text: string): SweepSpec {
  const bad = (why: string): never =>
    fail(
      `--sweep '${text}' is not valid: ${why}; expected NAME=START:STOP[:STEP], NAME=START:STOP/POINTS or NAME=A,B,C with NAME one of ${SWEEP_PARAMETERS.join(', ')}`,
    );
  const eq = text.indexOf('=');
  if (eq < 0) bad('no =');
  const parameter = text.slice(0, eq).trim();
  if (!(SWEEP_PARAMETERS as readonly string[]).includes(parameter)) bad(`unknown parameter '${parameter}'`);
  const spec = text.slice(eq + 1).trim();
  const num = (s: string) => {
    const x = parseAmount(s);
    if (x === null || !Number.isFinite(x)) bad(`'${s}' is not a number`);
    return x!;
  };
  let values: number[];
  if (spec.includes(':')) {
    const [range, pointsText] = spec.split('/');
    const parts = range!.split(':');
    if (parts.length > 3) bad('too many colons');
    const start = num(parts[0]!);
    const stop = num(parts[1]!);
    if (stop < start) bad('STOP is below START');
    if (parts.length === 3) {
      if (pointsText !== undefined) bad('give a STEP or /POINTS, not both');
      const step = num(parts[2]!);
      if (step <= 0) bad('STEP must be > 0');
      const count = Math.floor((stop - start) / step + 1e-9) + 1;
      if (count > MAX_SWEEP_POINTS) bad(`${count} points is more than ${MAX_SWEEP_POINTS}`);
      values = Array.from({ length: count }, (_, i) => tidy(start + i * step));
    } else {
      const points = pointsText === undefined ? DEFAULT_SWEEP_POINTS : num(pointsText);
      if (!Number.isInteger(points) || points < 2 || points > MAX_SWEEP_POINTS)
        bad(`POINTS must be an integer from 2 to ${MAX_SWEEP_POINTS}`);
      values =
        start === stop
          ? [start]
          : Array.from({ length: points }, (_, i) => tidy(start + ((stop - start) * i) / (points - 1)));
    }
  } else values = spec.split(',').map(num);
  return { parameter: parameter as SweepParameter, values };
}

function withParameter(inputs: TpfInputs, parameter: SweepParameter, x: number): TpfInputs {
  switch (parameter) {
    case 'pue':
      return { ...inputs, pue: x as Ratio };
    case 'facility-power':
      return { ...inputs, facilityPower: watts(x) };
    case 'phi':
      return { ...inputs, phi: x as Ratio };
    case 'theta':
      return { ...inputs, theta: x as Ratio };
    case 'util':
      return { ...inputs, utilization: x as Ratio };
    case 'keff':
      return { ...inputs, kEff: flopsPerSecond(x) };
    case 'ctok':
      return { ...inputs, cTok: flopsPerToken(x) };
    case 'etok':
      return { ...inputs, eTok: joulesPerToken(x) };
  }
}

/**
 * The value of the swept parameter where ρ = ρ* (both ceilings equal), from K/c = θ·F/(PUE·e); null for Φ and U,
 * which scale both ceilings alike and never move the binding stave.
 */
export function crossover(inputs: TpfInputs, parameter: SweepParameter): number | null {
  const { kEff: K, cTok: c, eTok: e, facilityPower: F, pue: p = 1, theta: t = 1 } = inputs;
  switch (parameter) {
    case 'pue':
      return (t * F * c) / (e * K);
    case 'facility-power':
      return (p * e * K) / (t * c);
    case 'theta':
      return (p * e * K) / (F * c);
    case 'keff':
      return (t * F * c) / (p * e);
    case 'ctok':
      return (p * e * K) / (t * F);
    case 'etok':
      return (t * F * c) / (p * K);
    case 'phi':
    case 'util':
      return null;
  }
}

export interface SweepRow {
  parameter: SweepParameter;
  value: number;
  qdot: TokensPerSecond;
  computeCeiling: TokensPerSecond;
  powerCeiling: TokensPerSecond;
  binding: Binding;
  rho: JoulesPerPetaflop;
  rhoStar: JoulesPerPetaflop;
  rhoMinusRhoStar: JoulesPerPetaflop;
}

export interface SweepResult {
  parameter: SweepParameter;
  unit: Unit;
  rows: SweepRow[];
  /** Where the binding stave flips (ρ = ρ*), in the parameter's unit; null when it cannot flip. */
  crossover: number | null;
}

/** Q̇ and the binding stave at every value of one parameter, the others held at `inputs` (every row validated). */
export function sweepProductionFunction(inputs: TpfInputs, sweep: SweepSpec): SweepResult {
  validateTpfInputs(inputs);
  const rows = sweep.values.map((value) => {
    const r = productionFunction(withParameter(inputs, sweep.parameter, value));
    return {
      parameter: sweep.parameter,
      value,
      qdot: r.qdot,
      computeCeiling: r.computeCeiling,
      powerCeiling: r.powerCeiling,
      binding: r.binding,
      rho: r.rho,
      rhoStar: r.rhoStar,
      rhoMinusRhoStar: r.rhoMinusRhoStar,
    };
  });
  const x = crossover(inputs, sweep.parameter);
  return {
    parameter: sweep.parameter,
    unit: SWEEP_UNITS[sweep.parameter],
    rows,
    crossover: x !== null && Number.isFinite(x) ? x : null,
  };
}
