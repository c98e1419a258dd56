// The disclosure report as data: the paper's six disclosure dimensions (J/token at a stated (q*, s*), the binding
// constraint with ρ − ρ*, PUE-adjusted wall-plug power, the K_eff convention, utilization-adjusted token output,
// the energy-accounting boundary), each filled from measurements where measured, from flags where declared and
// marked missing otherwise; plus the tables and series the renderers draw. Building the model never formats for a
// particular output; each renderer (markdown, latex, html, json) escapes everything it writes (see escape.ts).
// Invalid measurements (valid: false) are kept, marked with their reasons, and kept out of every derived figure.

import { canonicalVariant } from '@etok/kernels';
import { EtokError } from '../errors.js';
import { familyOf, OWN_FAMILY, peerComparisons } from '../families.js';
import { checkGates, type Gates, type GateVerdict, resolveGates } from '../gates.js';
import { buildPhiReports, type PhiReport } from '../phi.js';
import { productionFunction, type TpfResult } from '../production-function.js';
import type { AccountingBoundary, Measurement, QualitySample, Results } from '../schemas.js';
import { maxOf, minOf } from '../statistics/summary.js';
import {
  flopsPerSecond,
  flopsPerToken,
  formatQuantity,
  joulesPerToken,
  ratio,
  type Unit,
  watts,
} from '../units.js';
import { statusOf } from '../validity.js';

export const REPORT_SCHEMA_ID = 'etok.report/v1';

const TIMELINE_MAX_GAP_S = 2;
const TIMELINE_CUT_GAP_S = 0.5;

/** A piece of prose: plain text, or text with a role the renderer maps to its markup. All of it is escaped. */
export type Segment = string | { strong: string } | { code: string } | { em: string };
export type Rich = Segment[];

/** Where a figure came from. `modeled` energy is never passed off as `measured`. */
export type FigureStatus = 'measured' | 'modeled' | 'declared' | 'derived' | 'missing';

export interface ReportOptions {
  /** Facility power in W (before PUE), declared. */
  facilityPowerW?: number;
  /** PUE, declared; overrides the results file's `accounting.pue`. */
  pue?: number;
  /** Accounting boundary, declared; overrides the results file's `accounting.boundary`. */
  boundary?: AccountingBoundary;
  /** Utilization U in (0, 1], declared. */
  utilization?: number;
  /** θ, the conversion constant between e_tok's and P_facility's boundaries (default 1). */
  theta?: number;
  /** q* and s* as `etok bench` and `etok phi` take them. */
  quality?: string;
  sloMs?: string;
  /** The lever set the headline figures are about (default: the lowest passing J/token at the first point). */
  variant?: string;
  /** Φ baseline (default dense). */
  baseline?: string;
}

export interface EnergySource {
  meterId: string;
  meterKind: string;
  method: string;
  measured: boolean;
  /** `measured` or `MODELED`, as printed beside every joule figure. */
  label: 'measured' | 'MODELED';
  /** What the meter covers (board, package, a model's stated scope). */
  meterBoundary: string;
  /** The energy-accounting boundary (chip, server, rack, facility). */
  accountingBoundary: string;
}

export interface MeasurementRow {
  id: string;
  variant: string;
  /** etok's own kernels ('etok'), a peer family ('torch', 'onnx'), or null for a user's kernel. */
  family: string | null;
  /** The results file the row comes from (a report of several files names it beside each row). */
  source?: string;
  phase: string;
  dtype: string;
  shape: Record<string, number>;
  tokensPerCall: number;
  valid: boolean;
  /** Why the measurement is invalid (the harness's validity reasons); empty when valid. */
  invalidReasons: string[];
  /** Precision warnings: the interval stayed wider than the target (the row is used, with that interval). */
  warnings: string[];
  throttled: boolean;
  gate: GateVerdict;
  joulesPerToken: number;
  ciLowJoulesPerToken: number | null;
  ciHighJoulesPerToken: number | null;
  joulesPerCall: number;
  avgPowerW: number;
  medianS: number;
  ciLowS: number;
  ciHighS: number;
  tokensPerSecond: number;
  flopsPerToken: number;
  achievedFlopsPerS: number;
  achievedBytesPerS: number;
  arithmeticIntensity: number;
  relErrorVsDense: number | null;
  /** Against the variant's own fp64 reference (for a peer: how exactly it computes the lever set). */
  relErrorVsExact: number | null;
  /** Set when relErrorVsDense is of a part of the output (the references' budget). */
  qualitySample?: QualitySample;
  windows: number;
  trials: number | null;
  stopReason: string | null;
}

