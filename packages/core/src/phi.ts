// Φ of each measured lever set against the baseline at the same operating point and the same (q*, s*)
// (docs/spec.md §1): Φ_e = e_tok(B)/e_tok(S), Φ_c = c_tok(B)/c_tok(S), the speedup (Φ on time) beside them, bootstrap CIs over
// the energy windows of both measurements; then the attribution of the composed set to its levers (Shapley over
// log Φ_e, or a stated path when subsets are missing), the interaction term and user-declared levers.
// Builds the object `etok phi --json` prints (docs/spec.md §6), so the CLI only parses flags and renders.

import { canonicalVariant, LEVERS, type Phase, parseVariant, variantLevers } from '@etok/kernels';
import { EtokError } from './errors.js';
import { familiesIn, familyRows, OWN_FAMILY } from './families.js';
import { checkGates, DEFAULT_GATES, type Gates, type GateVerdict } from './gates.js';
import type { Measurement, QualitySample, Results } from './schemas.js';
import { findPath, maskLevers, pathShares, shapleyValues } from './shapley.js';
import type { Interval } from './statistics/summary.js';
import {
  type BootstrapSettings,
  bootstrapWindows,
  DEFAULT_CONFIDENCE,
  type ResamplingMethod,
  windowProblem,
} from './statistics/window-bootstrap.js';
import { precisionText, statusOf } from './validity.js';

/** A multiplier etok does not measure (e.g. difficulty-adaptive reasoning), stated by the user. */
export interface DeclaredLever {
  lever: string;
  phi: number;
}

/** `adaptive-reasoning=1.6` → { lever, phi }; Φ must be a finite number > 0, the name not a measured lever. */
export function parseDeclaredLever(text: string): DeclaredLever {
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*=\s*(\S+)\s*$/.exec(text);
  const phi = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isFinite(phi) || phi <= 0)
    throw new EtokError(
      'BAD_USAGE',
      `--declare '${text}' is not valid; expected NAME=PHI with PHI > 0 (e.g. adaptive-reasoning=1.6)`,
    );
  const lever = m[1]!;
  if ((LEVERS as readonly string[]).includes(lever) || lever === 'dense')
    throw new EtokError(
      'BAD_USAGE',
      `--declare '${text}': ${lever} is measured by etok; declare only levers etok does not measure`,
    );
  return { lever, phi };
}

export interface PhiOptions extends BootstrapSettings {
  /** Baseline variant (default `dense`). */
  baseline?: string;
  /** The executor family whose lever sets are compared (default `etok`, its own kernels; e.g. `torch`). */
  family?: string;
  gates?: Gates;
  declared?: readonly DeclaredLever[];
  /** The composed set to attribute (default: the largest passing set that contains the baseline's levers). */
  compose?: string;
  /** Only operating points of this phase. */
  phase?: Phase;
}

export interface PhiCi extends Interval {
  level: number;
  method: ResamplingMethod;
}

export interface PhiSet {
  variant: string;
  id: string;
  pass: boolean;
  reason?: string;
  /** e_tok(B)/e_tok(S); null when the set misses a gate. */
  phiEnergy: number | null;
  /** c_tok(B)/c_tok(S) with c_tok = flops/tokens (analytic, so it has no CI). */
  phiCompute: number | null;
  /** Φ on time: t_tok(B)/t_tok(S) from median times; > 1 means faster than the baseline. Like Φ_e and Φ_c, a gain
   *  is baseline ÷ set; ratios elsewhere (compare) are set ÷ baseline, a cost. */
  speedup: number | null;
  /** Bootstrap interval of phiEnergy over the energy windows of both measurements. */
  ci: PhiCi | null;
  joulesPerToken: number;
  flopsPerToken: number;
  secondsPerToken: number;
  relErrorVsDense: number | null;
  /** Set when relErrorVsDense is of a part of the output (the references' budget). */
  qualitySample?: QualitySample;
  /** Who computed the set, in a peer family (e.g. "torch:sdpa-flash 2.11.0"). */
  implementation?: string;
  warnings: string[];
}

