// Charts of the HTML report, drawn by Apache ECharts in Node (server-side SVG rendering, no DOM, no canvas) when
// the report is written, so the page needs no script: J/token vs context per lever set, Φ per lever set and the
// attribution waterfall, the power timeline with kernel windows shaded, and the roofline. Each function returns
// an SVG string, or null when the run holds nothing to draw (the renderer then says why).
// ECharts escapes the text it writes into SVG; html.ts additionally strips control characters from every label.

import { createRequire } from 'node:module';
import { maxOf, minOf } from '../statistics/summary.js';
import { formatQuantity } from '../units.js';
import { stripControl } from './escape.js';
import type { MeasurementRow, RunDisclosure } from './model.js';

export interface Chart {
  key: 'joules-vs-context' | 'phi' | 'attribution' | 'power-timeline' | 'roofline';
  title: string;
  svg: string | null;
  /** Why the chart is empty, or what it leaves out. */
  note: string | null;
}

const WIDTH = 860;
const FONT = { fontFamily: 'sans-serif' };

type Option = Record<string, unknown>;

type ECharts = typeof import('echarts');
let echartsModule: ECharts | undefined;

/** ECharts is large (≈ 1 s to load on a small machine): load it on the first chart, not with every command. */
function echarts(): ECharts {
  echartsModule ??= createRequire(import.meta.url)('echarts') as ECharts;
  return echartsModule;
}