export interface Dimension {
  key: 'joules-per-token' | 'binding-constraint' | 'facility-power' | 'k-eff' | 'token-output' | 'boundary';
  title: string;
  status: FigureStatus;
  lines: Rich[];
  /** The figures behind the lines, for scripts (units in the names). */
  values: Record<string, number | string | boolean | null>;
}

export interface TimelineWindow {
  measurementId: string;
  variant: string;
  valid: boolean;
  /** Seconds since the run's first window began. */
  t0S: number;
  t1S: number;
  watts: number;
  joules: number;
  calls: number;
}

export interface PhiSummary {
  point: string;
  report: PhiReport | null;
  error: string | null;
}

export interface RunDisclosure {
  index: number;
  sources: string[];
  createdAt: string;
  complete: boolean;
  tool: { version: string; commit: string | null };
  device: { id: string; name: string; details: [string, string][] };
  host: [string, string][];
  energy: EnergySource;
  meterNote: string | null;
  updatePeriodMs: number;
  idleW: number;
  pue: { value: number; source: 'flag' | 'results file' };
  overhead: number;
  boundary: { value: string; source: 'flag' | 'results file' };
  theta: { value: number; source: 'flag' | 'default' };
  gates: { quality: string; qualitySource: string; service: string; serviceSource: string };
  command: string | null;
  headline: { id: string; variant: string; reason: string } | null;
  headlineMissing: string | null;
  dimensions: Dimension[];
  tpf: TpfResult | null;
  measurements: MeasurementRow[];
  /** Each of etok's configurations beside the best implementation of its lever set in each peer family measured. */
  peers: PeerRow[];
  failures: { id: string; code: string; message: string }[];
  phi: PhiSummary[];
  /** Windows in seconds since the first; `cutGaps` idle gaps longer than 2 s were cut to 0.5 s (no samples only). */
  timeline: { windows: TimelineWindow[]; samples: { tS: number; watts: number }[] | null; cutGaps: number };
  /** FLOP/s and bytes/s ceilings when the results carry them. */
  ceilings: { flopsPerSecond: number | null; bytesPerSecond: number | null; source: string | null };
  totals: { windows: number; trialsMin: number | null; trialsMax: number | null };
  notes: string[];
}

export interface PeerRow {
  id: string;
  family: string;
  implementation: string;
  etok: MeasurementRow;
  peer: MeasurementRow;
  /** peer ÷ etok; > 1: the peer spends more. */
  joulesPerTokenRatio: number;
  timeRatio: number;
}

export interface DisclosureReport {
  schema: typeof REPORT_SCHEMA_ID;
  inputs: {
    files: string[];
    facilityPowerW: number | null;
    pue: number | null;
    boundary: string | null;
    utilization: number | null;
    theta: number | null;
    quality: string | null;
    sloMs: string | null;
  };
  runs: RunDisclosure[];
}

export interface ResultsSource {
  results: Results;
  source: string;
}

// ----------------------------------------------------------------------------------------------------------------

const loose = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, unknown>) : {});
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

function validityOf(m: Measurement): { valid: boolean; reasons: string[]; warnings: string[] } {
  return statusOf(m);
}

