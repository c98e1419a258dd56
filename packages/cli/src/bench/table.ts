// What `etok bench` prints: the energy source line, one row per measurement, and each lever set's best peer beside
// etok's kernel. Printing never measures; every joule figure carries its source (measured or modeled).
import {
  formatQuantity,
  type Measurement,
  peerComparisons,
  precisionText,
  type Results,
  relErrorText,
  statusOf,
} from '@etok/core';
import { type Column, renderTable } from '../output/table.js';
import type { BenchDocument } from './document.js';

export function energySourceLine(meter: Results['meter']): string {
  return meter.measured
    ? `energy: MEASURED by ${meter.id} (${meter.method}, boundary: ${meter.boundary}, update period ${meter.updatePeriodMs.toFixed(1)} ms)`
    : `energy: MODELED, not measured — ${meter.id} (${String((meter as { note?: string }).note ?? meter.boundary)})`;
}

function ci(low: number | undefined, high: number | undefined): string {
  return low !== undefined && high !== undefined
    ? `${formatQuantity(low, 'J')}…${formatQuantity(high, 'J')}`
    : '—';
}

/** "yes", "yes (CI ±4.1%, target ±3%)" for a usable but imprecise row, or "no: drift" for an invalid one. */
export function usableText(m: Measurement, ciTarget?: number): string {
  const status = statusOf(m);
  if (!status.valid) return `no: ${status.reasons.join(', ')}`;
  const precision = precisionText(m, ciTarget);
  return precision ? `yes (${precision})` : 'yes';
}

export function measurementRows(
  measurements: Measurement[],
  modeled: boolean,
  ciTarget?: number,
): { columns: Column[]; rows: string[][] } {
  const tag = modeled ? ' (modeled)' : '';
  const columns: Column[] = [
    { header: 'variant' },
    { header: 'phase' },
    { header: 'shape' },
    { header: 'time/call', align: 'right' },
    { header: `J/call${tag}`, align: 'right' },
    { header: 'J/call 95% CI', align: 'right' },
    { header: `J/token${tag}`, align: 'right' },
    { header: 'avg W', align: 'right' },
    { header: 'err vs dense', align: 'right' },
    { header: 'usable' },
  ];
  const rows = measurements.map((m) => {
    const e = m.energy;
    const s = m.shape as Record<string, number>;
    return [
      m.variant,
      m.phase,
      `b${s.batch} ctx${s.kvLen}${m.phase === 'prefill' ? ` q${s.qLen}` : ''} ${m.dtype}`,
      formatQuantity(m.time.medianS, 's'),
      formatQuantity(e.joulesPerCall, 'J'),
      ci(e.ciLowJoulesPerCall, e.ciHighJoulesPerCall),
      formatQuantity(e.joulesPerToken, 'J'),
      formatQuantity(e.avgPowerW, 'W'),
      relErrorText(m.quality.relErrorVsDense, m.quality.sample, '—'),
      usableText(m, ciTarget),
    ];
  });
  return { columns, rows };
}

/**
 * Why time/call × avg W can differ from J/call: J/call is the energy of the windows over their calls, i.e. avg W ×
 * the time per call *inside the windows* (calls back to back), while time/call is the median of single synchronised
 * calls (each pays its own launch and wait). A line for each row where the two differ by more than 5%.
 */
export function timeEnergyNotes(measurements: Measurement[]): string[] {
  const notes: string[] = [];
  for (const m of measurements) {
    const e = m.energy;
    const hot = m.time.hotMeanS;
    if (!(e.joulesPerCall > 0) || !(e.avgPowerW > 0) || hot === undefined) continue;
    const product = m.time.medianS * e.avgPowerW;
    if (Math.abs(product - e.joulesPerCall) / e.joulesPerCall <= 0.05) continue;
    notes.push(
      `${m.variant}: J/call = avg W × ${formatQuantity(hot, 's')} a call back to back in the energy windows; the median synchronised call (time/call) took ${formatQuantity(m.time.medianS, 's')}`,
    );
  }
  return notes.length > 0
    ? [
        'time/call × avg W differs from J/call (back-to-back calls in the windows vs single synchronised calls):',
        ...notes.map((n) => `  ${n}`),
      ]
    : [];
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—';
}

/** etok's kernel beside the best peer of its lever set, per configuration, and the lever sets with no peer. */
export function peerTable(doc: BenchDocument): string {
  const tag = doc.meter.measured ? '' : ' (modeled)';
  const rows: string[][] = [];
  for (const { etok: e, peer: p, implementation } of peerComparisons(doc.measurements)) {
    const pv = statusOf(p).valid ? '' : ` (invalid: ${statusOf(p).reasons.join(', ')})`;
    rows.push([
      e.id,
      `${implementation}${pv}`,
      formatQuantity(e.time.medianS, 's'),
      formatQuantity(p.time.medianS, 's'),
      formatQuantity(e.energy.joulesPerToken, 'J'),
      ci(
        e.energy.ciLowJoulesPerToken as number | undefined,
        e.energy.ciHighJoulesPerToken as number | undefined,
      ),
      formatQuantity(p.energy.joulesPerToken, 'J'),
      ci(
        p.energy.ciLowJoulesPerToken as number | undefined,
        p.energy.ciHighJoulesPerToken as number | undefined,
      ),
      ratio(p.energy.joulesPerToken, e.energy.joulesPerToken),
      relErrorText(p.quality.relErrorVsExact, p.quality.sample, '—'),
    ]);
  }
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push('best peer beside etok (same inputs, same interleaved windows; ratio = peer ÷ etok):');
    lines.push(
      renderTable(
        [
          { header: 'configuration' },
          { header: 'best peer' },
          { header: 'etok time', align: 'right' },
          { header: 'peer time', align: 'right' },
          { header: `etok J/token${tag}`, align: 'right' },
          { header: 'etok 95% CI', align: 'right' },
          { header: `peer J/token${tag}`, align: 'right' },
          { header: 'peer 95% CI', align: 'right' },
          { header: 'peer/etok', align: 'right' },
          { header: 'peer err', align: 'right' },
        ],
        rows,
      ).trimEnd(),
    );
  }
  for (const n of doc.noPeers ?? []) lines.push(`no ${n.family} peer for ${n.of}: ${n.reason}`);
  for (const s of doc.skipped ?? []) lines.push(`not measured: ${s.id}: ${s.reason}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
