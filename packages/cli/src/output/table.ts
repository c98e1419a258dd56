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
