// The last lines of `etok bench`: what each lever earns at the measured shape (Φ on J/token against dense, with its
// interval), the best lever set, and the commands to go on with. Figures come from core's Φ (buildPhiReports), the
// same as `etok phi` prints, so the headline never says more than the results file holds.
import { buildPhiReports, type PhiReport, type PhiSet, resolveGates } from '@etok/core';
import type { BenchDocument } from './document.js';

function ratio(x: number): string {
  return `×${x >= 10 ? x.toFixed(1) : x.toFixed(2)}`;
}

function setText(s: PhiSet): string {
  if (!s.pass || s.phiEnergy === null) return `${s.variant}: no Φ (${s.reason ?? 'misses the gate'})`;
  const ci = s.ci ? ` [${s.ci.low.toFixed(2)}, ${s.ci.high.toFixed(2)}]` : '';
  const costs = s.phiEnergy < 1 && (!s.ci || s.ci.high < 1) ? ', costs more' : '';
  return `${s.variant} ${ratio(s.phiEnergy)}${ci}${costs}`;
}

function pointText(r: PhiReport): string {
  const s = r.point.shape;
  const q = r.point.phase === 'prefill' ? ` q${s.qLen}` : '';
  return `${r.point.phase} ${r.point.dtype} b${s.batch} ctx${s.kvLen}${q} h${s.heads}/${s.kvHeads}`;
}

/** The headline lines, or none when the results hold no baseline to compare with. */
export function headline(doc: BenchDocument, file: string): string[] {
  let reports: PhiReport[] = [];
  try {
    const gates = resolveGates({}, doc);
    reports = buildPhiReports(doc, { gates, resamples: 400 });
  } catch {
    reports = [];
  }
  const lines: string[] = [];
  const energy = doc.meter.measured ? `measured by ${doc.meter.id}` : 'MODELED';
  for (const r of reports) {
    const singles = r.sets.filter((s) => s.variant !== r.baseline && !s.variant.includes('+'));
    if (singles.length === 0) continue;
    lines.push(`levers at ${pointText(r)} — Φ on J/token against ${r.baseline} (${energy}; 95% CI):`);
    lines.push(`  ${singles.map(setText).join(' · ')}`);
    const passing = r.sets.filter((s) => s.pass && s.phiEnergy !== null && s.variant !== r.baseline);
    const best = passing.reduce<PhiSet | null>((b, s) => (!b || s.phiEnergy! > b.phiEnergy! ? s : b), null);
    if (best) lines.push(`  best lever set meeting (q*, s*): ${setText(best)}`);
  }
  lines.push(
    `next: etok phi ${file}   ·   etok report ${file} --format html --out report.html   ·   etok tpf --results ${file} --facility-power 20M --pue 1.3`,
  );
  return lines;
}
