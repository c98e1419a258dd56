// The disclosure report as data: the paper's six disclosure dimensions (J/token at a stated (q*, s*), the binding
// constraint with ρ − ρ*, PUE-adjusted wall-plug power, the K_eff convention, utilization-adjusted token output,
// the energy-accounting boundary), each filled from measurements where measured, from flags where declared and
// marked missing otherwise; plus the tables and series the renderers draw. Building the model never formats for a
// particular output; each renderer (markdown, latex, html, json) escapes everything it writes (see escape.ts).
// Invalid measurements (valid: false) are kept, marked with their reasons, and kept out of every derived figure.
import { canonicalVariant } from '@etok/kernels';
import { EtokError } from '../errors.js';
import { familyOf, OWN_FAMILY, peerComparisons } from '../families.js';
import { type Gates, resolveGates } from '../gates.js';
import { buildPhiReports } from '../phi.js';
import { productionFunction, type TpfResult } from '../production-function.js';
import type { Measurement } from '../schemas.js';
import { maxOf, minOf } from '../statistics/summary.js';
import { flopsPerSecond, flopsPerToken, joulesPerToken, ratio, watts } from '../units.js';
import { buildDimensions } from './dimensions.js';
import { fixNaN, loose, rowOf, str, validityOf } from './rows.js';
import {
  canonical,
  ceilingsOf,
  commandText,
  deviceDetails,
  fmt,
  groupRuns,
  pointKey,
  qualityText,
  serviceText,
  timelineSamples,
} from './run-helpers.js';
import {
  type DisclosureReport,
  type EnergySource,
  type MeasurementRow,
  type PeerRow,
  type PhiSummary,
  REPORT_SCHEMA_ID,
  type ReportOptions,
  type ResultsSource,
  type RunDisclosure,
  TIMELINE_CUT_GAP_S,
  TIMELINE_MAX_GAP_S,
  type TimelineWindow,
} from './types.js';

export { energySourceText } from './run-helpers.js';

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