/** The (q*, s*) verdict; a lever set this etok does not know fails the gate with the reason instead of failing the report. */
function gateOf(m: Measurement, gates: Gates): GateVerdict {
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

function rowOf(m: Measurement, gates: Gates): MeasurementRow {
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

function fixNaN(row: MeasurementRow): MeasurementRow {
  if (!Number.isFinite(row.ciLowJoulesPerToken ?? Number.NaN)) row.ciLowJoulesPerToken = null;
  if (!Number.isFinite(row.ciHighJoulesPerToken ?? Number.NaN)) row.ciHighJoulesPerToken = null;
  return row;
}

/** Files from the same device, meter and accounting are one run; others are reported side by side. */
function runKey(r: Results): string {
  const { device, meter, accounting } = r;
  return JSON.stringify([
    device.id,
    device.name,
    meter.id,
    meter.kind,
    meter.method,
    meter.boundary,
    accounting.boundary,
    accounting.pue,
  ]);
}

function groupRuns(sources: readonly ResultsSource[]): ResultsSource[][] {
  const groups = new Map<string, ResultsSource[]>();
  for (const s of sources) {
    const key = runKey(s.results);
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  return [...groups.values()];
}

function commandText(r: Results): string | null {
  const c = loose(r).command;
  if (Array.isArray(c))
    return c
      .map((a) =>
        /^[\w@%+=:,./-]+$/.test(String(a)) ? String(a) : `'${String(a).replaceAll("'", "'\\''")}'`,
      )
      .join(' ');
  return typeof c === 'string' ? c : null;
}

function qualityText(g: Gates): string {
  if (g.quality.kind === 'none') return 'no quality gate';
  if (g.quality.kind === 'rel-error') return `rel. error vs fp64 dense ≤ ${g.quality.maxRelError}`;
  return 'rel. error vs fp64 dense ≤ the per-KV-format default (1e-2 unquantized, 2e-2 int8, 5e-2 fp8, 1e-1 int4)';
}

function serviceText(g: Gates): string {
  const parts: string[] = [];
  if (g.service.decodeMs !== undefined) parts.push(`decode ≤ ${g.service.decodeMs} ms per call`);
  if (g.service.prefillMs !== undefined) parts.push(`prefill ≤ ${g.service.prefillMs} ms per call`);
  return parts.length > 0 ? parts.join(', ') : 'no service target stated';
}

function pointKey(m: { phase: string; dtype: string; shape: Record<string, number> }): string {
  const s = m.shape;
  return `${m.phase} ${m.dtype} batch ${s.batch ?? '?'} ctx ${s.kvLen ?? '?'}${m.phase === 'prefill' ? ` q ${s.qLen ?? '?'}` : ''}`;
}

function ceilingsOf(r: Results): RunDisclosure['ceilings'] {
  const device = loose(r.device);
  const c = loose(device.ceilings ?? loose(r).ceilings);
  const flops = num(c.flopsPerSecond) ?? num(device.peakFlopsPerSecond);
  const bytes = num(c.bytesPerSecond) ?? num(device.peakBytesPerSecond);
  return {
    flopsPerSecond: flops,
    bytesPerSecond: bytes,
    source: flops !== null || bytes !== null ? (str(c.source) ?? 'results file') : null,
  };
}

/** Device fields worth disclosing beside id and name: driver, clocks, memory, compute capability… */
function deviceDetails(r: Results): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(loose(r.device))) {
    if (k === 'id' || k === 'name' || k === 'ceilings') continue;
    if (v === null || v === undefined) continue;
    out.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  return out;
}

/** Power samples when a meter recorded a timeline: `timeline: [{ tNs, watts }]` or `{ samples: [...] }`. */
function timelineSamples(results: Results[], t0Ns: number): { tS: number; watts: number }[] | null {
  const out: { tS: number; watts: number }[] = [];
  for (const r of results) {
    const t = loose(r).timeline;
    const list = Array.isArray(t)
      ? t
      : Array.isArray(loose(t).samples)
        ? (loose(t).samples as unknown[])
        : [];
    for (const s of list) {
      const tNs = num(loose(s).tNs);
      const w = num(loose(s).watts);
      if (tNs !== null && w !== null) out.push({ tS: (tNs - t0Ns) / 1e9, watts: w });
    }
  }
  return out.length > 0 ? out.sort((a, b) => a.tS - b.tS) : null;
}

const qty = (x: number, unit: Unit) => formatQuantity(x, unit);

/** Canonical lever-set spelling (`kv-int8+mla` → `mla+kv-int8`); unknown spellings compare as written. */
function canonical(variant: string): string {
  try {
    return canonicalVariant(variant);
  } catch {
    return variant.trim();
  }
}

function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3)
    ? x.toExponential(digits - 1)
    : String(Number(x.toPrecision(digits)));
}