export interface AttributionRow {
  lever: string;
  /** The lever's multiplicative share of the composed Φ_e (exp of its Shapley value of log Φ_e, or path share). */
  phi: number | null;
  ci: PhiCi | null;
  declared: boolean;
  /** The same decomposition on the compute stave (Φ_c); null for declared levers. */
  phiCompute: number | null;
}

export interface OperatingPoint {
  phase: string;
  dtype: string;
  shape: Record<string, number>;
  params: Record<string, number | null>;
}

export interface PhiReport {
  baseline: string;
  /** The executor family whose lever sets were compared: etok's own kernels, or a peer family such as torch. */
  family: string;
  baselineId: string;
  point: OperatingPoint;
  sets: PhiSet[];
  attribution: AttributionRow[];
  /** Φ_e of the composed set × every declared multiplier; the product of `attribution[].phi`. */
  composed: number | null;
  composedCi: PhiCi | null;
  /** The measured set being attributed. */
  composedVariant: string | null;
  /** Φ(S)/Π Φ({i}) over the measured levers of the composed set (1 = the levers compose independently). */
  interaction: number | null;
  interactionCi: PhiCi | null;
  /** How attribution was done: Shapley over all subsets, a stated path, or not at all (see notes). */
  attributionMethod: 'shapley' | 'path' | 'none';
  /** For `path`: the order in which levers were added. */
  path: string[] | null;
  /** Subsets of the composed set with no Φ (not measured, or missing a gate). */
  missing: { variant: string; reason: string }[];
  notes: string[];
}

/** Shape fields that the mla lever itself changes (one latent "head" of rank + ropeDim). */
const LAYOUT_SHAPE = new Set(['kvHeads', 'headDim']);

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>, skip: Set<string>): boolean {
  for (const k of Object.keys(a)) if (!skip.has(k) && k in b && a[k] !== b[k]) return false;
  return true;
}

/** Same phase, dtype, problem size and params; layout fields are compared only between like layouts. */
const NO_SKIP = new Set<string>();
const mlaCache = new Map<string, boolean>();
const isMla = (variant: string) => {
  let v = mlaCache.get(variant);
  if (v === undefined) {
    v = parseVariant(variant).mla;
    mlaCache.set(variant, v);
  }
  return v;
};

export function samePoint(b: Measurement, s: Measurement): boolean {
  if (b.phase !== s.phase || b.dtype !== s.dtype) return false;
  const skip = isMla(b.variant) === isMla(s.variant) ? NO_SKIP : LAYOUT_SHAPE;
  return sameRecord(b.shape, s.shape, skip) && sameRecord(b.params, s.params, new Set());
}

function canonicalMeasurements(results: Results, family: string | undefined): Measurement[] {
  const rows = familyRows(results.measurements, family ?? OWN_FAMILY);
  if (rows.length === 0 && family !== undefined && family !== OWN_FAMILY)
    throw new EtokError(
      'BAD_USAGE',
      `--family ${family}: the results hold no ${family} rows; families there: ${familiesIn(results.measurements).join(', ') || 'none'}`,
    );
  return rows.map((m) => {
    try {
      return { ...m, variant: canonicalVariant(m.variant) };
    } catch (error) {
      const i = results.measurements.indexOf(m);
      const where = i >= 0 ? `field 'measurements.${i}.variant'` : `measurement '${m.id}': variant`;
      throw new EtokError('BAD_RESULTS', `${where} ${(error as Error).message}`);
    }
  });
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);
const flopsPerTokenOf = (m: Measurement) => m.flops / m.tokens;
const secondsPerTokenOf = (m: Measurement) => m.time.medianS / m.tokens;

/** What a reader should know of a usable row: throttling, an interval wider than the target (it still counts, with
 *  its interval). An invalid row is not usable at all (measurementProblem). */
