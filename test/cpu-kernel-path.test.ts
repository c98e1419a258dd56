// Each CPU measurement records what ran in provenance.kernelPath: the vector path and whether ETOK_CPU_INT8_DOT's
// integer dot products were taken (and why not), read from the prepared kernel, not from what was asked for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuKernelIsa } from '@etok/native';
import { describe, expect, it } from 'vitest';
import { etok, tempDir } from './helpers/run-etok.js';

// GQA 4 at d64: one query block a unit, rows of whole 16-value chunks, so int8 can take the integer path on AVX2.
const FAST = ['--time-budget', '0.6', '--ctx', '512', '--heads', '8', '--kv-heads', '2', '--head-dim', '64'];

function kernelPaths(env: NodeJS.ProcessEnv, variants: string): Record<string, string> {
  const out = join(tempDir(), 'r.json');
  const r = etok(
    ['bench', '--device', 'cpu', '--meter', 'model', '--variants', variants, '--out', out, ...FAST],
    {
      env,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as {
    measurements: { variant: string; provenance: { kernelPath?: string } }[];
  };
  return Object.fromEntries(doc.measurements.map((m) => [m.variant, m.provenance.kernelPath ?? '']));
}

describe('provenance.kernelPath of the CPU kernels', () => {
  it('names the default vector path and says the int8 dot products are off', () => {
    const paths = kernelPaths({ ETOK_CPU_ISA: '', ETOK_CPU_INT8_DOT: '' }, 'dense');
    expect(paths.dense).toMatch(new RegExp(`^cpu ${cpuKernelIsa()} \\(default\\), \\d+ thread\\(s\\)`));
    expect(paths.dense).toMatch(/; int8 dot products off$/);
  });

  it('says where ETOK_CPU_INT8_DOT=1 was taken, and why not where it was not', () => {
    const paths = kernelPaths({ ETOK_CPU_ISA: 'portable', ETOK_CPU_INT8_DOT: '1' }, 'dense,kv-int8');
    expect(paths.dense).toMatch(/^cpu portable \(ETOK_CPU_ISA\),/);
    expect(paths.dense).toMatch(
      /int8 dot products \(ETOK_CPU_INT8_DOT\): not taken \(the portable path has no/,
    );
    expect(paths['kv-int8']).toMatch(
      /int8 dot products \(ETOK_CPU_INT8_DOT\): not taken \(the portable path has no/,
    );
  });

  it.skipIf(cpuKernelIsa() !== 'avx2')('records the integer dot products of int8 on AVX2', () => {
    const paths = kernelPaths({ ETOK_CPU_ISA: 'avx2', ETOK_CPU_INT8_DOT: '1' }, 'dense,kv-int8');
    expect(paths['kv-int8']).toMatch(
      /^cpu avx2 \(ETOK_CPU_ISA\),.*; int8 dot products \(ETOK_CPU_INT8_DOT\): QK and PV$/,
    );
    expect(paths.dense).toMatch(/not taken \(the cache is not int8\)$/);
  });
});
