// `etok bench --meter nvml:0` against the simulated board (packages/native/test/fixtures/sim-nvml), as a user runs
// it: every window's joules against the simulator's analytic ground truth, and the fallback to power sampling.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { simNvmlLibrary, trueJoules } from '../packages/native/test/meters/sim.js';
import { etok, etokAsync, tempDir } from './helpers/run-etok.js';

const TINY = [
  '--device',
  'cpu',
  '--meter',
  'nvml:0',
  '--ctx',
  '256',
  '--heads',
  '4',
  '--kv-heads',
  '2',
  '--head-dim',
  '32',
];
const profile = { powerW: 180, swingW: 60, swingPeriodMs: 700 };
const simEnv = (extra: Record<string, string> = {}) => ({
  ETOK_NVML_LIBRARY: simNvmlLibrary(),
  ETOK_SIM_NVML_PERIOD_MS: '100',
  ETOK_SIM_NVML_POWER_W: String(profile.powerW),
  ETOK_SIM_NVML_SWING_W: String(profile.swingW),
  ETOK_SIM_NVML_SWING_PERIOD_MS: String(profile.swingPeriodMs),
  ...extra,
});

describe('etok bench on the simulated NVML board', () => {
  it('reports each window within 2% of the ground truth at a 100 ms counter period', () => {
    const r = etok(
      [...['bench', ...TINY], '--time-budget', '6', '--json', '--out', join(tempDir(), 'r.json')],
      {
        env: simEnv(),
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = parseResults(r.stdout, 'stdout');
    expect(doc.meter).toMatchObject({
      id: 'nvml:0',
      kind: 'nvml',
      measured: true,
      method: 'energy-counter',
      boundary: 'board',
    });
    expect(doc.meter.updatePeriodMs).toBeGreaterThan(90);
    expect(doc.meter.updatePeriodMs).toBeLessThan(110);
    const windows = doc.measurements[0]!.energy.windows;
    expect(windows.length).toBeGreaterThanOrEqual(2);
    for (const w of windows) {
      // Windows span ≥ 20 counter updates (2 s) and start and end on counter steps.
      expect(w.t1Ns - w.t0Ns).toBeGreaterThan(1.9e9);
      const truth = trueJoules(profile, w.t0Ns, w.t1Ns);
      expect(Math.abs(w.joules - truth) / truth).toBeLessThan(0.02);
    }
    // The cross-check (integrated instant power over the same windows) is reported beside the counter.
    const crossCheck = (doc.measurements[0]!.energy as { crossCheck?: { relativeGap: number } }).crossCheck;
    expect(crossCheck).toBeDefined();
    expect(Math.abs(crossCheck!.relativeGap)).toBeLessThan(0.05);
  });

  it('falls back to integrating instant power when the energy counter is not supported, and says so', () => {
    const r = etok([...['bench', ...TINY], '--time-budget', '1'], {
      env: simEnv({ ETOK_SIM_NVML_ENERGY_UNSUPPORTED: '1', ETOK_SIM_NVML_PERIOD_MS: '20' }),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/energy: MEASURED by nvml:0 \(power-sampling, boundary: board/);
  });
});

describe('a board lost mid-run', () => {
  it('ends the run with exit 1 naming the NVML error, keeping the finished measurements (complete: false)', async () => {
    const dir = tempDir();
    const out = join(dir, 'r.json');
    const flag = join(dir, 'board-lost');
    const child = etokAsync(
      [
        ...['bench', ...TINY],
        '--ctx',
        '256,512,768',
        '--no-interleave',
        '--time-budget',
        '0.5',
        '--out',
        out,
      ],
      {
        env: {
          ...process.env,
          ...simEnv({ ETOK_SIM_NVML_PERIOD_MS: '10', ETOK_SIM_NVML_LOST_FLAG_FILE: flag }),
        },
      },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const measured = () => (existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')).measurements.length : 0);
    const deadline = Date.now() + 60_000;
    while (measured() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    writeFileSync(flag, 'the board fell off the bus\n');
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/NVML_GPU_LOST/);
    const doc = parseResults(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(false);
    expect(doc.measurements.length).toBeGreaterThanOrEqual(1);
    expect(doc.measurements.length).toBeLessThan(3);
  });
});