function measurementWarnings(m: Measurement): string[] {
  const w: string[] = [];
  if (m.throttled) w.push('throttled during the measurement');
  const precision = precisionText(m);
  if (precision) w.push(`imprecise: ${precision}`);
  return w;
}

function energyProblem(m: Measurement): string | null {
  return m.energy.joulesPerToken > 0
    ? null
    : `energy: e_tok is ${m.energy.joulesPerToken} J/token (needs > 0)`;
}

function withCi(
  interval: Interval | null | undefined,
  method: ResamplingMethod,
  level: number,
): PhiCi | null {
  return interval ? { low: interval.low, high: interval.high, level, method } : null;
}

function scaleCi(ci: PhiCi | null, k: number): PhiCi | null {
  return ci ? { ...ci, low: ci.low * k, high: ci.high * k } : null;
}

/** Operating points: one per baseline measurement, with every measurement at the same point. */
function groupPoints(
  ms: Measurement[],
  baseline: string,
  phase?: Phase,
): { b: Measurement; members: Measurement[] }[] {
  const baselines = ms.filter((m) => m.variant === baseline && (phase === undefined || m.phase === phase));
  if (baselines.length === 0) {
    const there = [...new Set(ms.map((m) => m.variant))];
    throw new EtokError(
      'BAD_USAGE',
      `baseline '${baseline}'${phase ? ` (${phase})` : ''} is not in the results; variants there: ${there.length ? there.join(', ') : 'none'}`,
    );
  }
  // Candidates by a coarse key first (the fields every layout shares), so a file of many points is grouped in linear
  // time; samePoint decides within a bucket. Rows lacking a key field are compared with every baseline.
  const coarse = (m: Measurement): string | null => {
    const f = ['batch', 'kvLen', 'qLen', 'heads'].map((k) => m.shape[k]);
    return f.some((x) => x === undefined) ? null : `${m.phase}|${m.dtype}|${f.join('|')}`;
  };
  const buckets = new Map<string, Measurement[]>();
  const loose: Measurement[] = [];
  for (const m of ms) {
    const key = coarse(m);
    if (key === null) loose.push(m);
    else buckets.set(key, [...(buckets.get(key) ?? []), m]);
  }
  return baselines.map((b) => {
    const key = coarse(b);
    const candidates = key === null ? ms : [...(buckets.get(key) ?? []), ...loose];
    const members = candidates.filter((m) => samePoint(b, m));
    const seen = new Map<string, string>();
    for (const m of members) {
      const prev = seen.get(m.variant);
      if (prev !== undefined)
        throw new EtokError(
          'BAD_RESULTS',
          `measurements '${prev}' and '${m.id}' are the same variant ${m.variant} at the same operating point; keep one`,
        );
      seen.set(m.variant, m.id);
    }
    // Baseline first, then file order.
    return { b, members: [b, ...members.filter((m) => m !== b)] };
  });
}

interface Judged {
  m: Measurement;
  verdict: GateVerdict;
  problems: string[];
}

