// `etok report p.json` for a profile: markdown, LaTeX, JSON, or a self-contained HTML page with the energy-by-
// kernel chart. Every string goes through the escaper of its format (disclosure/escape.ts).
import { escapeHtml, escapeLatex, escapeMarkdown, htmlPageStart } from '../disclosure/escape.js';
import type { ReportFormat } from '../disclosure/index.js';
import {
  closureLine,
  energyLine,
  kernelCells,
  PROFILE_HEADERS,
  reasonLines,
  timeShareLine,
} from './cells.js';
import { energyByKernelChart } from './chart.js';
import type { ProfileDocument } from './schema.js';

function header(doc: ProfileDocument): string[] {
  const lines = [
    `command: ${doc.command.join(' ')} (${doc.signal ? `signal ${doc.signal}` : `exit ${doc.exitCode}`})${doc.complete ? '' : ' — INCOMPLETE (interrupted or failed: what was measured is kept)'}`,
    `device: ${String((doc.device as { name?: string }).name ?? 'unknown')}`,
    energyLine(doc),
  ];
  return lines;
}

function notes(doc: ProfileDocument): string[] {
  const ts = timeShareLine(doc);
  return [...(ts ? [ts] : []), ...reasonLines(doc, 200), ...(doc.notes ?? [])];
}

export function renderProfileMarkdown(doc: ProfileDocument): string {
  const esc = escapeMarkdown;
  const out = ['# etok profile', ''];
  for (const l of header(doc)) out.push(`- ${esc(l)}`);
  out.push(
    '',
    `| ${PROFILE_HEADERS.map(esc).join(' | ')} |`,
    `|${PROFILE_HEADERS.map(() => '---').join('|')}|`,
  );
  for (const k of doc.kernels) out.push(`| ${kernelCells(doc, k, 200).map(esc).join(' | ')} |`);
  out.push('', esc(closureLine(doc)), '');
  const n = notes(doc);
  if (n.length > 0) {
    out.push('## Notes', '');
    for (const l of n) out.push(`- ${esc(l)}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

export function renderProfileLatex(doc: ProfileDocument): string {
  const esc = escapeLatex;
  const cols = PROFILE_HEADERS.map(() => 'l').join('');
  const out = ['% etok profile (etok.profile/v1)', '\\begin{itemize}'];
  for (const l of header(doc)) out.push(`\\item ${esc(l)}`);
  out.push(
    '\\end{itemize}',
    `\\begin{tabular}{${cols}}`,
    `${PROFILE_HEADERS.map(esc).join(' & ')} \\\\ \\hline`,
  );
  for (const k of doc.kernels) out.push(`${kernelCells(doc, k, 60).map(esc).join(' & ')} \\\\`);
  out.push('\\end{tabular}', '', esc(closureLine(doc)), '');
  const n = notes(doc);
  if (n.length > 0) {
    out.push('\\begin{itemize}');
    for (const l of n) out.push(`\\item ${esc(l)}`);
    out.push('\\end{itemize}');
  }
  return `${out.join('\n')}\n`;
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#fafbfc}
main{max-width:1200px;margin:0 auto;padding:24px}h1{font-size:26px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:12px;margin:8px 0;background:#fff}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f0f3f6}
tr.estimate td{color:#57606a;font-style:italic}tr.invalid td{background:#fff1f0}
figure{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:8px}
figcaption{font-weight:600}.note{font-size:12px;color:#57606a;font-weight:400}.closure{font-weight:600}
`;

export function renderProfileHtml(doc: ProfileDocument): string {
  const esc = escapeHtml;
  const chart = energyByKernelChart(doc);
  const rows = doc.kernels
    .map((k) => {
      const cls = !k.replayed ? ' class="estimate"' : k.replay && !k.replay.valid ? ' class="invalid"' : '';
      return `<tr${cls} title="${esc(k.name)}">${kernelCells(doc, k, 90)
        .map((c) => `<td>${esc(c)}</td>`)
        .join('')}</tr>`;
    })
    .join('\n');
  const n = notes(doc);
  return `${htmlPageStart('etok profile', CSS)}
<h1>etok profile: joules per kernel</h1>
<ul>${header(doc)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('')}</ul>
<figure><figcaption>Energy in the program by kernel${chart.note ? ` <span class="note">(${esc(chart.note)})</span>` : ''}</figcaption>
${chart.svg ?? `<p class="note">${esc(chart.note ?? 'nothing to draw')}</p>`}
</figure>
<table>
<tr>${PROFILE_HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${rows}
</table>
<p class="closure">${esc(closureLine(doc))}</p>
${n.length > 0 ? `<h2>Notes</h2>\n<ul>${n.map((l) => `<li>${esc(l)}</li>`).join('\n')}</ul>` : ''}
</main>
</body>
</html>
`;
}

export function renderProfile(doc: ProfileDocument, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return renderProfileMarkdown(doc);
    case 'latex':
      return renderProfileLatex(doc);
    case 'html':
      return renderProfileHtml(doc);
    case 'json':
      return `${JSON.stringify(doc, null, 2)}\n`;
  }
}
