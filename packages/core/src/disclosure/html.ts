// The disclosure as one self-contained HTML page: inline CSS, inline SVG charts rendered at report time (see
// charts.ts), no script and nothing fetched from the network. A Content-Security-Policy of `default-src 'none'`
// backs that up: even a string that slipped past escaping could neither run nor load anything.

import {
  MEASUREMENT_HEADERS,
  measurementCells,
  PEER_HEADERS,
  PHI_HEADERS,
  peerCells,
  phiCells,
  provenanceRows,
} from './cells.js';
import { type Chart, runCharts } from './charts.js';
import { escapeHtml as esc, htmlPageStart } from './escape.js';
import { type DisclosureReport, energySourceText, type Rich, type RunDisclosure } from './model.js';

export function richHtml(rich: Rich): string {
  return rich
    .map((s) =>
      typeof s === 'string'
        ? esc(s)
        : 'strong' in s
          ? `<strong>${esc(s.strong)}</strong>`
          : 'em' in s
            ? `<em>${esc(s.em)}</em>`
            : `<code>${esc(s.code)}</code>`,
    )
    .join('');
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
h3{margin-top:28px}.lede{color:#57606a}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f3f6}td.num{text-align:right;white-space:nowrap}
tr.invalid td{background:#fff1f0;color:#8a1c12}tr.fail td{color:#6e7781}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.modeled{background:#fff8c5;border:1px solid #d4a72c}.measured{background:#dafbe1;border:1px solid #4ac26b}
.dims{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.dim{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px}
.dim h4{margin:0 0 6px;font-size:14px}.dim p{margin:4px 0;font-size:13px}
.status{font-size:11px;text-transform:uppercase;letter-spacing:.04em;padding:1px 6px;border-radius:10px;margin-left:6px}
.s-measured{background:#dafbe1}.s-modeled{background:#fff8c5}.s-declared{background:#ddf4ff}
.s-derived{background:#eef}.s-missing{background:#ffebe9;color:#a40e26}
figure.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:16px 0;padding:8px}
figure.chart figcaption{font-weight:600;margin-bottom:4px}.chart .note{font-size:12px;color:#57606a;font-weight:400}
.empty{color:#a40e26;font-size:13px}code{font-size:12px;background:#f0f3f6;padding:0 3px;border-radius:3px}
`;

function table(headers: string[], rows: string[][], rowClass?: (i: number) => string): string {
  const head = `<tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (r, i) =>
        `<tr${rowClass ? ` class="${rowClass(i)}"` : ''}>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function chartFigure(c: Chart): string {
  const note = c.note ? `<div class="note">${esc(c.note)}</div>` : '';
  const body = c.svg ?? `<p class="empty">No chart: ${esc(c.note ?? 'nothing to draw')}</p>`;
  return `<figure class="chart" data-chart="${c.key}"${c.svg ? '' : ' data-empty="true"'}><figcaption>${esc(c.title)}${c.svg ? note : ''}</figcaption>\n${body}\n</figure>`;
}

function runSection(run: RunDisclosure, multi: boolean): string {
  const out: string[] = [];
  out.push(`<section class="run" id="run-${run.index}">`);
  out.push(`<h2>${multi ? `Run ${run.index}: ` : ''}${esc(run.device.name)} (${esc(run.device.id)})</h2>`);
  out.push(
    `<div class="banner ${run.energy.label === 'MODELED' ? 'modeled' : 'measured'}">${
      run.energy.label === 'MODELED'
        ? '<strong>MODELED energy.</strong> Every joule figure on this page comes from a stated power model, not a meter: '
        : '<strong>Measured energy.</strong> '
    }${esc(energySourceText(run.energy))}.</div>`,
  );
  out.push('<h3>The six disclosure dimensions</h3>', '<div class="dims">');
  run.dimensions.forEach((d, i) => {
    out.push(
      `<div class="dim" data-dimension="${d.key}"><h4>${i + 1}. ${esc(d.title)}<span class="status s-${d.status}">${d.status}</span></h4>${d.lines.map((l) => `<p>${richHtml(l)}</p>`).join('')}</div>`,
    );
  });
  out.push('</div>');
  if (run.headline)
    out.push(
      `<p>Headline lever set: <code>${esc(run.headline.variant)}</code> (${esc(run.headline.reason)}).</p>`,
    );
  out.push('<h3>Charts</h3>');
  for (const c of runCharts(run)) out.push(chartFigure(c));
  out.push('<h3>Measurements</h3>');
  out.push(
    table(
      MEASUREMENT_HEADERS,
      run.measurements.map((r) => measurementCells(run, r)),
      (i) => (!run.measurements[i]!.valid ? 'invalid' : run.measurements[i]!.gate.pass ? 'ok' : 'fail'),
    ),
  );
  if (run.peers.length > 0) {
    out.push('<h3>Best public implementation beside etok</h3>');
    out.push(table(PEER_HEADERS, run.peers.map(peerCells)));
  }
  for (const p of run.phi) {
    if (!p.report) {
      out.push(`<h3>Φ</h3><p class="empty">Missing: ${esc(p.error ?? 'no Φ')}</p>`);
      continue;
    }
    const r = p.report;
    out.push(`<h3>Φ vs ${esc(r.baseline)} at ${esc(p.point)}</h3>`);
    out.push(
      table(
        PHI_HEADERS,
        r.sets.map((s) => phiCells(run, s)),
        (i) => (r.sets[i]!.pass ? 'ok' : 'fail'),
      ),
    );
    if (r.composed !== null && r.attribution.length > 0)
      out.push(
        `<p>Composed <code>${esc(r.composedVariant ?? '')}</code>: Φ<sub>e</sub> = ×${r.composed.toFixed(3)}${r.composedCi ? ` [${r.composedCi.low.toFixed(3)}, ${r.composedCi.high.toFixed(3)}]` : ''}${r.interaction !== null ? `; interaction ×${r.interaction.toFixed(3)}` : ''}.</p>`,
      );
    if (r.notes.length > 0) out.push(`<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  if (run.failures.length > 0) {
    out.push('<h3>Failures (not measured)</h3>');
    out.push(
      table(
        ['id', 'code', 'message'],
        run.failures.map((f) => [f.id, f.code, f.message]),
      ),
    );
  }
  out.push('<h3>Provenance</h3>');
  out.push(table(['item', 'value'], provenanceRows(run)));
  if (run.notes.length > 0) out.push(`<ul>${run.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  out.push('</section>');
  return out.join('\n');
}

export function renderHtml(report: DisclosureReport): string {
  const multi = report.runs.length > 1;
  return `${htmlPageStart('etok energy disclosure', CSS)}
<h1>etok energy disclosure</h1>
<p class="lede">Results: ${report.inputs.files.map(esc).join(', ')}. Figures are <em>measured</em> (a meter), <em>MODELED</em> (a stated power model), <em>declared</em> (a flag), <em>derived</em> (computed from those) or <em>missing</em>.</p>
${report.runs.map((r) => runSection(r, multi)).join('\n')}
</main>
</body>
</html>
`;
}