function buildSet(b: Judged, s: Judged, settings: BootstrapSettings): PhiSet {
  const level = settings.confidence ?? DEFAULT_CONFIDENCE;
  const reasons = [...s.verdict.reasons, ...s.problems];
  if (s !== b && (!b.verdict.pass || b.problems.length > 0))
    reasons.push(
      `baseline ${b.m.variant} misses the gate (${[...b.verdict.reasons, ...b.problems].join('; ')})`,
    );
  // Field order follows docs/spec.md §6 (variant, pass, reason, phiEnergy, phiCompute, ci), then the figures behind them.
  const figures = {
    joulesPerToken: s.m.energy.joulesPerToken,
    flopsPerToken: flopsPerTokenOf(s.m),
    secondsPerToken: secondsPerTokenOf(s.m),
    relErrorVsDense: s.m.quality.relErrorVsDense,
    ...(s.m.quality.sample ? { qualitySample: s.m.quality.sample } : {}),
    ...(s.m.implementation ? { implementation: s.m.implementation } : {}),
  };
  const warnings = measurementWarnings(s.m);
  if (reasons.length > 0)
    return {
      variant: s.m.variant,
      id: s.m.id,
      pass: false,
      reason: reasons.join('; '),
      phiEnergy: null,
      phiCompute: null,
      speedup: null,
      ci: null,
      ...figures,
      warnings,
    };
  const problem = windowProblem(b.m) ?? windowProblem(s.m);
  let ci: PhiCi | null = null;
  if (problem) warnings.push(`no CI: ${problem}`);
  else {
    const boot = bootstrapWindows([b.m, s.m], (e) => [e[0]! / e[1]!], `phi|${b.m.id}|${s.m.id}`, settings);
    ci = withCi(boot.intervals[0], boot.method, level);
  }
  return {
    variant: s.m.variant,
    id: s.m.id,
    pass: true,
    phiEnergy: b.m.energy.joulesPerToken / s.m.energy.joulesPerToken,
    phiCompute: finiteOrNull(flopsPerTokenOf(b.m) / flopsPerTokenOf(s.m)),
    speedup: finiteOrNull(secondsPerTokenOf(b.m) / secondsPerTokenOf(s.m)),
    ci,
    ...figures,
    warnings,
  };
}

function leverSet(variant: string): string[] {
  return variantLevers(parseVariant(variant));
}

function variantOf(levers: readonly string[]): string {
  return levers.length === 0 ? 'dense' : canonicalVariant(levers.join('+'));
}

interface Attribution {
  attribution: AttributionRow[];
  composed: number | null;
  composedCi: PhiCi | null;
  composedVariant: string | null;
  interaction: number | null;
  interactionCi: PhiCi | null;
  attributionMethod: PhiReport['attributionMethod'];
  path: string[] | null;
  missing: PhiReport['missing'];
  notes: string[];
}