/** "2.96 J/token (95% CI 2.88–3.04)": the unit is written out; SI prefixes are chosen by the renderer's `si`. */
export function energySourceText(e: EnergySource): string {
  return `meter ${e.meterId}, ${e.label === 'MODELED' ? 'MODELED (stated power model, not a measurement)' : `measured (${e.method})`}, boundary ${e.accountingBoundary}`;
}

// ----------------------------------------------------------------------------------------------------------------

function buildRun(group: ResultsSource[], index: number, options: ReportOptions): RunDisclosure {
  const first = group[0]!.results;
  const notes: string[] = [];
  const gatesResolved = resolveGates(
    { quality: options.quality, sloMs: options.sloMs },
    first as { plan?: unknown },
  );
  const gates: Gates = { quality: gatesResolved.quality, service: gatesResolved.service };

  // Measurements of all files of the run, later files replacing earlier ones with the same id; every row says
  // which file it came from, and every replacement is noted.
  const byId = new Map<string, Measurement>();
  const sourceOf = new Map<string, string>();
  for (const { results, source } of group)
    for (const m of results.measurements) {
      const earlier = sourceOf.get(m.id);
      if (earlier !== undefined)
        notes.push(
          `measurement ${m.id} is in ${earlier === source ? `${source} twice` : `${earlier} and ${source}`}; the one from ${source} is used, the other left out`,
        );
      byId.set(m.id, m);
      sourceOf.set(m.id, source);
    }
  const measurements = [...byId.values()];
  const rows = measurements.map((m) => fixNaN({ ...rowOf(m, gates), source: sourceOf.get(m.id) ?? '' }));
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const peers: PeerRow[] = peerComparisons(measurements).map((c) => ({
    id: c.id,
    family: c.family,
    implementation: c.implementation,
    etok: rowById.get(c.etok.id)!,
    peer: fixNaN(rowOf(c.peer, gates)),
    joulesPerTokenRatio: c.joulesPerTokenRatio,
    timeRatio: c.timeRatio,
  }));
  const failures = group.flatMap(({ results }) => {
    const f = loose(results).failures;
    return Array.isArray(f)
      ? f.map((x) => ({
          id: String(loose(x).id ?? '?'),
          code: String(loose(x).code ?? '?'),
          message: String(loose(x).message ?? ''),
        }))
      : [];
  });
  for (const { results, source } of group)
    if (!results.complete)
      notes.push(`${source} is incomplete (the run was stopped early); it holds what was measured`);

  const meter = first.meter;
  const energy: EnergySource = {
    meterId: meter.id,
    meterKind: meter.kind,
    method: meter.method,
    measured: meter.measured && meter.kind !== 'model',
    label: meter.measured && meter.kind !== 'model' ? 'measured' : 'MODELED',
    meterBoundary: meter.boundary,
    accountingBoundary: options.boundary ?? first.accounting.boundary,
  };
  const pue = options.pue ?? first.accounting.pue;
  const theta = options.theta ?? 1;

  // Headline: the chosen lever set, else the lowest passing J/token at the first operating point.
  const usable = rows.filter((r) => r.valid && r.gate.pass && r.joulesPerToken > 0 && r.tokensPerSecond > 0);
  let headlineRow: MeasurementRow | null = null;
  let headlineReason = '';
  let headlineMissing: string | null = null;
  if (options.variant !== undefined) {
    const wanted = canonical(options.variant);
    const candidates = rows.filter((r) => canonical(r.variant) === wanted);
    headlineRow = usable.find((r) => canonical(r.variant) === wanted) ?? null;
    headlineReason = `chosen with --variant ${options.variant}`;
    if (!headlineRow)
      headlineMissing =
        candidates.length === 0
          ? `no measurement of ${options.variant} in the results`
          : `${options.variant} has no valid measurement that meets (q*, s*): ${candidates
              .map((r) => (!r.valid ? `invalid (${r.invalidReasons.join(', ')})` : r.gate.reasons.join('; ')))
              .join(' | ')}`;
  } else if (usable.some((r) => r.family === OWN_FAMILY)) {
    // The headline is about etok's lever sets; peers and users' kernels are shown beside them.
    const own = usable.filter((r) => r.family === OWN_FAMILY);
    const key = pointKey(own[0]!);
    const atPoint = own.filter((r) => pointKey(r) === key);
    headlineRow = atPoint.reduce((best, r) => (r.joulesPerToken < best.joulesPerToken ? r : best));
    headlineReason =
      atPoint.length === 1
        ? `the only lever set at ${key} that is valid and meets (q*, s*)`
        : `lowest J/token among the ${atPoint.length} lever sets at ${key} that are valid and meet (q*, s*)`;
  } else
    headlineMissing =
      rows.length === 0
        ? 'the results hold no measurement'
        : 'no valid measurement meets (q*, s*); see the measurement table for the reasons';

  // Production function at the headline point, when facility power is declared.
  let tpf: TpfResult | null = null;
  const ceilings = ceilingsOf(first);
  if (headlineRow && options.facilityPowerW !== undefined) {
    tpf = productionFunction({
      kEff: flopsPerSecond(headlineRow.achievedFlopsPerS),
      cTok: flopsPerToken(headlineRow.flopsPerToken),
      eTok: joulesPerToken(headlineRow.joulesPerToken),
      facilityPower: watts(options.facilityPowerW),
      pue: ratio(pue),
      theta: ratio(theta),
      utilization: ratio(options.utilization ?? 1),
      phi: ratio(1),
      ...(ceilings.flopsPerSecond !== null ? { peakKEff: flopsPerSecond(ceilings.flopsPerSecond) } : {}),
      sources: {
        eTok: `${energy.label}: ${headlineRow.id}`,
        cTok: `analytic cost model: ${headlineRow.id}`,
        kEff: `realized (flops / median time): ${headlineRow.id}`,
      },
    });
  }

  const dimensions = buildDimensions({
    row: headlineRow,
    headlineMissing,
    energy,
    gates,
    gatesResolved,
    tpf,
    options,
    pue,
    pueSource: options.pue !== undefined ? 'flag' : 'results file',
    theta,
    ceilings,
  });

  // Φ per operating point, from valid measurements only.
  const phi: PhiSummary[] = [];
  const known = (m: Measurement) => {
    try {
      canonicalVariant(m.variant);
      return true;
    } catch {
      notes.push(`${m.id}: lever set '${m.variant}' is unknown to this etok; it has no Φ`);
      return false;
    }
  };
  // Φ compares lever sets of etok's own kernels; peers and users' kernels are shown beside them, not as sets.
  // Invalid rows are judged by Φ itself (no Φ, with the reason), as `etok phi` does.
  const validMeasurements = measurements.filter((m) => familyOf(m) === OWN_FAMILY && known(m));
  const baseline = options.baseline ?? 'dense';
  if (validMeasurements.length > 0) {
    try {
      const reports = buildPhiReports(
        { ...first, measurements: validMeasurements },
        { gates, baseline, resamples: 1000 },
      );
      for (const r of reports) phi.push({ point: pointKey(r.point), report: r, error: null });
    } catch (error) {
      if (!(error instanceof EtokError)) throw error;
      phi.push({ point: 'all', report: null, error: error.message });
    }
  } else phi.push({ point: 'all', report: null, error: 'no valid measurement' });

  // Timeline: every energy window, relative to the first.
  const allWindows = measurements.flatMap((m) => m.energy.windows.map((w) => ({ m, w })));
  const t0Ns = allWindows.length > 0 ? minOf(allWindows.map(({ w }) => w.t0Ns)) : 0;
  const windows: TimelineWindow[] = allWindows
    .map(({ m, w }) => ({
      measurementId: m.id,
      variant: m.variant,
      valid: validityOf(m).valid,
      t0S: (w.t0Ns - t0Ns) / 1e9,
      t1S: (w.t1Ns - t0Ns) / 1e9,
      watts: w.t1Ns > w.t0Ns ? w.joules / ((w.t1Ns - w.t0Ns) / 1e9) : Number.NaN,
      joules: w.joules,
      calls: w.calls,
    }))
    .filter((w) => Number.isFinite(w.watts))
    .sort((a, b) => a.t0S - b.t0S);
  const samples = timelineSamples(
    group.map((g) => g.results),
    t0Ns,
  );
  // Files of one run may be minutes apart: without power samples to place in them, long idle gaps between
  // windows are cut so the windows stay readable (and the note says so).
  let cutGaps = 0;
  if (!samples) {
    let shift = 0;
    let lastEnd = Number.NEGATIVE_INFINITY;
    for (const w of windows) {
      const gap = w.t0S - shift - lastEnd;
      if (Number.isFinite(lastEnd) && gap > TIMELINE_MAX_GAP_S) {
        shift += gap - TIMELINE_CUT_GAP_S;
        cutGaps++;
      }
      w.t0S -= shift;
      w.t1S -= shift;
      lastEnd = Math.max(lastEnd, w.t1S);
    }
  }

  const trials = rows.map((r) => r.trials).filter((t): t is number => t !== null);
  const toolInfo = loose(first.tool);
  return {
    index,
    sources: group.map((g) => g.source),
    createdAt: first.createdAt,
    complete: group.every((g) => g.results.complete),
    tool: { version: first.tool.version, commit: str(toolInfo.commit) },
    device: { id: first.device.id, name: first.device.name, details: deviceDetails(first) },
    host: Object.entries(loose(loose(first).host)).map(([k, v]) => [k, String(v)]),
    energy,
    meterNote: str(loose(meter).note),
    updatePeriodMs: meter.updatePeriodMs,
    idleW: meter.idleW,
    pue: { value: pue, source: options.pue !== undefined ? 'flag' : 'results file' },
    overhead: first.accounting.overhead,
    boundary: {
      value: energy.accountingBoundary,
      source: options.boundary !== undefined ? 'flag' : 'results file',
    },
    theta: { value: theta, source: options.theta !== undefined ? 'flag' : 'default' },
    gates: {
      quality: qualityText(gates),
      qualitySource: gatesResolved.qualitySource,
      service: serviceText(gates),
      serviceSource: gatesResolved.serviceSource,
    },
    command: commandText(first),
    headline: headlineRow
      ? { id: headlineRow.id, variant: headlineRow.variant, reason: headlineReason }
      : null,
    headlineMissing,
    dimensions,
    tpf,
    measurements: rows,
    peers,
    failures,
    phi,
    timeline: { windows, samples, cutGaps },
    ceilings,
    totals: {
      windows: rows.reduce((s, r) => s + r.windows, 0),
      trialsMin: trials.length ? minOf(trials) : null,
      trialsMax: trials.length ? maxOf(trials) : null,
    },
    notes,
  };
}