function render(option: Option, height: number): string {
  const chart = echarts().init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, textStyle: FONT, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const label = (s: string) => stripControl(s);

/** Axis ticks of a log axis are powers of ten: "100 TFLOP/s", "1 mJ" (no trailing zeros). */
function axisQuantity(v: number, unit: 'FLOP/s' | 'J'): string {
  return formatQuantity(v, unit, 3)
    .replace(/^(\d+)\.0+ /, '$1 ')
    .replace(/^(\d+\.\d*?)0+ /, '$1 ');
}

const INVALID_SERIES = 'INVALID (not usable)';

/** Invalid measurements: one grey series of hollow points, named so no reader takes them for data. */
function invalidSeries(points: [number, number][]): Option[] {
  if (points.length === 0) return [];
  return [
    {
      name: INVALID_SERIES,
      type: 'scatter',
      symbol: 'emptyCircle',
      symbolSize: 8,
      itemStyle: { color: '#9a9a9a' },
      data: points,
    },
  ];
}

function legendHeight(n: number): number {
  return Math.ceil(n / 4) * 24;
}

/** Lever set, and phase/batch/dtype/heads only when they vary within the run. */
function seriesNamer(rows: MeasurementRow[]): (r: MeasurementRow) => string {
  const varies = (f: (r: MeasurementRow) => unknown) => new Set(rows.map(f)).size > 1;
  const phase = varies((r) => r.phase);
  const batch = varies((r) => r.shape.batch);
  const dtype = varies((r) => r.dtype);
  const heads = varies((r) => `${r.shape.heads}/${r.shape.kvHeads}/${r.shape.headDim}`);
  return (r) =>
    label(
      [
        r.variant,
        phase ? r.phase : '',
        batch ? `b${r.shape.batch}` : '',
        dtype ? r.dtype : '',
        heads ? `h${r.shape.heads}kv${r.shape.kvHeads}d${r.shape.headDim}` : '',
      ]
        .filter(Boolean)
        .join(' '),
    );
}

export function joulesVsContextChart(run: RunDisclosure): Chart {
  const title = `J/token vs context per lever set (${run.energy.label}, meter ${run.energy.meterId}, boundary ${run.energy.accountingBoundary})`;
  const drawable = run.measurements.filter((r) => r.joulesPerToken > 0 && Number.isFinite(r.shape.kvLen));
  const rows = drawable.filter((r) => r.valid);
  const invalidRows = drawable.filter((r) => !r.valid);
  if (drawable.length === 0)
    return { key: 'joules-vs-context', title, svg: null, note: 'no measurement with energy to draw' };
  const name = seriesNamer(drawable);
  const series = new Map<string, [number, number][]>();
  for (const r of rows) {
    const list = series.get(name(r)) ?? [];
    list.push([r.shape.kvLen!, r.joulesPerToken]);
    series.set(name(r), list);
  }
  const contexts = [...new Set(drawable.map((r) => r.shape.kvLen!))];
  const names = [...series.keys(), ...(invalidRows.length > 0 ? [INVALID_SERIES] : [])];
  const svg = render(
    {
      legend: { bottom: 0, left: 20, right: 20, itemGap: 16, data: names, textStyle: { fontSize: 11 } },
      grid: { left: 90, right: 30, top: 30, bottom: 50 + legendHeight(names.length) },
      tooltip: { show: false },
      xAxis: {
        type: 'log',
        name: 'context (KV tokens)',
        nameLocation: 'middle',
        nameGap: 28,
        logBase: 2,
        min: 2 ** Math.floor(Math.log2(minOf(contexts) / 2)),
        max: 2 ** Math.ceil(Math.log2(maxOf(contexts) * 2)),
      },
      yAxis: {
        type: 'log',
        name: `J/token (${run.energy.label})`,
        nameLocation: 'middle',
        nameGap: 70,
        axisLabel: { formatter: (v: number) => axisQuantity(v, 'J') },
      },
      series: [
        ...[...series.keys()].map((n) => ({
          name: n,
          type: 'line',
          symbol: 'circle',
          symbolSize: 7,
          data: series.get(n)!.sort((a, b) => a[0] - b[0]),
        })),
        ...invalidSeries(invalidRows.map((r) => [r.shape.kvLen!, r.joulesPerToken])),
      ],
    },
    330 + legendHeight(names.length),
  );
  const notes: string[] = [];
  if (contexts.length === 1)
    notes.push('one context length in these results: each lever set is a single point');
  if (invalidRows.length > 0)
    notes.push(
      `${invalidRows.length} invalid measurement(s) drawn only as grey hollow points marked INVALID: not usable`,
    );
  return { key: 'joules-vs-context', title, svg, note: notes.length ? notes.join('; ') : null };
}

export function phiChart(run: RunDisclosure): Chart {
  const first = run.phi.find((p) => p.report !== null);
  const title = `Φ_e per lever set vs ${first?.report?.baseline ?? 'the baseline'}${first ? ` at ${first.point}` : ''} (${run.energy.label})`;
  if (!first?.report) return { key: 'phi', title, svg: null, note: run.phi[0]?.error ?? 'no Φ' };
  const sets = first.report.sets.filter((s) => s.pass && s.phiEnergy !== null);
  if (sets.length === 0) return { key: 'phi', title, svg: null, note: 'no lever set meets (q*, s*)' };
  sets.sort((a, b) => (b.phiEnergy ?? 0) - (a.phiEnergy ?? 0));
  const failed = first.report.sets.length - sets.length;
  const height = Math.max(220, 60 + sets.length * 18);
  const svg = render(
    {
      grid: { left: 170, right: 130, top: 20, bottom: 40 },
      xAxis: {
        type: 'value',
        name: 'Φ_e = e_tok(baseline) / e_tok(set)',
        nameLocation: 'middle',
        nameGap: 26,
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: sets.map((s) => label(s.variant)),
        axisLabel: { fontSize: 11 },
      },
      series: [
        {
          type: 'bar',
          barMaxWidth: 22,
          data: sets.map((s) => ({
            value: s.phiEnergy,
            itemStyle: { color: (s.phiEnergy ?? 0) >= 1 ? '#3a7d44' : '#b5442c' },
          })),
          label: {
            show: true,
            position: 'right',
            fontSize: 10,
            formatter: (p: { dataIndex: number }) => {
              const s = sets[p.dataIndex]!;
              const ci = s.ci ? ` [${s.ci.low.toFixed(2)}, ${s.ci.high.toFixed(2)}]` : '';
              return `×${(s.phiEnergy ?? 0).toFixed(2)}${ci}`;
            },
          },
          markLine: {
            symbol: 'none',
            silent: true,
            data: [{ xAxis: 1 }],
            lineStyle: { color: '#444', type: 'dashed' },
          },
        },
      ],
    },
    height,
  );
  return {
    key: 'phi',
    title,
    svg,
    note: failed > 0 ? `${failed} lever set(s) miss (q*, s*) and have no Φ (see the Φ table)` : null,
  };
}

export function attributionChart(run: RunDisclosure): Chart {
  const first = run.phi.find((p) => p.report !== null)?.report ?? null;
  const title = `Attribution of the composed Φ_e to its levers${first?.composedVariant ? ` (${first.composedVariant})` : ''}`;
  if (
    !first ||
    first.composed === null ||
    first.attribution.length === 0 ||
    first.attribution.some((a) => a.phi === null)
  )
    return {
      key: 'attribution',
      title,
      svg: null,
      note: first?.notes.join('; ') || 'no attribution: no composed lever set with a Φ',
    };
  // Waterfall on Φ: start at 1 (the baseline), multiply by each lever's share, end at the composed Φ.
  const names = [
    first.baseline,
    ...first.attribution.map((a) => `${a.declared ? '(declared) ' : ''}+${a.lever}`),
    'composed',
  ];
  const base: number[] = [];
  const rise: (number | { value: number; itemStyle: { color: string } })[] = [];
  let level = 1;
  base.push(0);
  rise.push({ value: 1, itemStyle: { color: '#777' } });
  for (const a of first.attribution) {
    const next = level * a.phi!;
    base.push(Math.min(level, next));
    rise.push({ value: Math.abs(next - level), itemStyle: { color: next >= level ? '#3a7d44' : '#b5442c' } });
    level = next;
  }
  base.push(0);
  rise.push({ value: first.composed, itemStyle: { color: '#2f5d8a' } });
  const labels = [
    '×1',
    ...first.attribution.map((a) => `×${a.phi!.toFixed(2)}`),
    `×${first.composed.toFixed(2)}`,
  ];
  const svg = render(
    {
      grid: { left: 70, right: 30, top: 30, bottom: 60 },
      xAxis: { type: 'category', data: names.map(label), axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: 'value', name: 'cumulative Φ_e', nameLocation: 'middle', nameGap: 45 },
      series: [
        { type: 'bar', stack: 'w', silent: true, itemStyle: { color: 'transparent' }, data: base },
        {
          type: 'bar',
          stack: 'w',
          data: rise,
          label: {
            show: true,
            position: 'top',
            fontSize: 11,
            formatter: (p: { dataIndex: number }) => labels[p.dataIndex],
          },
        },
      ],
    },
    320,
  );
  const method =
    first.attributionMethod === 'shapley'
      ? 'Shapley values over log Φ_e'
      : `path ${(first.path ?? []).join(' → ')} (not all subsets measured)`;
  const interaction =
    first.interaction !== null ? `; interaction Φ(S)/ΠΦ({i}) = ×${first.interaction.toFixed(3)}` : '';
  return { key: 'attribution', title, svg, note: `${method}${interaction}` };
}

export function powerTimelineChart(run: RunDisclosure): Chart {
  const title = `Power during the kernel windows (${run.energy.label}, meter ${run.energy.meterId}, ${run.energy.meterBoundary})`;
  const { windows, samples } = run.timeline;
  if (windows.length === 0 && !samples)
    return { key: 'power-timeline', title, svg: null, note: 'the results hold no energy windows' };
  // Windows of invalid measurements are drawn in grey under their own name, never as valid data.
  const seriesOf = (w: (typeof windows)[number]) => (w.valid ? w.variant : INVALID_SERIES);
  const variants = [...new Set(windows.map(seriesOf))];
  const palette = [
    '#5470c6',
    '#91cc75',
    '#fac858',
    '#ee6666',
    '#73c0de',
    '#3ba272',
    '#fc8452',
    '#9a60b4',
    '#ea7ccc',
  ];
  const series: Option[] = variants.map((v, i) => {
    const ws = windows.filter((w) => seriesOf(w) === v);
    const color = v === INVALID_SERIES ? '#9a9a9a' : palette[i % palette.length]!;
    const data: (number | null)[][] = [];
    for (const w of ws) data.push([w.t0S, w.watts], [w.t1S, w.watts], [w.t1S, null]);
    return {
      name: label(v),
      type: 'line',
      showSymbol: false,
      connectNulls: false,
      lineStyle: { width: 2, color },
      itemStyle: { color },
      data,
      markArea: {
        silent: true,
        itemStyle: { color, opacity: 0.18 },
        data: ws.map((w) => [{ xAxis: w.t0S }, { xAxis: w.t1S }]),
      },
    };
  });
  if (samples)
    series.unshift({
      name: 'power samples',
      type: 'line',
      showSymbol: false,
      lineStyle: { width: 1, color: '#333' },
      itemStyle: { color: '#333' },
      data: samples.map((s) => [s.tS, s.watts]),
    });
  if (series[0])
    (series[series.length - 1] as Option).markLine = {
      symbol: 'none',
      silent: true,
      label: { formatter: `idle ${run.idleW.toFixed(1)} W`, position: 'insideEndTop' },
      lineStyle: { type: 'dashed', color: '#888' },
      data: [{ yAxis: run.idleW }],
    };
  const names = series.map((s) => String(s.name));
  const svg = render(
    {
      legend: { bottom: 0, left: 20, right: 20, itemGap: 16, data: names, textStyle: { fontSize: 11 } },
      grid: { left: 70, right: 30, top: 30, bottom: 50 + legendHeight(names.length) },
      xAxis: { type: 'value', name: 'time since the first window (s)', nameLocation: 'middle', nameGap: 28 },
      yAxis: {
        type: 'value',
        name: 'average power per window (W)',
        nameLocation: 'middle',
        nameGap: 45,
        min: 0,
      },
      series,
    },
    340 + legendHeight(names.length),
  );
  return {
    key: 'power-timeline',
    title,
    svg,
    note: [
      samples
        ? 'shaded: energy windows; line: the meter’s power samples'
        : 'shaded: energy windows, each at its average power (joules / duration); the results carry no power-sample timeline',
      ...(windows.some((w) => !w.valid) ? ['grey: windows of invalid measurements (not usable)'] : []),
      ...(run.timeline.cutGaps > 0
        ? [`${run.timeline.cutGaps} idle gap(s) longer than 2 s cut to 0.5 s`]
        : []),
    ].join('; '),
  };
}

export function rooflineChart(run: RunDisclosure): Chart {
  const title = 'Roofline: achieved FLOP/s against arithmetic intensity';
  const drawable = run.measurements.filter((r) => r.achievedFlopsPerS > 0 && r.arithmeticIntensity > 0);
  const rows = drawable.filter((r) => r.valid);
  const invalidRows = drawable.filter((r) => !r.valid);
  if (drawable.length === 0) return { key: 'roofline', title, svg: null, note: 'no measurement to place' };
  const name = seriesNamer(drawable);
  const groups = new Map<string, [number, number][]>();
  for (const r of rows) {
    const list = groups.get(name(r)) ?? [];
    list.push([r.arithmeticIntensity, r.achievedFlopsPerS]);
    groups.set(name(r), list);
  }
  const series: Option[] = [...groups.entries()].map(([n, data]) => ({
    name: n,
    type: 'scatter',
    symbolSize: 9,
    data,
  }));
  series.push(...invalidSeries(invalidRows.map((r) => [r.arithmeticIntensity, r.achievedFlopsPerS])));
  const { flopsPerSecond: peakF, bytesPerSecond: peakB } = run.ceilings;
  const ais = drawable.map((r) => r.arithmeticIntensity);
  const lo = 10 ** Math.floor(Math.log10(minOf(ais) / 2));
  const hi = 10 ** Math.ceil(Math.log10(maxOf(ais) * 2));
  if (peakF !== null || peakB !== null) {
    const roof: [number, number][] = [];
    for (let k = 0; k <= 40; k++) {
      const ai = lo * (hi / lo) ** (k / 40);
      roof.push([
        ai,
        Math.min(peakF ?? Number.POSITIVE_INFINITY, peakB !== null ? ai * peakB : Number.POSITIVE_INFINITY),
      ]);
    }
    series.unshift({
      name: 'ceiling',
      type: 'line',
      showSymbol: false,
      lineStyle: { color: '#222', width: 2 },
      itemStyle: { color: '#222' },
      data: roof,
    });
  }
  const names = series.map((s) => String(s.name));
  const ys = [...drawable.map((r) => r.achievedFlopsPerS), ...(peakF !== null ? [peakF] : [])];
  const svg = render(
    {
      legend: { bottom: 0, left: 20, right: 20, itemGap: 16, data: names, textStyle: { fontSize: 11 } },
      grid: { left: 90, right: 30, top: 30, bottom: 50 + legendHeight(names.length) },
      xAxis: {
        type: 'log',
        name: 'arithmetic intensity (FLOP/byte, analytic)',
        nameLocation: 'middle',
        nameGap: 28,
        min: lo,
        max: hi,
      },
      yAxis: {
        type: 'log',
        name: 'achieved FLOP/s',
        nameLocation: 'middle',
        nameGap: 70,
        min: 10 ** Math.floor(Math.log10(minOf(ys) / 3)),
        max: 10 ** Math.ceil(Math.log10(maxOf(ys) * 3)),
        axisLabel: { formatter: (v: number) => axisQuantity(v, 'FLOP/s') },
      },
      series,
    },
    340 + legendHeight(names.length),
  );
  return {
    key: 'roofline',
    title,
    svg,
    note: [
      peakF !== null || peakB !== null
        ? `ceilings from ${run.ceilings.source}${peakF === null ? ' (no FLOP/s ceiling)' : ''}${peakB === null ? ' (no bytes/s ceiling)' : ''}`
        : 'achieved points only: the results carry no measured FLOP/s or bytes/s ceilings',
      ...(invalidRows.length > 0
        ? [`${invalidRows.length} invalid measurement(s) as grey hollow points marked INVALID`]
        : []),
    ].join('; '),
  };
}

export function runCharts(run: RunDisclosure): Chart[] {
  return [
    joulesVsContextChart(run),
    phiChart(run),
    attributionChart(run),
    powerTimelineChart(run),
    rooflineChart(run),
  ];
}