function attribute(b: Judged, judged: Judged[], sets: PhiSet[], options: PhiOptions): Attribution {
  const level = options.confidence ?? DEFAULT_CONFIDENCE;
  const declared = options.declared ?? [];
  const declaredProduct = declared.reduce((p, d) => p * d.phi, 1);
  const declaredRows: AttributionRow[] = declared.map((d) => ({
    lever: d.lever,
    phi: d.phi,
    ci: null,
    declared: true,
    phiCompute: null,
  }));
  const notes: string[] = [];
  const none = (note: string): Attribution => ({
    attribution: declaredRows,
    composed: null,
    composedCi: null,
    composedVariant: null,
    interaction: null,
    interactionCi: null,
    attributionMethod: 'none',
    path: null,
    missing: [],
    notes: [...notes, note],
  });
  const passing = new Map<string, { j: Judged; set: PhiSet }>();
  judged.forEach((j, i) => {
    if (sets[i]!.pass) passing.set(j.m.variant, { j, set: sets[i]! });
  });
  if (!passing.has(b.m.variant)) return none(`no attribution: baseline ${b.m.variant} misses the gate`);

  const baseLevers = leverSet(b.m.variant);
  const contains = (v: string) => baseLevers.every((l) => leverSet(v).includes(l));
  let target: string;
  if (options.compose !== undefined) {
    target = canonicalVariant(options.compose);
    if (!contains(target))
      throw new EtokError(
        'BAD_USAGE',
        `--compose ${target} does not contain the baseline's levers (${b.m.variant})`,
      );
    if (!passing.has(target)) {
      const present = judged.some((j) => j.m.variant === target);
      return none(
        `no attribution: composed set ${target} ${present ? 'misses the gate' : 'is not measured at this point'}`,
      );
    }
  } else {
    const candidates = [...passing.keys()].filter(contains);
    const extra = (v: string) => leverSet(v).length - baseLevers.length;
    const coverage = (v: string) => {
      const levers = leverSet(v).filter((l) => !baseLevers.includes(l));
      let c = 0;
      for (let mask = 0; mask < 1 << levers.length; mask++)
        if (passing.has(variantOf([...baseLevers, ...maskLevers(levers, mask)]))) c++;
      return c;
    };
    // Candidates keep file order, so a remaining tie goes to the first measured.
    target = candidates.reduce((best, v) =>
      extra(v) > extra(best) || (extra(v) === extra(best) && coverage(v) > coverage(best)) ? v : best,
    );
    const ties = candidates.filter(
      (v) => v !== target && extra(v) === extra(target) && coverage(v) === coverage(target),
    );
    if (ties.length > 0)
      notes.push(
        `composed set ${target} chosen over ${ties.join(', ')} (same size and coverage; first in the file); use --compose to pick`,
      );
  }

  const levers = leverSet(target).filter((l) => !baseLevers.includes(l));
  const n = levers.length;
  const full = (1 << n) - 1;
  const subsetVariant = (mask: number) => variantOf([...baseLevers, ...maskLevers(levers, mask)]);
  const available = (mask: number) => passing.has(subsetVariant(mask));
  const missing: PhiReport['missing'] = [];
  for (let mask = 1; mask < full; mask++) {
    if (available(mask)) continue;
    const v = subsetVariant(mask);
    const j = judged.findIndex((x) => x.m.variant === v);
    missing.push({
      variant: v,
      reason: j < 0 ? 'not measured' : `no Φ: ${sets[j]!.reason ?? 'fails the gate'}`,
    });
  }
  const eOf = (mask: number) => passing.get(subsetVariant(mask))!.j.m.energy.joulesPerToken;
  const cOf = (mask: number) => flopsPerTokenOf(passing.get(subsetVariant(mask))!.j.m);
  const composedMeasured = eOf(0) / eOf(full);

  let method: PhiReport['attributionMethod'];
  let order: number[] | null = null;
  if (missing.length === 0) method = 'shapley';
  else {
    order = findPath(n, available);
    method = order ? 'path' : 'none';
    notes.push(
      order
        ? `Shapley values need all ${1 << n} subsets; ${missing.length} missing (${missing.map((m) => m.variant).join(', ')}), so shares follow the path ${['∅', ...order.map((i) => levers[i]!)].join(' → ')} (adding levers in that order along measured subsets)`
        : `no attribution: missing ${missing.map((m) => m.variant).join(', ')} leaves no chain of measured subsets from ${b.m.variant} to ${target}`,
    );
  }

  const logShares = (v: (mask: number) => number): number[] | null =>
    method === 'shapley' ? shapleyValues(n, v) : order ? pathShares(order, v) : null;
  const eShares = logShares((mask) => Math.log(eOf(0) / eOf(mask)));
  const cShares = logShares((mask) => Math.log(cOf(0) / cOf(mask)));
  const singlesAvailable = levers.every((_, i) => available(1 << i));
  const interactionOf = (e: (mask: number) => number) => {
    let prod = 1;
    for (let i = 0; i < n; i++) prod *= e(0) / e(1 << i);
    return e(0) / e(full) / prod;
  };
  const interaction = singlesAvailable ? interactionOf(eOf) : null;
  if (!singlesAvailable) notes.push('no interaction term: not every single lever has a Φ');

  // Bootstrap: resample the windows of every subset measurement (the baseline included) jointly.
  const masks = Array.from({ length: full + 1 }, (_, mask) => mask).filter(available);
  const ms = masks.map((mask) => passing.get(subsetVariant(mask))!.j.m);
  const problem = ms.map(windowProblem).find((p) => p !== null) ?? null;
  let shareCis: (PhiCi | null)[] = levers.map(() => null);
  let composedCi: PhiCi | null = null;
  let interactionCi: PhiCi | null = null;
  if (problem) notes.push(`no attribution CIs: ${problem}`);
  else {
    const boot = bootstrapWindows(
      ms,
      (e) => {
        const at = (mask: number) => e[masks.indexOf(mask)]!;
        const shares = logShares((mask) => Math.log(at(0) / at(mask)));
        return [
          ...(shares ? shares.map(Math.exp) : levers.map(() => Number.NaN)),
          at(0) / at(full),
          singlesAvailable ? interactionOf(at) : Number.NaN,
        ];
      },
      `attribution|${ms.map((m) => m.id).join('|')}`,
      options,
    );
    shareCis = levers.map((_, i) => withCi(boot.intervals[i], boot.method, level));
    composedCi = scaleCi(withCi(boot.intervals[n], boot.method, level), declaredProduct);
    interactionCi = withCi(boot.intervals[n + 1], boot.method, level);
  }

  const measuredRows: AttributionRow[] = levers.map((lever, i) => ({
    lever,
    phi: eShares ? Math.exp(eShares[i]!) : null,
    ci: eShares ? shareCis[i]! : null,
    declared: false,
    phiCompute: cShares ? finiteOrNull(Math.exp(cShares[i]!)) : null,
  }));
  if (declared.length > 0)
    notes.push(
      `declared levers (${declared.map((d) => `${d.lever} ×${d.phi}`).join(', ')}) are stated by the user, not measured; they multiply into the composed Φ as independent`,
    );
  return {
    attribution: [...measuredRows, ...declaredRows],
    composed: composedMeasured * declaredProduct,
    composedCi,
    composedVariant: target,
    interaction,
    interactionCi: singlesAvailable ? interactionCi : null,
    attributionMethod: method,
    path: order ? order.map((i) => levers[i]!) : null,
    missing,
    notes,
  };
}

