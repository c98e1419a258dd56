// rapl on a simulated powercap tree (ETOK_POWERCAP_ROOT): package + dram zones summed over packages, MMIO
// duplicates and non-package zones skipped, wrap-around at max_energy_range_uj (also many wraps across a long
// window, caught by the tracker thread), and a permission error that says how to fix it.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { listMeters, type NativeMeterHandle, openMeter } from '../../src/index.js';
import { codeOf, PowercapTree, sleep } from './sim.js';
import { bypassesFileModes, nodeBoundByFileModes } from './without-file-override.js';

let meter: NativeMeterHandle | undefined;
let tree: PowercapTree | undefined;
afterEach(() => {
  meter?.close();
  meter = undefined;
  tree?.remove();
  tree = undefined;
  delete process.env.ETOK_POWERCAP_ROOT;
  delete process.env.ETOK_RAPL_TRACK_MS;
});

/** Two packages with dram, plus zones that must not be counted. Ranges are small so wraps come quickly. */
function twoPackages(): PowercapTree {
  tree = new PowercapTree()
    .zone('intel-rapl:0', 'package-0', 10_000_000, 1_000_000)
    .zone('intel-rapl:0:0', 'core', 10_000_000, 500)
    .zone('intel-rapl:0:1', 'dram', 10_000_000, 2_000_000)
    .zone('intel-rapl:1', 'package-1', 10_000_000, 3_000_000)
    .zone('intel-rapl:2', 'psys', 10_000_000, 7)
    .zone('intel-rapl-mmio:0', 'package-0', 10_000_000, 1_000_000);
  process.env.ETOK_POWERCAP_ROOT = tree.root;
  return tree;
}

describe('rapl (simulated powercap tree)', () => {
  it('sums package and dram domains over packages, skipping core, psys and MMIO duplicates', () => {
    const t = twoPackages();
    meter = openMeter('rapl');
    const d = meter.describe();
    expect(d).toMatchObject({
      id: 'rapl',
      kind: 'rapl',
      measured: true,
      method: 'energy-counter',
      boundary: 'package+dram',
    });
    expect(d.note).toMatch(/package-0 \(intel-rapl:0\), dram \(intel-rapl:0:1\), package-1 \(intel-rapl:1\)/);
    expect(d.note).not.toMatch(/mmio|psys|core/);
    expect(meter.status().domains).toHaveLength(3);
    const a = meter.read();
    t.set('intel-rapl:0', 1_000_000 + 2_500_000); // +2.5 J
    t.set('intel-rapl:0:1', 2_000_000 + 500_000); // +0.5 J
    t.set('intel-rapl:1', 3_000_000 + 1_000_000); // +1.0 J
    t.set('intel-rapl:0:0', 9_000_000); // core: not counted
    t.set('intel-rapl-mmio:0', 9_000_000); // duplicate of package-0: not counted
    const b = meter.read();
    expect(b.joules - a.joules).toBeCloseTo(4.0, 6);
    expect(b.tNs).toBeGreaterThan(a.tNs);
  });

  it('unwraps a counter that passes max_energy_range_uj', () => {
    const t = twoPackages();
    meter = openMeter('rapl');
    t.set('intel-rapl:0', 9_900_000);
    const a = meter.read();
    t.set('intel-rapl:0', 300_000); // wrapped: 0.1 J to the top, 0.3 J after
    const b = meter.read();
    expect(b.joules - a.joules).toBeCloseTo(0.4, 6);
    expect(meter.status().domains[0]).toMatch(/1 wrap\(s\) seen/);
  });

  it('keeps a long window right across many wraps: the tracker reads between the caller’s reads', async () => {
    process.env.ETOK_RAPL_TRACK_MS = '5';
    const t = twoPackages();
    meter = openMeter('rapl');
    expect(meter.describe().note).toMatch(/tracked every 5 ms/);
    const a = meter.read();
    // 25 steps of 4 J on a 10 J range: the counter wraps 10 times; the caller reads only at both ends. After each
    // step the test waits until the tracker has read it (status() reads no counter), as minutes pass between
    // wraps on real machines.
    const reads = () => Number(/read (\d+) times/.exec(meter!.status().domains[0]!)![1]);
    let uj = 1_000_000;
    for (let i = 0; i < 25; i++) {
      uj = (uj + 4_000_000) % 10_000_000;
      t.set('intel-rapl:0', uj);
      const before = reads();
      while (reads() <= before) await sleep(2);
    }
    const b = meter.read();
    expect(b.joules - a.joules).toBeCloseTo(100, 6);
  });

  it('samples a power timeline from energy differences', async () => {
    twoPackages();
    meter = openMeter('rapl');
    meter.startTimeline(5);
    await sleep(40);
    meter.stopTimeline();
    const tl = meter.timeline();
    expect(tl.source).toBe('energy-difference');
    expect(tl.tNs.length).toBeGreaterThan(3);
    expect(Number.isNaN(tl.watts[0])).toBe(true);
    expect(tl.watts[2]).toBe(0); // the simulated counters did not move
  });

  it('is unavailable, with the reason, where there is no powercap tree', () => {
    process.env.ETOK_POWERCAP_ROOT = '/nonexistent/powercap';
    const rapl = listMeters().find((m) => m.kind === 'rapl')!;
    expect(rapl.available).toBe(false);
    expect(rapl.reason).toMatch(/no powercap tree at \/nonexistent\/powercap/);
    expect(codeOf(() => openMeter('rapl')).code).toBe('RAPL_UNAVAILABLE');
  });

  it('reports RAPL_PERMISSION with the fix when energy_uj is root-only', () => {
    const t = twoPackages();
    const addon =
      process.env.ETOK_NATIVE_ADDON ??
      join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'etok_native.node');
    chmodSync(t.root, 0o755);
    const energy = t.energyFile('intel-rapl:0');
    chmodSync(energy, 0o400); // as on Linux ≥ 5.10
    // Root reads anything, so the check runs in a child bound by file modes; a root child keeps its uid, so the
    // file goes to another owner to stay out of its reach, as root's file is out of a normal user's.
    const child0 = nodeBoundByFileModes();
    if (bypassesFileModes) chownSync(energy, 65534, 65534);
    const script = `const b = require(${JSON.stringify(addon)});
      const r = b.listMeters().find((m) => m.kind === 'rapl');
      let e = {};
      try { new b.Meter('rapl'); } catch (x) { e = { code: x.code, message: x.message }; }
      console.log(JSON.stringify({ available: r.available, reason: r.reason, ...e }));`;
    const child = spawnSync(child0.command, [...child0.prefix, '-e', script], {
      env: { ...process.env, ETOK_POWERCAP_ROOT: t.root },
      encoding: 'utf8',
      ...(child0.uid !== undefined ? { uid: child0.uid, gid: child0.gid } : {}),
    });
    expect(child.stderr).toBe('');
    const out = JSON.parse(child.stdout) as {
      available: boolean;
      reason: string;
      code: string;
      message: string;
    };
    expect(out.available).toBe(false);
    expect(out.reason).toMatch(/permission denied/);
    expect(out.code).toBe('RAPL_PERMISSION');
    expect(out.message).toMatch(/intel-rapl:0\/energy_uj: permission denied/);
    expect(out.message).toMatch(/udev rule/);
  });
});
