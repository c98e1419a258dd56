// The profile's chart for the HTML report: energy in the program per kernel, replayed (measured) and time-share
// (estimated) bars told apart, with the program's measured energy beside them. Rendered to SVG by ECharts in Node
// when the report is written (no script in the page), like the disclosure's charts.
import { createRequire } from 'node:module';
import { stripControl } from '../disclosure/escape.js';
import { formatQuantity } from '../units.js';
import { shortName } from './cells.js';
import type { ProfileDocument } from './schema.js';

type ECharts = typeof import('echarts');
let echartsModule: ECharts | undefined;

export function energyByKernelChart(
  doc: ProfileDocument,
  maxKernels = 20,
): { svg: string | null; note: string | null } {
  if (doc.kernels.length === 0) return { svg: null, note: 'no kernels were traced' };
  const shown = doc.kernels.slice(0, maxKernels);
  const rest = doc.kernels.slice(maxKernels);
  const restJ = rest.reduce((s, k) => s + k.joules, 0);
  const rows = [
    ...shown.map((k) => ({
      name: stripControl(shortName(k.name, 48)),
      joules: k.joules,
      replayed: k.replayed,
    })),
    ...(rest.length > 0 ? [{ name: `${rest.length} other kernels`, joules: restJ, replayed: false }] : []),
  ];
  echartsModule ??= createRequire(import.meta.url)('echarts') as ECharts;
  const height = Math.max(220, 90 + rows.length * 22);
  const chart = echartsModule.init(null, null, { renderer: 'svg', ssr: true, width: 860, height });
  try {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: 'sans-serif' },
      legend: { top: 0, data: ['replay (measured)', 'time-share (ESTIMATE)'] },
      grid: { left: 300, right: 110, top: 30, bottom: 40 },
      xAxis: {
        type: 'value',
        name: `J in the program (${doc.meter.id}, ${doc.meter.boundary})`,
        nameLocation: 'middle',
        nameGap: 26,
      },
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => r.name), axisLabel: { fontSize: 10 } },
      series: [
        {
          name: 'replay (measured)',
          type: 'bar',
          stack: 'j',
          barMaxWidth: 18,
          itemStyle: { color: '#3a7d44' },
          data: rows.map((r) => (r.replayed ? r.joules : 0)),
          label: {
            show: true,
            position: 'right',
            fontSize: 10,
            formatter: (p: { dataIndex: number }) => {
              const r = rows[p.dataIndex]!;
              return r.replayed ? formatQuantity(r.joules, 'J', 3) : '';
            },
          },
        },
        {
          name: 'time-share (ESTIMATE)',
          type: 'bar',
          stack: 'j',
          barMaxWidth: 18,
          itemStyle: { color: '#c9c9c9', borderColor: '#8a8a8a', borderType: 'dashed' },
          data: rows.map((r) => (r.replayed ? 0 : r.joules)),
          label: {
            show: true,
            position: 'right',
            fontSize: 10,
            formatter: (p: { dataIndex: number }) => {
              const r = rows[p.dataIndex]!;
              return r.replayed ? '' : `~${formatQuantity(r.joules, 'J', 3)} (est.)`;
            },
          },
        },
      ],
    });
    return {
      svg: chart.renderToSVGString(),
      note:
        doc.programJoules > 0
          ? `the program measured ${formatQuantity(doc.programJoules, 'J', 4)} in all; the bars add up to ${((doc.closure ?? 0) * 100).toFixed(1)}% of it`
          : null,
    };
  } finally {
    chart.dispose();
  }
}
