// The disclosure report: six dimensions filled or marked missing, invalid measurements kept out of derived
// figures, joule figures labelled, and strings from results files inert in every format.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResults } from '../results-file.js';
import type { Results } from '../schemas.js';
import { maxOf, minOf } from '../statistics/summary.js';
import { escapeHtml, escapeLatex, escapeMarkdown, stripControl } from './escape.js';
import { buildDisclosure, type ReportOptions, renderReport, runCharts } from './index.js';

const fixture = join(fileURLToPath(import.meta.url), '../../../../../test/fixtures/report-levers.json');
const load = (): Results => parseResults(readFileSync(fixture, 'utf8'), 'report-levers.json');
const build = (r: Results, options: ReportOptions = {}) =>
  buildDisclosure([{ results: r, source: 'report-levers.json' }], options);

const EVIL =
  '\\input{/etc/passwd} 100% & $x$ #1 a_b c^d ~e <script>alert(1)</script> "q" \u001b[31mred\u001b[0m\u0007';

describe('escaping', () => {
  it('strips ANSI escapes and control characters', () => {
    expect(stripControl('a\u001b[1;31mb\u001b]0;title\u0007c\u0000d\ne')).toBe('abcd e');
  });

  it('LaTeX: specials become text commands; nothing can expand', () => {
    const out = escapeLatex(EVIL);
    expect(out).not.toContain('\\input');
    expect(out).toContain('\\textbackslash{}input\\{/etc/passwd\\}');
    // Every TeX special is escaped: no bare %, &, #, $, _, ^, ~ survive.
    expect(out.replace(/\\[%&#$_{}]/g, '').replace(/\\text\w+\{\}/g, '')).not.toMatch(/[%&#$_^~\\{}]/);
    expect(out).not.toContain('\u001b');
    expect(escapeLatex('Φ×ρ − 1 µJ')).toBe('$\\Phi\\times\\rho$ $-$ 1 $\\mu$J');
    expect(escapeLatex('--json')).toBe('-{}-json');
  });

  it('HTML: no tag, entity or attribute break-out survives', () => {
    const out = escapeHtml(EVIL);
    expect(out).not.toMatch(/[<>"']/);
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('&amp;');
    expect(out).not.toContain('\u001b');
  });

  it('Markdown: markup characters are backslash-escaped', () => {
    const out = escapeMarkdown('<script>*x* [a](b) `c` | d & e_f');
    expect(out).toBe('\\<script\\>\\*x\\* \\[a\\](b) \\`c\\` \\| d \\& e\\_f');
  });
});

describe('buildDisclosure', () => {
  it('reports the six dimensions, in order, with the headline at the lowest passing J/token', () => {
    const report = build(load());
    const run = report.runs[0]!;
    expect(run.dimensions.map((d) => d.key)).toEqual([
      'joules-per-token',
      'binding-constraint',
      'facility-power',
      'k-eff',
      'token-output',
      'boundary',
    ]);
    expect(run.headline?.variant).toBe('mla+kv-int8');
    expect(run.dimensions[0]!.status).toBe('measured');
    // No facility power, no utilization: marked missing, never invented.
    expect(run.dimensions[1]!.status).toBe('missing');
    expect(run.dimensions[2]!.status).toBe('missing');
    expect(run.dimensions[4]!.status).toBe('missing');
    expect(run.tpf).toBeNull();
  });

  it('derives the binding constraint from declared facility power, agreeing with the min', () => {
    const run = build(load(), { facilityPowerW: 1000, pue: 1.25, utilization: 0.5 }).runs[0]!;
    const tpf = run.tpf!;
    expect(run.dimensions[1]!.status).toBe('derived');
    expect(tpf.binding).toBe(tpf.powerCeiling < tpf.computeCeiling ? 'power' : 'compute');
    expect(Math.sign(tpf.rhoMinusRhoStar)).toBe(tpf.binding === 'power' ? 1 : -1);
    expect(run.dimensions[2]!.values.itPowerW).toBeCloseTo(800);
    expect(tpf.qdot).toBeCloseTo(Math.min(tpf.computeCeiling, tpf.powerCeiling) * 0.5);
  });

  it('keeps invalid measurements out of the headline and Φ, and marks them with reasons', () => {
    const r = load();
    // Make the cheapest lever set at the first point invalid: the headline moves to the next one.
    const cheapest = r.measurements.find((m) => m.id.startsWith('mla+kv-int8/') && m.shape.kvLen === 1024)!;
    Object.assign(cheapest, { valid: false, validity: ['drift'] });
    const run = build(r).runs[0]!;
    expect(run.headline?.variant).toBe('mla+sparse+kv-int8');
    const row = run.measurements.find((m) => m.id === cheapest.id)!;
    expect(row.valid).toBe(false);
    expect(row.invalidReasons).toEqual(['drift']);
    // Φ lists it as `etok phi` does: no Φ, and why; it is never the composed set.
    const phi = run.phi[0]!.report!;
    const set = phi.sets.find((s) => s.id === cheapest.id)!;
    expect(set.pass).toBe(false);
    expect(set.phiEnergy).toBeNull();
    expect(set.reason).toMatch(/invalid measurement: drift/);
    expect(phi.composedVariant).not.toBe(cheapest.variant);
    const md = renderReport(build(r), 'md');
    expect(md).toMatch(/INVALID \(drift\); [\d.]+ mJ\/token not usable/);
  });

  it('labels modeled energy as MODELED everywhere', () => {
    const r = load();
    r.meter = {
      ...r.meter,
      id: 'model',
      kind: 'model',
      measured: false,
      method: 'model',
      boundary: 'modeled device power',
    };
    const run = build(r).runs[0]!;
    expect(run.energy.label).toBe('MODELED');
    expect(run.dimensions[0]!.status).toBe('modeled');
    const md = renderReport(build(r), 'md');
    expect(md).toContain('MODELED energy');
    expect(md).not.toContain('· measured ·');
  });

  it('prints every joule figure of the measurement table with meter, method and boundary', () => {
    const md = renderReport(build(load()), 'md');
    const rows = md
      .split('\n')
      .filter((l) => l.startsWith('| ') && /J\/token/.test(l) && !l.includes('lever set'));
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) expect(row).toContain('nvml:0 · measured · chip');
  });

  it('JSON is the report model', () => {
    const json = JSON.parse(renderReport(build(load(), { facilityPowerW: 700 }), 'json'));
    expect(json.schema).toBe('etok.report/v1');
    expect(json.inputs.facilityPowerW).toBe(700);
    expect(json.runs[0].dimensions).toHaveLength(6);
  });

  it('a device name full of markup comes out inert in every format', () => {
    const r = load();
    r.device = { ...r.device, name: EVIL };
    const report = build(r);
    const md = renderReport(report, 'md');
    const tex = renderReport(report, 'latex');
    const html = renderReport(report, 'html');
    for (const out of [md, tex, html]) expect(out).not.toContain('\u001b');
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\<script\\>');
    expect(tex).not.toMatch(/(^|[^{])\\input/m);
    expect(tex).toContain('\\textbackslash{}input\\{/etc/passwd\\}');
    expect(tex).not.toMatch(/[^\\]100% /);
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('HTML is self-contained: inline SVG charts, no script, no external URL', () => {
    const html = renderReport(build(load()), 'html');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(html).toContain("default-src 'none'");
    for (const key of ['joules-vs-context', 'phi', 'attribution', 'power-timeline', 'roofline'])
      expect(html).toMatch(new RegExp(`data-chart="${key}"><figcaption>`));
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
  });

  it('says why a chart is empty instead of drawing nothing', () => {
    const r = load();
    r.measurements = r.measurements.filter((m) => m.variant !== 'dense');
    const html = renderReport(build(r), 'html');
    expect(html).toMatch(/data-chart="phi" data-empty="true"/);
    expect(html).toMatch(/baseline &#39;dense&#39;|baseline 'dense'/);
  });

  it('draws power samples when the results carry a timeline, and achieved points only without ceilings', () => {
    const r = load();
    const t0 = minOf(r.measurements.flatMap((m) => m.energy.windows.map((w) => w.t0Ns)));
    Object.assign(r, { timeline: [0, 1, 2, 3].map((i) => ({ tNs: t0 + i * 1e8, watts: 300 + i })) });
    r.device = { id: r.device.id, name: r.device.name };
    const run = build(r).runs[0]!;
    expect(run.timeline.samples).toHaveLength(4);
    expect(run.timeline.samples![1]).toEqual({ tS: 0.1, watts: 301 });
    const charts = runCharts(run);
    expect(charts.find((c) => c.key === 'power-timeline')!.note).toMatch(/power samples/);
    const roofline = charts.find((c) => c.key === 'roofline')!;
    expect(roofline.svg).toContain('<svg');
    expect(roofline.note).toMatch(/achieved points only/);
    expect(run.dimensions[3]!.lines[1]!.map((x) => (typeof x === 'string' ? x : '')).join('')).toMatch(
      /results carry no ceiling/,
    );
  });

  it('cuts long idle gaps between windows when there are no power samples, and greys invalid windows', () => {
    const a = load();
    const b = load();
    b.measurements = b.measurements.slice(0, 2).map((m) => ({
      ...m,
      id: `${m.id}-later`,
      energy: {
        ...m.energy,
        windows: m.energy.windows.map((w) => ({ ...w, t0Ns: w.t0Ns + 600e9, t1Ns: w.t1Ns + 600e9 })),
      },
    }));
    const run = buildDisclosure([
      { results: a, source: 'a.json' },
      { results: b, source: 'b.json' },
    ]).runs[0]!;
    expect(run.sources).toEqual(['a.json', 'b.json']);
    expect(run.timeline.cutGaps).toBe(1);
    const last = maxOf(run.timeline.windows.map((w) => w.t1S));
    expect(last).toBeLessThan(20);
    const chart = runCharts(run).find((c) => c.key === 'power-timeline')!;
    expect(chart.note).toMatch(/1 idle gap\(s\) longer than 2 s cut to 0\.5 s/);
    expect(chart.svg).toContain('INVALID (not usable)');
  });
});
