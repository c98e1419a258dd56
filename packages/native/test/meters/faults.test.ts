// Fault injection: meters that misbehave mid-run through the simulated NVML (ETOK_SIM_NVML_*_AFTER_MS)
// and a simulated powercap tree. Each fault must be detected and reported with a stable code, never turned into a
// silent number: a counter going backwards, a counter stuck, NOT_SUPPORTED or NO_PERMISSION appearing mid-run, a
// power reading of 0 W, a RAPL wrap inside a window (handled exactly) and a RAPL counter that was reset. Fault
// times leave room for a slow open on a loaded machine. docs/reliability.md lists what each produced.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { measure, type NativeMeterHandle, openMeter } from '../../src/index.js';
import { codeOf, configureSim, PowercapTree, simNvmlLibrary, sleep } from './sim.js';
import { nodeBoundByFileModes } from './without-file-override.js';

let meter: NativeMeterHandle | undefined;
let tree: PowercapTree | undefined;
beforeAll(() => {
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary();
});
afterEach(() => {
  meter?.close();
  meter = undefined;
  tree?.remove();
  tree = undefined;
  delete process.env.ETOK_POWERCAP_ROOT;
  delete process.env.ETOK_RAPL_TRACK_MS;
});

/** Opens nvml:0 and waits until `afterMs` (from the simulator's init, i.e. about the open) has passed. */
async function openThenWait(afterMs: number): Promise<NativeMeterHandle> {
  const opened = Date.now();
  meter = openMeter('nvml:0');
  const left = afterMs + 150 - (Date.now() - opened);
  if (left > 0) await sleep(left);
  return meter;
}

describe('NVML faults mid-run (simulated board)', () => {
  it('a counter going backwards throws NVML_COUNTER_BACKWARDS instead of a negative window', async () => {
    configureSim({ PERIOD_MS: 5, BACKWARDS_AFTER_MS: 1000 });
    const m = await openThenWait(1000);
    const e = codeOf(() => m.read());
    expect(e.code).toBe('NVML_COUNTER_BACKWARDS');
    expect(e.message).toMatch(
      /nvml:0: nvmlDeviceGetTotalEnergyConsumption went backwards from \d+ to \d+ mJ/,
    );
    expect(codeOf(() => m.readAtUpdate()).code).toBe('NVML_COUNTER_BACKWARDS');
  });

  it('a stuck counter: readAtUpdate (every window edge) throws METER_STALLED', async () => {
    configureSim({ PERIOD_MS: 5, STUCK_AFTER_MS: 600 });
    const m = await openThenWait(600);
    const e = codeOf(() => m.readAtUpdate());
    expect(e.code).toBe('METER_STALLED');
    expect(e.message).toMatch(/no counter step could be timed/);
  });

  it('NOT_SUPPORTED appearing mid-run throws NVML_NOT_SUPPORTED naming the call', async () => {
    configureSim({ PERIOD_MS: 5, UNSUPPORTED_AFTER_MS: 600 });
    const m = await openThenWait(600);
    expect(m.describe().method).toBe('energy-counter'); // it was supported at open
    const e = codeOf(() => m.read());
    expect(e.code).toBe('NVML_NOT_SUPPORTED');
    expect(e.message).toMatch(/nvmlDeviceGetTotalEnergyConsumption/);
  });

  it('permission withdrawn mid-run throws NVML_NO_PERMISSION', async () => {
    configureSim({ PERIOD_MS: 5, NO_PERMISSION_AFTER_MS: 600 });
    const m = await openThenWait(600);
    const e = codeOf(() => m.readAtUpdate());
    expect(e.code).toBe('NVML_NO_PERMISSION');
  });

  it('power readings of zero while integrating power throw NVML_ZERO_POWER (seen by the sampler)', async () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, ZERO_POWER_AFTER_MS: 600 });
    process.env.ETOK_NVML_SAMPLE_MS = '5';
    const m = await openThenWait(600);
    expect(m.describe().method).toBe('power-sampling');
    const e = codeOf(() => m.read());
    expect(e.code).toBe('NVML_ZERO_POWER');
    expect(e.message).toMatch(/reported 0(\.0+)? W; a powered board never draws 0 W/);
  });

  it('a board that reads 0 W from the start is refused at open', () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, ZERO_POWER_AFTER_MS: 0 });
    const e = codeOf(() => openMeter('nvml:0'));
    expect(e.code).toBe('NVML_ZERO_POWER');
    expect(e.message).toMatch(/--meter model/);
  });

  it('through the harness: a counter going backwards mid-measurement ends the energy phase with the code and keeps the finished windows', async () => {
    configureSim({ PERIOD_MS: 5, BACKWARDS_AFTER_MS: 1500 });
    const handle = measure({
      variant: 'dense',
      phase: 'decode',
      dtype: 'f32',
      device: 'cpu',
      meter: 'nvml:0',
      shape: { batch: 1, heads: 4, kvHeads: 2, headDim: 32, qLen: 1, kvLen: 256, rank: 512, ropeDim: 64 },
      params: { blockSize: 64, topK: 16, window: 512 },
      quality: false,
      timing: {
        warmupS: 0.02,
        minTimeS: 0.05,
        maxTimeS: 0.2,
        idleS: 0.1,
        coldSamples: 0,
        minTrials: 40,
        maxTrials: 40,
        energyBudgetS: 10,
      },
    } as Parameters<typeof measure>[0]);
    const result = await handle.result;
    expect(result.groupFault?.code).toBe('NVML_COUNTER_BACKWARDS');
    expect(result.stopReason).toBe('meter-fault');
    // 1.5 s of 5 ms updates before the fault: windows of ≥ 200 ms finished and are kept, none after the fault.
    expect(result.windows.length).toBeGreaterThan(0);
    expect(result.windows.length).toBeLessThan(40);
    for (const w of result.windows) expect(w.joules).toBeGreaterThan(0);
  });
});

