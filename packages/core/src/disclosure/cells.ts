// Plain-text cells shared by the markdown, LaTeX and HTML renderers (each escapes them for its format).
// An invalid measurement's energy never appears as a usable number: its cell says INVALID and why first.

import type { PhiSet } from '../phi.js';
import { relErrorText } from '../quality.js';
import { formatQuantity, type Unit } from '../units.js';
import type { EnergySource, MeasurementRow, PeerRow, RunDisclosure } from './model.js';

export const q = (value: number | null | undefined, unit: Unit, digits = 3): string =>
  value === null || value === undefined ? '—' : formatQuantity(value, unit, digits);

export function shapeCell(r: MeasurementRow): string {
  const s = r.shape;
  const parts = [`b${s.batch ?? '?'}`, `ctx ${s.kvLen ?? '?'}`];
  if (r.phase === 'prefill') parts.push(`q ${s.qLen ?? '?'}`);
  parts.push(`h${s.heads ?? '?'}/kv${s.kvHeads ?? '?'} d${s.headDim ?? '?'}`);
  return parts.join(' ');
}

export function energyTag(e: EnergySource): string {
  return `${e.meterId} · ${e.label} · ${e.accountingBoundary}`;
}

/** "2.88 mJ/token [2.85, 2.91]": the CI in the value's unit and prefix. */
export function joulesCell(r: MeasurementRow): string {
  const value = q(r.joulesPerToken, 'J/token');
  if (!r.valid) return `INVALID (${r.invalidReasons.join(', ')}); ${value} not usable`;
  let ci = '';
  const shown = Number.parseFloat(value);
  if (
    r.ciLowJoulesPerToken !== null &&
    r.ciHighJoulesPerToken !== null &&
    Number.isFinite(shown) &&
    r.joulesPerToken !== 0
  ) {
    const scale = shown / r.joulesPerToken;
    const f = (x: number) => Number((x * scale).toPrecision(3)).toString();
    ci = ` [${f(r.ciLowJoulesPerToken)}, ${f(r.ciHighJoulesPerToken)}]`;
  }
  const imprecise = r.warnings.includes('ci-not-reached') ? ' (CI wider than the target)' : '';
  return `${value}${ci}${imprecise}${r.throttled ? ' (throttled)' : ''}`;
}

export function timeCell(r: MeasurementRow): string {
  return q(r.medianS, 's');
}

export function gateCell(r: MeasurementRow): string {
  return r.gate.pass ? 'pass' : `fail: ${r.gate.reasons.join('; ')}`;
}

export function relErrCell(r: MeasurementRow): string {
  return relErrorText(r.relErrorVsDense, r.qualitySample, 'not measured');
}

export function phiCell(s: PhiSet): string {
  if (!s.pass || s.phiEnergy === null) return `no Φ: ${s.reason ?? 'misses the gate'}`;
  const ci = s.ci ? ` [${s.ci.low.toFixed(3)}, ${s.ci.high.toFixed(3)}]` : ' (no CI)';
  return `×${s.phiEnergy.toFixed(3)}${ci}`;
}

export function ratioCell(x: number | null): string {
  return x === null ? '—' : `×${x.toFixed(3)}`;
}

export const MEASUREMENT_HEADERS = [
  'lever set',
  'phase',
  'dtype',
  'shape',
  'J/token [95% CI]',
  'energy (meter · method · boundary)',
  'time/call (median)',
  'tokens/s',
  'rel. error vs dense',
  '(q*, s*) gate',
];

export function measurementCells(run: RunDisclosure, r: MeasurementRow): string[] {
  return [
    run.sources.length > 1 && r.source ? `${r.variant} (${r.source})` : r.variant,
    r.phase,
    r.dtype,
    shapeCell(r),
    joulesCell(r),
    energyTag(run.energy),
    timeCell(r),
    q(r.tokensPerSecond, 'tokens/s'),
    relErrCell(r),
    gateCell(r),
  ];
}

export const PHI_HEADERS = [
  'lever set',
  'Φ_e [95% CI]',
  'Φ_c (analytic)',
  'speedup (Φ_t)',
  'J/token',
  'warnings',
];

export function phiCells(run: RunDisclosure, s: PhiSet): string[] {
  return [
    s.variant,
    phiCell(s),
    ratioCell(s.phiCompute),
    ratioCell(s.speedup),
    `${q(s.joulesPerToken, 'J/token')} (${energyTag(run.energy)})`,
    s.warnings.join('; '),
  ];
}

/** Provenance rows: what is needed to trust and reproduce the figures. */
export function provenanceRows(run: RunDisclosure): [string, string][] {
  const trials =
    run.totals.trialsMin === null
      ? 'not recorded'
      : run.totals.trialsMin === run.totals.trialsMax
        ? String(run.totals.trialsMin)
        : `${run.totals.trialsMin}–${run.totals.trialsMax} per measurement`;
  const rows: [string, string][] = [
    ['device', `${run.device.name} (${run.device.id})`],
    ['meter', `${run.energy.meterId} (${run.energy.meterKind}), covers ${run.energy.meterBoundary}`],
    ['method', `${run.energy.method}: ${run.energy.label}`],
    ['meter update period', `${run.updatePeriodMs} ms`],
    ['energy windows', `${run.totals.windows} in ${run.measurements.length} measurement(s)`],
    ['trials', trials],
    ['idle power', `${run.idleW.toFixed(2)} W (${run.energy.label})`],
    [
      'accounting',
      `boundary ${run.boundary.value} (${run.boundary.source}), PUE ${run.pue.value} (${run.pue.source}), overhead ${run.overhead}`,
    ],
  ];
  if (run.meterNote) rows.push(['meter note', run.meterNote]);
  for (const [k, v] of run.device.details)
    if (/driver|clock|cuda|memory|capability|sm|cores|simd|power/i.test(k)) rows.push([`device ${k}`, v]);
  rows.push(['etok', `${run.tool.version}${run.tool.commit ? ` (${run.tool.commit})` : ''}`]);
  rows.push([
    'results',
    `${run.sources.join(', ')} (created ${run.createdAt}${run.complete ? '' : ', INCOMPLETE'})`,
  ]);
  rows.push(['command', run.command ?? 'not recorded']);
  return rows;
}

export const PEER_HEADERS = [
  'configuration',
  'best peer',
  'etok J/token [95% CI]',
  'peer J/token [95% CI]',
  'peer ÷ etok (J/token)',
  'etok time',
  'peer time',
  'peer rel. error',
];

/** etok's kernel beside the best implementation of its lever set in a peer family (same inputs, same windows). */
export function peerCells(p: PeerRow): string[] {
  return [
    p.id,
    p.implementation,
    joulesCell(p.etok),
    joulesCell(p.peer),
    Number.isFinite(p.joulesPerTokenRatio) ? `×${p.joulesPerTokenRatio.toFixed(3)}` : '—',
    timeCell(p.etok),
    timeCell(p.peer),
    relErrorText(p.peer.relErrorVsExact, p.peer.qualitySample, 'not measured'),
  ];
}
