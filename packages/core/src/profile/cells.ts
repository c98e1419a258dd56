// The profile's table as plain strings, shared by every format (the terminal, markdown, LaTeX, HTML): Nsight
// Systems' kernel summary (time share, total, calls, average, min, max) with the energy columns beside it. A joule
// figure always carries its source: "replay" (measured) or "time-share" (an estimate).
import { formatQuantity } from '../units.js';
import type { ProfileDocument, ProfileKernel } from './schema.js';

export const PROFILE_HEADERS = [
  'time %',
  'GPU time',
  'calls',
  'avg',
  'min',
  'max',
  'J/call',
  'J/call 95% CI',
  'J in program',
  'energy %',
  'source',
  'kernel',
];

const seconds = (s: number) => formatQuantity(s, 's', 3);
const joules = (j: number) => formatQuantity(j, 'J', 4);
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A kernel's name for a table: demangled, template arguments kept, cut to `max` characters. */
export function shortName(name: string, max = 72): string {
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}

export function launchText(k: ProfileKernel): string {
  const { grid, block, sharedMemBytes } = k.launch;
  return `<<<(${grid.join(',')}), (${block.join(',')})${sharedMemBytes > 0 ? `, ${sharedMemBytes} B` : ''}>>>`;
}

export function sourceCell(k: ProfileKernel): string {
  if (k.source === 'replay')
    return k.replay && !k.replay.valid ? `replay (INVALID: ${k.replay.validity.join(', ')})` : 'replay';
  return 'time-share ESTIMATE';
}

export function kernelCells(doc: ProfileDocument, k: ProfileKernel, nameWidth = 72): string[] {
  const totalGpu = doc.kernels.reduce((s, x) => s + x.gpuSeconds, 0);
  const mean = k.calls > 0 ? k.gpuSeconds / k.calls : 0;
  const extra = k as { minSeconds?: number; maxSeconds?: number };
  return [
    totalGpu > 0 ? percent(k.gpuSeconds / totalGpu) : '—',
    seconds(k.gpuSeconds),
    String(k.calls),
    seconds(mean),
    extra.minSeconds !== undefined ? seconds(extra.minSeconds) : '—',
    extra.maxSeconds !== undefined ? seconds(extra.maxSeconds) : '—',
    joules(k.joulesPerCall),
    k.ciLowJoulesPerCall !== null && k.ciHighJoulesPerCall !== null
      ? `${joules(k.ciLowJoulesPerCall)} – ${joules(k.ciHighJoulesPerCall)}`
      : '(estimate)',
    joules(k.joules),
    doc.programJoules > 0 ? percent(k.share) : '—',
    sourceCell(k),
    `${shortName(k.name, nameWidth)} ${launchText(k)}`,
  ];
}

/** The energy's source and boundary, in one line: no joule figure without them. */
export function energyLine(doc: ProfileDocument): string {
  const m = doc.meter;
  return `energy ${m.measured ? 'MEASURED' : 'MODELED (not measured)'} by ${m.id} (${m.method}, boundary: ${m.boundary}); program ${joules(doc.programJoules)} over ${seconds(doc.programSeconds)} (window aligned to meter updates), idle ${formatQuantity(doc.idleW, 'W', 3)}`;
}

/** How much of the program's measured energy the kernels account for, and how much of that replay measured. */
export function closureLine(doc: ProfileDocument): string {
  if (doc.closure === null) return 'closure: no program energy was measured';
  const replayed = doc.replayedClosure ?? 0;
  const total = doc.kernels.reduce((s, k) => s + k.joules, 0);
  return `closure: the kernels account for ${joules(total)} of the program's ${joules(doc.programJoules)} (${percent(doc.closure)}): ${percent(replayed)} measured by replay, ${percent(doc.closure - replayed)} time-share estimates; the rest is the device between and around kernels`;
}

/** Each kernel not replayed and why, and each replay's doubts, as lines. */
export function reasonLines(doc: ProfileDocument, nameWidth = 72): string[] {
  const lines: string[] = [];
  for (const k of doc.kernels) {
    const who = `${shortName(k.name, nameWidth)} ${launchText(k)}`;
    if (!k.replayed) lines.push(`${who}: not replayed: ${k.reason ?? 'no reason recorded'}`);
    else if (k.replay && !k.replay.valid)
      lines.push(`${who}: replay INVALID (${k.replay.validity.join(', ')})`);
  }
  return lines;
}

/** The time-share estimate's definition, when the table holds one. */
export function timeShareLine(doc: ProfileDocument): string | null {
  if (!doc.kernels.some((k) => k.source === 'time-share') || !doc.timeShare) return null;
  const w = doc.timeShare.watts;
  return `time-share ESTIMATE: J/call = ${w === null ? '—' : formatQuantity(w, 'W', 3)} × the kernel's mean GPU time, that power being ${doc.timeShare.method}`;
}
