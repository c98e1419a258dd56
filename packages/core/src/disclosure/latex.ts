// The disclosure as LaTeX to paste into a paper: one paragraph per run stating the six dimensions, a provenance
// table (meter, method, update period, windows, trials, idle W, driver and clocks when present) and the command
// that reproduces the run. Needs only base LaTeX (no packages); every string goes through escapeLatex.

import { joulesCell, peerCells, provenanceRows, shapeCell } from './cells.js';
import { escapeLatex as esc } from './escape.js';
import type { DisclosureReport, Rich, RunDisclosure } from './model.js';

export function richLatex(rich: Rich): string {
  return rich
    .map((s) =>
      typeof s === 'string'
        ? esc(s)
        : 'strong' in s
          ? `\\textbf{${esc(s.strong)}}`
          : 'em' in s
            ? `\\emph{${esc(s.em)}}`
            : `\\texttt{${esc(s.code)}}`,
    )
    .join('');
}

function paragraph(run: RunDisclosure): string {
  const sentences: string[] = [];
  sentences.push(
    `We measured attention-kernel energy with etok ${esc(run.tool.version)} on ${esc(run.device.name)} (${esc(run.device.id)}); energy is ${run.energy.label === 'MODELED' ? '\\textbf{modeled} from a stated power model (not measured)' : `measured by ${esc(run.energy.meterId)} (${esc(run.energy.method)})`}; accounting boundary: ${esc(run.energy.accountingBoundary)}.`,
  );
  run.dimensions.forEach((d, i) => {
    const body = d.lines.map(richLatex).join(' ');
    sentences.push(`(${i + 1})~\\emph{${esc(d.title)}} [${esc(d.status)}]: ${body}`);
  });
  return sentences.join('\n');
}

function provenanceTable(run: RunDisclosure): string {
  const rows = provenanceRows(run).map(([k, v]) =>
    k === 'command' ? `${esc(k)} & \\texttt{${esc(v)}} \\\\` : `${esc(k)} & ${esc(v)} \\\\`,
  );
  const invalid = run.measurements.filter((m) => !m.valid);
  for (const m of invalid) rows.push(`invalid measurement & ${esc(`${m.id}: ${joulesCell(m)}`)} \\\\`);
  return [
    '\\begin{table}[ht]',
    '\\centering\\small',
    '\\begin{tabular}{|p{0.24\\linewidth}|p{0.68\\linewidth}|}',
    '\\hline',
    ...rows.map((r) => `${r}\n\\hline`),
    '\\end{tabular}',
    `\\caption{Provenance of the energy figures (etok). ${run.energy.label === 'MODELED' ? 'Energy is MODELED, not measured.' : 'Energy is measured.'}}`,
    '\\end{table}',
  ].join('\n');
}

function headlineTable(run: RunDisclosure): string {
  const rows = run.measurements.filter((m) => m.valid && m.gate.pass);
  if (rows.length === 0) return '';
  return [
    '\\begin{table}[ht]',
    '\\centering\\small',
    '\\footnotesize\\setlength{\\tabcolsep}{3pt}',
    '\\begin{tabular}{|l|l|l|r|}',
    '\\hline',
    `lever set & phase & shape & J/token [95\\% CI] (${esc(run.energy.label)}) \\\\`,
    '\\hline',
    ...rows.map(
      (r) => `${esc(r.variant)} & ${esc(r.phase)} & ${esc(shapeCell(r))} & ${esc(joulesCell(r))} \\\\`,
    ),
    '\\hline',
    '\\end{tabular}',
    `\\caption{Energy per token of the lever sets that meet $(q^*, s^*)$; meter ${esc(run.energy.meterId)}, ${esc(run.energy.label)}, boundary ${esc(run.energy.accountingBoundary)}.}`,
    '\\end{table}',
  ].join('\n');
}

function peerTable(run: RunDisclosure): string {
  if (run.peers.length === 0) return '';
  return [
    '\\begin{table}[ht]',
    '\\centering\\small',
    '\\footnotesize\\setlength{\\tabcolsep}{3pt}',
    '\\begin{tabular}{|l|l|r|r|r|}',
    '\\hline',
    `configuration & best peer & etok J/token & peer J/token & peer $\\div$ etok \\\\`,
    '\\hline',
    ...run.peers.map((p) => {
      const c = peerCells(p);
      return `${esc(c[0]!)} & ${esc(c[1]!)} & ${esc(c[2]!)} & ${esc(c[3]!)} & ${esc(c[4]!)} \\\\`;
    }),
    '\\hline',
    '\\end{tabular}',
    `\\caption{etok's kernels beside the best public implementation of each lever set, on the same inputs in the same interleaved energy windows; meter ${esc(run.energy.meterId)}, ${esc(run.energy.label)}.}`,
    '\\end{table}',
  ].join('\n');
}

export function renderLatex(report: DisclosureReport): string {
  const out: string[] = [
    '% etok energy disclosure: paste into a LaTeX document (base LaTeX only, no packages needed).',
    `% Results: ${report.inputs.files.map((f) => esc(f)).join(', ')}`,
  ];
  for (const run of report.runs) {
    out.push('', `% --- run ${run.index}: ${esc(run.device.name)}`, '', paragraph(run), '');
    const t = headlineTable(run);
    if (t) out.push(t, '');
    const p = peerTable(run);
    if (p) out.push(p, '');
    out.push(provenanceTable(run), '');
    out.push(
      `{\\sloppy\\noindent Reproduce with: \\texttt{${esc(run.command ?? 'command not recorded')}}\\par}`,
    );
  }
  return `${out.join('\n')}\n`;
}
