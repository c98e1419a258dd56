// Plain aligned tables for a terminal; numbers right-aligned, text left-aligned. Cells may hold text from results
// files (device names from a driver, ids, notes), so control characters and ANSI escapes are removed first: a GPU
// called `\e[2J…` must not clear the reader's terminal.
import { stripControl } from '@etok/core';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export function renderTable(columns: Column[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map((text) => stripControl(text)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const lines = [
    columns.map((c, i) => cell(c.header, i)).join('  '),
    widths.map((w) => '─'.repeat(w)).join('  '),
    ...rows.map((r) => columns.map((_, i) => cell(r[i] ?? '', i)).join('  ')),
  ];
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** Engineering notation with an SI prefix and the unit: 0.00123 J → "1.23 mJ". */
export function si(value: number, unit: string, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return `0 ${unit}`;
  const prefixes: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
    [1e-9, 'n'],
    [1e-12, 'p'],
  ];
  const abs = Math.abs(value);
  const [scale, prefix] = prefixes.find(([s]) => abs >= s) ?? prefixes[prefixes.length - 1]!;
  return `${(value / scale).toPrecision(digits)} ${prefix}${unit}`;
}
