// The disclosure as GitHub-flavoured markdown: the six dimensions, the measurement and Φ tables, failures and
// provenance. Every string is escaped with escapeMarkdown (table cells included), so nothing from a results
// file can open a link, an HTML tag or a code span.

import {
  MEASUREMENT_HEADERS,
  measurementCells,
  PEER_HEADERS,
  PHI_HEADERS,
  peerCells,
  phiCells,
  provenanceRows,
} from './cells.js';
import { escapeMarkdown as esc, stripControl } from './escape.js';
import { type DisclosureReport, energySourceText, type Rich, type RunDisclosure } from './model.js';

/** A code span shows its text literally (no markup inside); only backticks could end it early. */
function codeSpan(text: string): string {
  return `\`${stripControl(text).replace(/`/g, "'")}\``;
}

export function richMarkdown(rich: Rich): string {
  return rich
    .map((s) =>
      typeof s === 'string'
        ? esc(s)
        : 'strong' in s
          ? `**${esc(s.strong)}**`
          : 'em' in s
            ? `*${esc(s.em)}*`
            : codeSpan(s.code),
    )
    .join('');
}

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => ' --- |').join('')}`, ...rows.map(line)].join('\n');
}

function runSection(run: RunDisclosure, multi: boolean): string {
  const out: string[] = [];
  out.push(`## ${multi ? `Run ${run.index}: ` : ''}${esc(run.device.name)} (${esc(run.device.id)})`);
  out.push('');
  out.push(`Energy figures: ${esc(energySourceText(run.energy))}.`);
  if (run.energy.label === 'MODELED')
    out.push(
      '',
      '> **MODELED energy**: every joule figure below comes from a stated power model, not a meter.',
    );
  out.push('');
  out.push('### The six disclosure dimensions');
  out.push('');
  run.dimensions.forEach((d, i) => {
    out.push(`${i + 1}. **${esc(d.title)}** — *${d.status}*`);
    for (const line of d.lines) out.push(`   - ${richMarkdown(line)}`);
  });
  out.push('');
  if (run.headline)
    out.push(`Headline lever set: ${codeSpan(run.headline.variant)} (${esc(run.headline.reason)}).`, '');
  out.push('### Measurements', '');
  out.push(
    table(
      MEASUREMENT_HEADERS,
      run.measurements.map((r) => measurementCells(run, r)),
    ),
  );
  out.push('');
  if (run.peers.length > 0) {
    out.push('### Best public implementation beside etok', '');
    out.push(table(PEER_HEADERS, run.peers.map(peerCells)));
    out.push('');
  }
  for (const p of run.phi) {
    if (!p.report) {
      out.push(`### Φ`, '', `*missing*: ${esc(p.error ?? 'no Φ')}`, '');
      continue;
    }
    const r = p.report;
    out.push(`### Φ vs ${esc(r.baseline)} at ${esc(p.point)}`, '');
    out.push(
      table(
        PHI_HEADERS,
        r.sets.map((s) => phiCells(run, s)),
      ),
    );
    out.push('');
    if (r.composed !== null && r.attribution.length > 0) {
      out.push(
        `Composed ${codeSpan(r.composedVariant ?? '')}: Φ_e = ×${r.composed.toFixed(3)}${r.composedCi ? ` [${r.composedCi.low.toFixed(3)}, ${r.composedCi.high.toFixed(3)}]` : ''}; attribution by ${r.attributionMethod === 'shapley' ? 'Shapley values over log Φ_e' : r.attributionMethod === 'path' ? esc(`a path ${(r.path ?? []).join(' → ')}`) : 'none'}${r.interaction !== null ? `; interaction ×${r.interaction.toFixed(3)}` : ''}.`,
        '',
      );
      out.push(
        table(
          ['lever', 'share of Φ_e [95% CI]', 'share of Φ_c', 'declared'],
          r.attribution.map((a) => [
            a.lever,
            a.phi === null
              ? '—'
              : `×${a.phi.toFixed(3)}${a.ci ? ` [${a.ci.low.toFixed(3)}, ${a.ci.high.toFixed(3)}]` : ''}`,
            a.phiCompute === null ? '—' : `×${a.phiCompute.toFixed(3)}`,
            a.declared ? 'declared (not measured)' : 'measured',
          ]),
        ),
      );
      out.push('');
    }
    for (const n of r.notes) out.push(`- ${esc(n)}`);
    if (r.notes.length > 0) out.push('');
  }
  if (run.failures.length > 0) {
    out.push('### Failures (not measured)', '');
    out.push(
      table(
        ['id', 'code', 'message'],
        run.failures.map((f) => [f.id, f.code, f.message]),
      ),
    );
    out.push('');
  }
  out.push('### Provenance', '');
  out.push(table(['item', 'value'], provenanceRows(run)));
  out.push('');
  if (run.notes.length > 0) {
    out.push('### Notes', '');
    for (const n of run.notes) out.push(`- ${esc(n)}`);
    out.push('');
  }
  return out.join('\n');
}

export function renderMarkdown(report: DisclosureReport): string {
  const multi = report.runs.length > 1;
  const head = [
    '# etok energy disclosure',
    '',
    `Results: ${report.inputs.files.map(esc).join(', ')}. Figures are *measured* (a meter), *MODELED* (a stated power model), *declared* (a flag), *derived* (computed from those) or *missing*.`,
    '',
  ];
  return `${[...head, ...report.runs.map((r) => runSection(r, multi))].join('\n').trimEnd()}\n`;
}
