// The error catalogue is the one table of codes: every code the sources throw (TypeScript and C++) must be in it,
// so the CLI's exit status and bench's failure policy are decided for each, never by default.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorEntry, exitStatusOf, failsOneConfiguration } from '../src/error-catalogue.js';

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'build' || name === 'test') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|cpp|cc|h|cu|cuh)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** Codes passed to the error classes that carry one, in every package's sources. */
function thrownCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [
    /new EtokError\(\s*'([A-Z][A-Z0-9_]+)'/g,
    /(?:MeterError|PluginError|ExecutorError|ExecutorFailure|CodedError|PythonFileError|PluginProbeError)\(\s*["']([A-Z][A-Z0-9_]+)["']/g,
  ];
  for (const file of sources(packages))
    for (const re of patterns)
      for (const m of readFileSync(file, 'utf8').matchAll(re))
        found.set(m[1]!, file.slice(packages.length + 1));
  return found;
}

describe('the error catalogue', () => {
  it('holds every code the sources throw', () => {
    const codes = thrownCodes();
    expect(codes.size).toBeGreaterThan(20);
    const missing = [...codes]
      .filter(([code]) => errorEntry(code) === undefined)
      .map(([c, f]) => `${c} (${f})`);
    expect(missing).toEqual([]);
  });

  it('maps bad usage to exit 2, failed measurements to 1, and says what fails one configuration', () => {
    expect(exitStatusOf(Object.assign(new Error('x'), { code: 'BAD_USAGE' }))).toBe(2);
    expect(exitStatusOf(Object.assign(new Error('x'), { code: 'NVML_GPU_LOST' }))).toBe(1);
    expect(exitStatusOf(Object.assign(new Error('x'), { code: 'NVML_INSUFFICIENT_SIZE' }))).toBe(1);
    expect(exitStatusOf(new Error('no code'))).toBe(1);
    expect(failsOneConfiguration('KERNEL_CRASHED')).toBe(true);
    expect(failsOneConfiguration('EXECUTOR_TIMEOUT')).toBe(true);
    expect(failsOneConfiguration('METER_STALLED')).toBe(false);
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) expect(entry.hint, code).not.toBe('');
  });

  it('is the table in docs/reliability.md, row for row', () => {
    const doc = readFileSync(join(packages, '..', 'docs', 'reliability.md'), 'utf8');
    const rows = [
      ...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` +\| ([12]) +\| (that configuration|the run) +\| (.+?) +\|$/gm),
    ].map((m) => [
      m[1],
      Number(m[2]),
      m[3] === 'that configuration' ? 'configuration' : 'run',
      m[4]!.replace(/\\\|/g, '|'),
    ]);
    const table = Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.exit, e.scope, e.hint]);
    expect(rows).toEqual(table);
  });
});