interface DimensionInputs {
  row: MeasurementRow | null;
  headlineMissing: string | null;
  energy: EnergySource;
  gates: Gates;
  gatesResolved: { qualitySource: string; serviceSource: string };
  tpf: TpfResult | null;
  options: ReportOptions;
  pue: number;
  pueSource: string;
  theta: number;
  ceilings: RunDisclosure['ceilings'];
}

function buildDimensions(d: DimensionInputs): Dimension[] {
  const { row, energy, tpf, options } = d;
  const eLabel = energySourceText(energy);
  const missingRow: Rich = [{ em: 'missing' }, `: ${d.headlineMissing ?? 'no headline measurement'}`];
  const dims: Dimension[] = [];

  // 1. J/token at (q*, s*).
  dims.push({
    key: 'joules-per-token',
    title: 'J/token at a stated (q*, s*)',
    status: row ? (energy.label === 'MODELED' ? 'modeled' : 'measured') : 'missing',
    lines: [
      row
        ? [
            { strong: `e_tok = ${qty(row.joulesPerToken, 'J/token')}` },
            row.ciLowJoulesPerToken !== null && row.ciHighJoulesPerToken !== null
              ? ` (95% CI ${qty(row.ciLowJoulesPerToken, 'J/token')} to ${qty(row.ciHighJoulesPerToken, 'J/token')})`
              : ' (no CI)',
            ` for `,
            { code: row.variant },
            ` at `,
            { code: row.id },
            `; ${eLabel}.`,
          ]
        : missingRow,
      [
        `q* = ${qualityText(d.gates)} (${d.gatesResolved.qualitySource}); s* = ${serviceText(d.gates)} (${d.gatesResolved.serviceSource}).`,
      ],
    ],
    values: {
      joulesPerToken: row?.joulesPerToken ?? null,
      ciLowJoulesPerToken: row?.ciLowJoulesPerToken ?? null,
      ciHighJoulesPerToken: row?.ciHighJoulesPerToken ?? null,
      measurementId: row?.id ?? null,
      meter: energy.meterId,
      method: energy.method,
      measured: energy.measured,
      boundary: energy.accountingBoundary,
    },
  });

  // 2. Binding constraint.
  const rho = row ? (row.joulesPerToken / row.flopsPerToken) * 1e15 : null;
  dims.push({
    key: 'binding-constraint',
    title: 'Binding constraint and ρ − ρ*',
    status: tpf ? 'derived' : 'missing',
    lines: tpf
      ? [
          [
            { strong: `${tpf.binding}-bound` },
            `: ρ = ${fmt(tpf.rho)} J/PFLOP, ρ* = θ·P_facility/K_eff = ${fmt(tpf.rhoStar)} J/PFLOP, ρ − ρ* = ${fmt(tpf.rhoMinusRhoStar)} J/PFLOP (${tpf.rhoMinusRhoStar > 0 ? '> 0: power-bound' : tpf.rhoMinusRhoStar < 0 ? '< 0: compute-bound' : '= 0: both ceilings equal'}).`,
          ],
          [
            `Ceilings: compute K_eff/c_tok = ${qty(tpf.computeCeiling, 'tokens/s')}, power θ·P_facility/e_tok = ${qty(tpf.powerCeiling, 'tokens/s')}; e_tok ${energy.label}, P_facility declared.`,
          ],
        ]
      : [
          row
            ? [
                `ρ = e_tok/c_tok = ${fmt(rho ?? Number.NaN)} J/PFLOP (${energy.label}); `,
                { em: 'missing' },
                ': ρ* needs the facility power (pass --facility-power W).',
              ]
            : missingRow,
        ],
    values: {
      binding: tpf?.binding ?? null,
      rhoJoulesPerPflop: tpf?.rho ?? rho,
      rhoStarJoulesPerPflop: tpf?.rhoStar ?? null,
      rhoMinusRhoStarJoulesPerPflop: tpf?.rhoMinusRhoStar ?? null,
      computeCeilingTokensPerS: tpf?.computeCeiling ?? null,
      powerCeilingTokensPerS: tpf?.powerCeiling ?? null,
    },
  });

  // 3. PUE-adjusted wall-plug power.
  const fp = options.facilityPowerW;
  dims.push({
    key: 'facility-power',
    title: 'PUE-adjusted wall-plug power (not TDP)',
    status: fp !== undefined ? 'declared' : 'missing',
    lines: [
      fp !== undefined
        ? [
            { strong: `P_facility = ${qty(fp, 'W')} / PUE ${fmt(d.pue)} = ${qty(fp / d.pue, 'W')}` },
            ` (facility power declared with --facility-power; PUE from the ${d.pueSource}); θ = ${fmt(d.theta)} (${options.theta !== undefined ? 'declared' : 'default: e_tok and P_facility at one boundary'}).`,
          ]
        : [
            { em: 'missing' },
            `: no facility power declared (pass --facility-power W); PUE ${fmt(d.pue)} (${d.pueSource}).`,
          ],
      row
        ? [
            `For reference, average power at the meter during the headline measurement: ${qty(row.avgPowerW, 'W')} (${energy.label}, ${energy.meterBoundary}); this is neither wall-plug power nor TDP.`,
          ]
        : [],
    ].filter((l) => l.length > 0),
    values: {
      facilityPowerW: fp ?? null,
      pue: d.pue,
      itPowerW: fp !== undefined ? fp / d.pue : null,
      theta: d.theta,
      meterAvgPowerW: row?.avgPowerW ?? null,
    },
  });

  // 4. K_eff convention.
  dims.push({
    key: 'k-eff',
    title: 'K_eff convention (realized vs peak)',
    status: row ? 'measured' : 'missing',
    lines: row
      ? [
          [
            { strong: `K_eff realized = ${qty(row.achievedFlopsPerS, 'FLOP/s')}` },
            ` (analytic FLOPs per call / measured median time, `,
            { code: row.id },
            `); c_tok = ${qty(row.flopsPerToken, 'FLOP/token')} (analytic cost model, softmax excluded).`,
          ],
          d.ceilings.flopsPerSecond !== null
            ? [
                `Peak K_eff = ${qty(d.ceilings.flopsPerSecond, 'FLOP/s')} (${d.ceilings.source}); realized is ${fmt((100 * row.achievedFlopsPerS) / d.ceilings.flopsPerSecond)}% of it.`,
              ]
            : [
                'Peak K_eff: ',
                { em: 'missing' },
                ' (the results carry no ceiling); the production function uses the realized figure.',
              ],
        ]
      : [missingRow],
    values: {
      realizedFlopsPerS: row?.achievedFlopsPerS ?? null,
      peakFlopsPerS: d.ceilings.flopsPerSecond,
      flopsPerToken: row?.flopsPerToken ?? null,
    },
  });

  // 5. Utilization-adjusted token output.
  const u = options.utilization;
  dims.push({
    key: 'token-output',
    title: 'Utilization-adjusted token output',
    status: row && u !== undefined ? 'declared' : 'missing',
    lines: row
      ? [
          [
            `Kernel throughput while busy: ${qty(row.tokensPerSecond, 'tokens/s')} (measured time; U = 1 inside the benchmark loop).`,
          ],
          u !== undefined
            ? [
                { strong: `U = ${fmt(u)} (declared)` },
                `: ${qty(row.tokensPerSecond * u, 'tokens/s')} utilization-adjusted.`,
              ]
            : [{ em: 'missing' }, ': utilization U not declared (pass --util U).'],
          tpf
            ? [
                { strong: `Q̇ = ${qty(tpf.qdot, 'tokens/s')}` },
                ` = min(compute, power ceiling) × Φ (1: the lever gain is already in e_tok and c_tok) × U (${fmt(u ?? 1)}${u === undefined ? ', assumed' : ''}).`,
              ]
            : ['Q̇: ', { em: 'missing' }, ' (needs --facility-power).'],
        ]
      : [missingRow],
    values: {
      tokensPerS: row?.tokensPerSecond ?? null,
      utilization: u ?? null,
      adjustedTokensPerS: row && u !== undefined ? row.tokensPerSecond * u : null,
      qdotTokensPerS: tpf?.qdot ?? null,
    },
  });

  // 6. Energy-accounting boundary.
  dims.push({
    key: 'boundary',
    title: 'Energy-accounting boundary',
    status: 'declared',
    lines: [
      [
        { strong: `Boundary: ${energy.accountingBoundary}` },
        ` (${options.boundary !== undefined ? 'declared with --boundary' : 'declared in the results file (etok bench --boundary)'}); the meter covers: ${energy.meterBoundary} (${energy.label}).`,
      ],
      row && d.pue > 1
        ? [
            `At the facility (× PUE ${fmt(d.pue)}): ${qty(row.joulesPerToken * d.pue, 'J/token')} (derived; ${energy.label} at the meter).`,
          ]
        : [],
    ].filter((l) => l.length > 0),
    values: {
      accountingBoundary: energy.accountingBoundary,
      meterBoundary: energy.meterBoundary,
      pue: d.pue,
    },
  });
  return dims;
}

/** Builds the report for one or more results files (grouped into runs by device, meter and accounting). */
export function buildDisclosure(
  sources: readonly ResultsSource[],
  options: ReportOptions = {},
): DisclosureReport {
  if (sources.length === 0) throw new EtokError('BAD_USAGE', 'no results file given');
  const runs = groupRuns(sources).map((g, i) => buildRun(g, i + 1, options));
  return {
    schema: REPORT_SCHEMA_ID,
    inputs: {
      files: sources.map((s) => s.source),
      facilityPowerW: options.facilityPowerW ?? null,
      pue: options.pue ?? null,
      boundary: options.boundary ?? null,
      utilization: options.utilization ?? null,
      theta: options.theta ?? null,
      quality: options.quality ?? null,
      sloMs: options.sloMs ?? null,
    },
    runs,
  };
}

export { fmt as formatNumber };