/** One Φ report per operating point (each baseline measurement), in file order. */
export function buildPhiReports(results: Results, options: PhiOptions = {}): PhiReport[] {
  const baseline = canonicalVariant(options.baseline ?? 'dense');
  const gates = options.gates ?? DEFAULT_GATES;
  const declaredNames = new Set<string>();
  for (const d of options.declared ?? []) {
    if (declaredNames.has(d.lever)) throw new EtokError('BAD_USAGE', `--declare names ${d.lever} twice`);
    declaredNames.add(d.lever);
  }
  const ms = canonicalMeasurements(results, options.family);
  return groupPoints(ms, baseline, options.phase).map(({ b, members }) => {
    const judged: Judged[] = members.map((m) => {
      const status = statusOf(m);
      const problems = [
        ...(status.valid ? [] : [`invalid measurement: ${status.reasons.join(', ')}`]),
        ...[energyProblem(m)].filter((p): p is string => p !== null),
      ];
      return { m, verdict: checkGates(m, gates), problems };
    });
    const bj = judged[0]!;
    const sets = judged.map((s) => buildSet(bj, s, options));
    const a = attribute(bj, judged, sets, options);
    // docs/spec.md §6 fields first: baseline, sets, attribution, composed, interaction.
    return {
      baseline: b.variant,
      family: options.family ?? OWN_FAMILY,
      sets,
      attribution: a.attribution,
      composed: a.composed,
      interaction: a.interaction,
      baselineId: b.id,
      point: { phase: b.phase, dtype: b.dtype, shape: { ...b.shape }, params: { ...b.params } },
      composedVariant: a.composedVariant,
      composedCi: a.composedCi,
      interactionCi: a.interactionCi,
      attributionMethod: a.attributionMethod,
      path: a.path,
      missing: a.missing,
      notes: a.notes,
    };
  });
}

/**
 * The `etok phi --json` object (docs/spec.md §6): the first operating point's report at the top level, and every
 * point's report under `points` (a results file may hold several shapes or phases).
 */
export function buildPhiJson(
  results: Results,
  options: PhiOptions = {},
): PhiReport & { points: PhiReport[] } {
  const reports = buildPhiReports(results, options);
  return { ...reports[0]!, points: reports };
}
