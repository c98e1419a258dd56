// What `etok bench` prints: the energy source line, one row per measurement, and each lever set's best peer beside
// etok's kernel. Printing never measures; every joule figure carries its source (measured or modeled).
import { type Measurement, peerComparisons, type Results, relErrorText } from '@etok/core';
import { type Column, renderTable, si } from '../output/table.js';
import type { BenchDocument } from './document.js';

export function energySourceLine(meter: Results['meter']): string {
  return meter.measured
    ? `energy: MEASURED by ${meter.id} (${meter.method}, boundary: ${meter.boundary}, update period ${meter.updatePeriodMs.toFixed(1)} ms)`
    : `energy: MODELED, not measured — ${meter.id} (${String((meter as { note?: string }).note ?? meter.boundary)})`;
}

function ci(low: number | undefined, high: number | undefined): string {
  return low !== undefined && high !== undefined ? `${si(low, 'J')}…${si(high, 'J')}` : '—';
}

export function measurementRows(
  measurements: Measurement[],
  modeled: boolean,
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
    { header: 'valid' },
  ];
  const rows = measurements.map((m) => {
    const e = m.energy;
    const s = m.shape as Record<string, number>;
    const validity = (m as { validity?: string[] }).validity ?? [];
    return [
      m.variant,
      m.phase,
      `b${s.batch} ctx${s.kvLen}${m.phase === 'prefill' ? ` q${s.qLen}` : ''} ${m.dtype}`,
      si(m.time.medianS, 's'),
      si(e.joulesPerCall, 'J'),
      ci(e.ciLowJoulesPerCall, e.ciHighJoulesPerCall),
      si(e.joulesPerToken, 'J'),
      si(e.avgPowerW, 'W'),
      relErrorText(m.quality.relErrorVsDense, m.quality.sample, '—'),
      validity.length === 0 ? 'yes' : `no: ${validity.join(', ')}`,
    ];
  });
  return { columns, rows };
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—';
}

/** etok's kernel beside the best peer of its lever set, per configuration, and the lever sets with no peer. */
export function peerTable(doc: BenchDocument): string {
  const tag = doc.meter.measured ? '' : ' (modeled)';
  const rows: string[][] = [];
  for (const { etok: e, peer: p, implementation } of peerComparisons(doc.measurements)) {
    const pv =
      (p as { valid?: boolean }).valid === false
        ? ` (${((p as { validity?: string[] }).validity ?? []).join(', ')})`
        : '';
    rows.push([
      e.id,
      `${implementation}${pv}`,
      si(e.time.medianS, 's'),
      si(p.time.medianS, 's'),
      si(e.energy.joulesPerToken, 'J'),
      ci(
        e.energy.ciLowJoulesPerToken as number | undefined,
        e.energy.ciHighJoulesPerToken as number | undefined,
      ),
      si(p.energy.joulesPerToken, 'J'),
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
