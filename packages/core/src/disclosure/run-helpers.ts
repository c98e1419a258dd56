// Small pieces of a run's report: how runs are grouped, the command, the gates and points in words, ceilings,
// device details, the power samples on the windows' clock.
import { canonicalVariant } from '@etok/kernels';
import type { Gates } from '../gates.js';
import type { Results } from '../schemas.js';
import { formatQuantity, type Unit } from '../units.js';
import { loose, num, str } from './rows.js';
import type { EnergySource, ResultsSource, RunDisclosure } from './types.js';

/** Files from the same device, meter and accounting are one run; others are reported side by side. */
export function runKey(r: Results): string {
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

export function groupRuns(sources: readonly ResultsSource[]): ResultsSource[][] {
  const groups = new Map<string, ResultsSource[]>();
  for (const s of sources) {
    const key = runKey(s.results);
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  return [...groups.values()];
}

export function commandText(r: Results): string | null {
  const c = loose(r).command;
  if (Array.isArray(c))
    return c
      .map((a) =>
        /^[\w@%+=:,./-]+$/.test(String(a)) ? String(a) : `'${String(a).replaceAll("'", "'\\''")}'`,
      )
      .join(' ');
  return typeof c === 'string' ? c : null;
}

export function qualityText(g: Gates): string {
  if (g.quality.kind === 'none') return 'no quality gate';
  if (g.quality.kind === 'rel-error') return `rel. error vs fp64 dense ≤ ${g.quality.maxRelError}`;
  return 'rel. error vs fp64 dense ≤ the per-KV-format default (1e-2 unquantized, 2e-2 int8, 5e-2 fp8, 1e-1 int4)';
}

export function serviceText(g: Gates): string {
  const parts: string[] = [];
  if (g.service.decodeMs !== undefined) parts.push(`decode ≤ ${g.service.decodeMs} ms per call`);
  if (g.service.prefillMs !== undefined) parts.push(`prefill ≤ ${g.service.prefillMs} ms per call`);
  return parts.length > 0 ? parts.join(', ') : 'no service target stated';
}

export function pointKey(m: { phase: string; dtype: string; shape: Record<string, number> }): string {
  const s = m.shape;
  return `${m.phase} ${m.dtype} batch ${s.batch ?? '?'} ctx ${s.kvLen ?? '?'}${m.phase === 'prefill' ? ` q ${s.qLen ?? '?'}` : ''}`;
}

export function ceilingsOf(r: Results): RunDisclosure['ceilings'] {
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
export function deviceDetails(r: Results): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(loose(r.device))) {
    if (k === 'id' || k === 'name' || k === 'ceilings') continue;
    if (v === null || v === undefined) continue;
    out.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  return out;
}

/** Power samples when a meter recorded a timeline: `timeline: [{ tNs, watts }]` or `{ samples: [...] }`. */
export function timelineSamples(results: Results[], t0Ns: number): { tS: number; watts: number }[] | null {
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

export const qty = (x: number, unit: Unit) => formatQuantity(x, unit);

/** Canonical lever-set spelling (`kv-int8+mla` → `mla+kv-int8`); unknown spellings compare as written. */
export function canonical(variant: string): string {
  try {
    return canonicalVariant(variant);
  } catch {
    return variant.trim();
  }
}

export function fmt(x: number, digits = 3): string {
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
