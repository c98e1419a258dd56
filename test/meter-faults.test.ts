// Meter faults seen through the CLI, on the simulated NVML board and a simulated powercap tree: every fault ends the
// run with one line naming its code (exit 1, a failed measurement, the failure recorded in the results file), and
// every window finished before the fault is kept, its measurement marked invalid (`incomplete`); or, where the
// meter cannot tell (a frozen RAPL counter reads as zero joules), the measurement is kept but marked invalid with
// `counter-anomaly`. Never a silent number. The meter-level cases are in
// packages/native/test/meters/faults.test.ts; docs/reliability.md lists what each produced.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { etok, repoRoot, tempDir } from './helpers/run-etok.js';

/** The simulated board built beside the addon the CLI loads (ETOK_NATIVE_ADDON, else packages/native/build). */
const ADDON =
  process.env.ETOK_NATIVE_ADDON ??
  join(repoRoot, 'packages', 'native', 'build', 'Release', 'etok_native.node');
const SIM_NVML = join(dirname(ADDON), 'libetok_sim_nvml.so');
const TINY = ['--ctx', '256', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--time-budget', '0.3'];

interface Results {
  complete: boolean;
  failures: { code: string }[];
  measurements: {
    valid: boolean;
    validity: string[];
    incomplete?: string;
    energy: { windows: { joules: number; t1Ns: number }[] };
  }[];
}

let dir = '';
beforeAll(() => {
  dir = tempDir('etok-faults-');
});

const NVML_FAULTS: { name: string; env: Record<string, string>; code: string; says: RegExp }[] = [
  {
    name: 'counter going backwards',
    env: { ETOK_SIM_NVML_BACKWARDS_AFTER_MS: '1500' },
    code: 'NVML_COUNTER_BACKWARDS',
    says: /went backwards from \d+ to \d+ mJ/,
  },
  {
    name: 'counter stuck',
    env: { ETOK_SIM_NVML_STUCK_AFTER_MS: '1500' },
    code: 'METER_STALLED',
    says: /no counter step could be timed/,
  },
  {
    name: 'NOT_SUPPORTED appearing mid-run',
    env: { ETOK_SIM_NVML_UNSUPPORTED_AFTER_MS: '1500' },
    code: 'NVML_NOT_SUPPORTED',
    says: /returned NVML_NOT_SUPPORTED/,
  },
  {
    name: 'permission withdrawn mid-run',
    env: { ETOK_SIM_NVML_NO_PERMISSION_AFTER_MS: '1500' },
    code: 'NVML_NO_PERMISSION',
    says: /returned NVML_NO_PERMISSION/,
  },
  {
    name: 'power readings of zero (power-sampling fallback)',
    env: { ETOK_SIM_NVML_ENERGY_UNSUPPORTED: '1', ETOK_SIM_NVML_ZERO_POWER_AFTER_MS: '1500' },
    code: 'NVML_ZERO_POWER',
    says: /reported 0 W; a powered board never draws 0 W/,
  },
];

describe('meter faults through etok bench (simulated NVML)', () => {
  it.each(NVML_FAULTS)(
    '$name: exit 1, one line with $code, the failure recorded, finished windows kept',
    (c) => {
      const out = join(dir, `${c.code}.json`);
      const r = etok(['bench', '--json', '--meter', 'nvml:0', '--out', out, ...TINY], {
        cwd: dir,
        env: { ETOK_NVML_LIBRARY: SIM_NVML, ETOK_SIM_NVML_PERIOD_MS: '5', ...c.env },
        timeoutMs: 60_000,
      });
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(r.status, r.stderr).toBe(1);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(c.says);
      expect(lines[0]).toContain(`(${c.code})`);
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
      const doc = JSON.parse(readFileSync(out, 'utf8')) as Results;
      expect(doc.complete).toBe(false);
      expect(doc.failures[0]?.code).toBe(c.code);
      // What was measured before the fault is kept, never presented as valid, and no window spans the fault.
      for (const m of doc.measurements) {
        expect(m.valid).toBe(false);
        expect(m.validity).toContain('incomplete');
        expect(m.incomplete).toContain(c.code);
        for (const w of m.energy.windows) expect(w.joules).toBeGreaterThan(0);
      }
    },
  );

  it('etok measure: a counter going backwards during the command fails it in one line', () => {
    const r = etok(['measure', '--json', '--meter', 'nvml:0', '--', 'sleep', '1'], {
      cwd: dir,
      env: {
        ETOK_NVML_LIBRARY: SIM_NVML,
        ETOK_SIM_NVML_PERIOD_MS: '5',
        ETOK_SIM_NVML_BACKWARDS_AFTER_MS: '500',
      },
      timeoutMs: 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/went backwards/);
  });
});

describe('meter faults through etok bench (simulated powercap tree)', () => {
  it('a frozen RAPL counter: the measurement is kept but invalid (counter-anomaly), never a valid 0 J', () => {
    const root = join(dir, 'powercap');
    mkdirSync(join(root, 'intel-rapl:0'), { recursive: true });
    writeFileSync(join(root, 'intel-rapl:0', 'name'), 'package-0\n');
    writeFileSync(join(root, 'intel-rapl:0', 'max_energy_range_uj'), '262143328850\n');
    writeFileSync(join(root, 'intel-rapl:0', 'energy_uj'), '12345678\n');
    const out = join(dir, 'frozen.json');
    const r = etok(['bench', '--json', '--meter', 'rapl', '--out', out, ...TINY], {
      cwd: dir,
      env: { ETOK_POWERCAP_ROOT: root },
      timeoutMs: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(doc.measurements[0]!.valid).toBe(false);
    expect(doc.measurements[0]!.validity).toContain('counter-anomaly');
  });
});
