// The first commands as a user runs them: devices, a dense decode bench with a results file, and bad input.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { etok, tempDir } from './helpers/run-etok.js';

// Short harness settings keep the suite fast; accuracy is the harness tests' business.
const FAST = ['--time-budget', '0.6', '--ctx', '512', '--heads', '8', '--kv-heads', '2', '--head-dim', '64'];

describe('etok devices', () => {
  it('--json shows the cpu, the CUDA build state and every meter', () => {
    const r = etok(['devices', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(typeof out.build.cuda).toBe('boolean');
    if (out.build.cuda) expect(out.build.cudaVersion).toMatch(/^\d+\.\d+/);
    else expect(out.build.reason).toBeTruthy();
    expect(out.devices[0]).toMatchObject({ id: 'cpu' });
    expect(out.devices[0].name).toBeTruthy();
    expect(out.meters.map((m: { kind: string }) => m.kind).sort()).toEqual(['model', 'nvml', 'rapl']);
    // The CPU kernels' vector path (AVX-512 only when asked for), and why not when ETOK_CPU_ISA cannot be honoured.
    expect(out.cpuKernels).toMatch(/^(avx2|portable)$/);
    const bad = JSON.parse(etok(['devices', '--json'], { env: { ETOK_CPU_ISA: 'avx3' } }).stdout);
    expect(bad.cpuKernels).toMatch(/^none: ETOK_CPU_ISA='avx3' is not one of/);
  });

  it('prints a table without --json', () => {
    const r = etok(['devices']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^build: /);
    expect(r.stdout).toContain('cpu');
  });
});

describe('etok bench', () => {
  it('--json prints a valid results document and writes the same file', () => {
    const dir = tempDir();
    const out = join(dir, 'r.json');
    const r = etok([
      'bench',
      '--device',
      'cpu',
      '--variants',
      'dense',
      '--phase',
      'decode',
      '--json',
      '--out',
      out,
      ...FAST,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const doc = parseResults(r.stdout, 'stdout');
    expect(doc.complete).toBe(true);
    expect(doc.measurements).toHaveLength(1);
    const m = doc.measurements[0]!;
    expect(m.variant).toBe('dense');
    expect(m.energy.joulesPerCall).toBeGreaterThan(0);
    expect(m.time.medianS).toBeGreaterThan(0);
    expect(m.energy.windows.length).toBeGreaterThanOrEqual(2);
    const sum =
      m.energy.windows.reduce((s, w) => s + w.joules, 0) / m.energy.windows.reduce((s, w) => s + w.calls, 0);
    expect(m.energy.joulesPerCall).toBeCloseTo(sum, 12);
    expect(m.quality.relErrorVsDense).not.toBeNull();
    expect(m.quality.relErrorVsDense!).toBeLessThan(1e-4);
    // The meter says what it is: here (no RAPL, no NVML) a stated model, never passed off as measured.
    if (doc.meter.kind === 'model') expect(doc.meter.measured).toBe(false);
    expect(existsSync(out)).toBe(true);
    expect(parseResults(readFileSync(out, 'utf8'), out).measurements).toHaveLength(1);
    // The vector path the CPU kernels ran is on record (AVX-512 only when ETOK_CPU_ISA asks for it).
    const plan = (JSON.parse(readFileSync(out, 'utf8')) as { plan: { cpuIsa?: string } }).plan;
    expect(plan.cpuIsa).toMatch(/^(avx2|portable)$/);
  });

  it('rejects an ETOK_CPU_ISA it does not know with one line and exit 2', () => {
    const dir = tempDir();
    const out = join(dir, 'r.json');
    const r = etok(['bench', '--device', 'cpu', '--out', out, ...FAST], { env: { ETOK_CPU_ISA: 'avx3' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ETOK_CPU_ISA='avx3' is not one of portable, avx2, avx512/);
    expect(existsSync(out)).toBe(false);
  });

  it('labels modeled energy in the table', () => {
    const dir = tempDir();
    const r = etok(['bench', '--meter', 'model', '--out', join(dir, 'r.json'), ...FAST]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/energy: MODELED/);
    expect(r.stdout).toMatch(/J\/call \(modeled\)/);
  });

  it.each([
    [['--heads', '5', '--kv-heads', '2'], /--heads 5 is not a multiple of --kv-heads 2/],
    [['--batch', 'x'], /--batch 'x' is not a positive integer/],
    [['--batch', '-3'], /--batch '-3' is not a positive integer/],
    [['--variants', 'dense+turbo'], /unknown lever 'turbo'/],
    [['--device', 'tpu:0'], /device 'tpu:0' does not exist/],
    [['--meter', 'wattmeter'], /meter 'wattmeter' is not one of/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['--phase', 'train'], /--phase 'train' is not one of decode, prefill/],
    [['--ctx', '1000000000', '--batch', '1000'], /needs about .* GiB of host memory/],
  ])('rejects %j with one line and exit 2', (args, message) => {
    const dir = tempDir();
    const out = join(dir, 'r.json');
    const r = etok(['bench', ...args, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