describe('RAPL faults (simulated powercap tree)', () => {
  function onePackage(rangeUj = 10_000_000, startUj = 1_000_000): PowercapTree {
    tree = new PowercapTree().zone('intel-rapl:0', 'package-0', rangeUj, startUj);
    process.env.ETOK_POWERCAP_ROOT = tree.root;
    return tree;
  }

  it('a wrap during a window is unwrapped exactly', async () => {
    process.env.ETOK_RAPL_TRACK_MS = '5';
    const t = onePackage();
    meter = openMeter('rapl');
    const a = meter.readAtUpdate();
    // Up to 9 J, then across the 10 J boundary to 0.5 J, then 2 J, the tracker reading after every step.
    const reads = () => Number(/read (\d+) times/.exec(meter!.status().domains[0]!)![1]);
    for (const uj of [9_000_000, 500_000, 2_000_000]) {
      t.set('intel-rapl:0', uj);
      const before = reads();
      while (reads() <= before) await sleep(2);
    }
    const b = meter.readAtUpdate();
    expect(b.joules - a.joules).toBeCloseTo(11, 6); // 1 → 9 (8 J), → 10 → 0.5 (1.5 J), → 2 (1.5 J)
    expect(meter.status().domains[0]).toMatch(/1 wrap\(s\) seen/);
  });

  it('a counter that goes back by more than half its range is not a wrap: RAPL_COUNTER_BACKWARDS', () => {
    const t = onePackage();
    meter = openMeter('rapl');
    t.set('intel-rapl:0', 5_000_000);
    meter.read();
    t.set('intel-rapl:0', 2_000_000); // reset: a "wrap" here would add 7 J never spent
    const e = codeOf(() => meter!.read());
    expect(e.code).toBe('RAPL_COUNTER_BACKWARDS');
    expect(e.message).toMatch(/went backwards from 5000000 to 2000000 uJ/);
  });

  it('a stuck counter gives windows of zero joules (the analysis marks them counter-anomaly)', async () => {
    onePackage();
    meter = openMeter('rapl');
    expect(meter.describe().note).toMatch(/did not move.*assumed 1 ms/);
    const a = meter.readAtUpdate();
    await sleep(50);
    const b = meter.readAtUpdate();
    expect(b.joules - a.joules).toBe(0);
  });

  it('permission withdrawn mid-run: the next read throws RAPL_PERMISSION', () => {
    const t = onePackage();
    const addon =
      process.env.ETOK_NATIVE_ADDON ??
      join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'etok_native.node');
    chmodSync(t.root, 0o755);
    const file = t.energyFile('intel-rapl:0');
    // The child must be bound by file modes (root is not) and own the file, to take its own read permission away
    // after opening the meter.
    const child0 = nodeBoundByFileModes();
    if (child0.uid !== undefined) chownSync(file, child0.uid, child0.gid!);
    const script = `const fs = require('node:fs');
      const b = require(${JSON.stringify(addon)});
      const m = new b.Meter('rapl');
      m.read();
      fs.chmodSync(${JSON.stringify(file)}, 0);
      let e = {};
      try { m.read(); } catch (x) { e = { code: x.code, message: x.message }; }
      console.log(JSON.stringify(e));`;
    const child = spawnSync(child0.command, [...child0.prefix, '-e', script], {
      env: { ...process.env, ETOK_POWERCAP_ROOT: t.root },
      encoding: 'utf8',
      ...(child0.uid !== undefined ? { uid: child0.uid, gid: child0.gid } : {}),
    });
    expect(child.stderr).toBe('');
    const out = JSON.parse(child.stdout) as { code: string; message: string };
    expect(out.code).toBe('RAPL_PERMISSION');
    expect(out.message).toMatch(/intel-rapl:0\/energy_uj: permission denied/);
  });
});
