// The region-marker protocol of `etok measure --regions` (docs/plugins.md): a child writes lines to the file
// descriptor named in ETOK_MARKER_FD:
//   begin NAME [phase=decode|prefill]
//   end NAME calls=N tokens=M
// etok timestamps each line on arrival. Regions may nest or repeat; a repeated name adds a window to the same
// measurement. Anything else is a protocol error naming the line.
import { EtokError } from '@etok/core';

export type Marker =
  | { kind: 'begin'; name: string; phase: 'decode' | 'prefill' }
  | { kind: 'end'; name: string; calls: number; tokens: number };

const NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

function fail(line: string, why: string): never {
  throw new EtokError('BAD_USAGE', `region marker '${line.slice(0, 120)}': ${why}`);
}

function keyValues(line: string, words: string[], allowed: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) fail(line, `'${word}' is not key=value`);
    const key = word.slice(0, eq);
    if (!allowed.includes(key)) fail(line, `unknown key '${key}' (allowed: ${allowed.join(', ')})`);
    if (map.has(key)) fail(line, `'${key}' given twice`);
    map.set(key, word.slice(eq + 1));
  }
  return map;
}

function positiveInt(line: string, key: string, text: string | undefined): number {
  if (text === undefined) fail(line, `'${key}=N' is required`);
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    fail(line, `${key}=${text} is not a positive integer`);
  return Number(text);
}

export function parseMarker(line: string): Marker {
  const words = line.trim().split(/\s+/);
  const [verb, name, ...rest] = words;
  if (verb !== 'begin' && verb !== 'end')
    fail(line, `unknown word '${verb ?? ''}'; lines start with begin or end`);
  if (name === undefined || !NAME.test(name))
    fail(line, 'a region name (letters, digits, _ . : / -) must follow');
  if (verb === 'begin') {
    const kv = keyValues(line, rest, ['phase']);
    const phase = kv.get('phase') ?? 'decode';
    if (phase !== 'decode' && phase !== 'prefill') fail(line, `phase=${phase} is not decode or prefill`);
    return { kind: 'begin', name, phase };
  }
  const kv = keyValues(line, rest, ['calls', 'tokens']);
  return {
    kind: 'end',
    name,
    calls: positiveInt(line, 'calls', kv.get('calls')),
    tokens: positiveInt(line, 'tokens', kv.get('tokens')),
  };
}

export interface RegionWindow {
  name: string;
  phase: 'decode' | 'prefill';
  t0Ns: number;
  t1Ns: number;
  joules: number;
  calls: number;
  tokens: number;
}

/** Pairs begin/end markers with their meter readings into windows; throws on an end without its begin. */
export class RegionTracker {
  private readonly open = new Map<string, { phase: 'decode' | 'prefill'; tNs: number; joules: number }>();
  readonly windows: RegionWindow[] = [];

  accept(marker: Marker, reading: { tNs: number; joules: number }, line: string): RegionWindow | undefined {
    if (marker.kind === 'begin') {
      if (this.open.has(marker.name)) fail(line, `region '${marker.name}' is already open`);
      this.open.set(marker.name, { phase: marker.phase, tNs: reading.tNs, joules: reading.joules });
      return undefined;
    }
    const start = this.open.get(marker.name);
    if (!start) fail(line, `end of region '${marker.name}' without its begin`);
    this.open.delete(marker.name);
    const window: RegionWindow = {
      name: marker.name,
      phase: start.phase,
      t0Ns: start.tNs,
      t1Ns: reading.tNs,
      joules: reading.joules - start.joules,
      calls: marker.calls,
      tokens: marker.tokens,
    };
    this.windows.push(window);
    return window;
  }

  openRegions(): string[] {
    return [...this.open.keys()];
  }
}
