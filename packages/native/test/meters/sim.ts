// Helpers of the meter tests: where the simulated libnvidia-ml of this build is, the simulator's ground truth, and
// a simulated powercap tree. Each test file runs in its own forked process (vitest.config.ts), so the NVML
// library path, fixed at the first NVML call of a process, is set per file.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The simulator built next to the addon the tests load (ETOK_NATIVE_ADDON, else build/Release). */
export function simNvmlLibrary(variant: 'full' | 'minimal' = 'full'): string {
  const addon = process.env.ETOK_NATIVE_ADDON ?? join(packageDir, 'build', 'Release', 'etok_native.node');
  const file = variant === 'full' ? 'libetok_sim_nvml.so' : 'libetok_sim_nvml_minimal.so';
  const tried = [join(dirname(addon), file), join(dirname(dirname(addon)), file)];
  const found = tried.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `the simulated NVML library is missing (looked at ${tried.join(', ')}); it is built with the addon: run 'npm run build -w @etok/native' (or the build of ETOK_NATIVE_ADDON's folder)`,
    );
  return found;
}

const SIM_KEYS = [
  'DEVICES',
  'PERIOD_MS',
  'POWER_W',
  'SWING_W',
  'SWING_PERIOD_MS',
  'AVERAGE_MS',
  'ENERGY_UNSUPPORTED',
  'INSTANT_UNSUPPORTED',
  'POWER_UNSUPPORTED',
  'NO_PERMISSION',
  'LOST_AFTER_MS',
  'INIT_ERROR',
  'CLOCK_EVENTS',
  'READ_MS',
  'NAME',
  'ARCH',
  // faults that appear mid-run (fault-injection tests)
  'BACKWARDS_AFTER_MS',
  'BACKWARDS_MJ',
  'STUCK_AFTER_MS',
  'UNSUPPORTED_AFTER_MS',
  'NO_PERMISSION_AFTER_MS',
  'ZERO_POWER_AFTER_MS',
] as const;
export type SimKey = (typeof SIM_KEYS)[number];

export interface SimProfile {
  powerW: number;
  swingW: number;
  swingPeriodMs: number;
}

/** Sets the simulator's configuration (read by the simulator at the next nvmlInit from zero); returns the profile. */
export function configureSim(config: Partial<Record<SimKey, string | number>>): SimProfile {
  for (const key of SIM_KEYS) delete process.env[`ETOK_SIM_NVML_${key}`];
  delete process.env.ETOK_NVML_METHOD;
  delete process.env.ETOK_NVML_SAMPLE_MS;
  for (const [key, value] of Object.entries(config)) process.env[`ETOK_SIM_NVML_${key}`] = String(value);
  return {
    powerW: Number(config.POWER_W ?? 200),
    swingW: Number(config.SWING_W ?? 50),
    swingPeriodMs: Number(config.SWING_PERIOD_MS ?? 1000),
  };
}

/** E(t) of the simulator up to a constant (the same formula as sim_nvml.c), t in CLOCK_MONOTONIC ns. */
function energyAt(profile: SimProfile, tNs: number): number {
  const swingNs = BigInt(Math.round(profile.swingPeriodMs * 1e6));
  const phase = Number(BigInt(Math.round(tNs)) % swingNs) / Number(swingNs);
  const swingS = profile.swingPeriodMs * 1e-3;
  return (
    profile.powerW * tNs * 1e-9 - ((profile.swingW * swingS) / (2 * Math.PI)) * Math.cos(2 * Math.PI * phase)
  );
}

/** Ground truth: the simulated board's energy over [t0Ns, t1Ns]. */
export function trueJoules(profile: SimProfile, t0Ns: number, t1Ns: number): number {
  return energyAt(profile, t1Ns) - energyAt(profile, t0Ns);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A simulated /sys/class/powercap: zones with name, max_energy_range_uj and energy_uj files the test rewrites. */
export class PowercapTree {
  readonly root = mkdtempSync(join(tmpdir(), 'etok-powercap-'));

  zone(zone: string, name: string, maxRangeUj: number, energyUj = 0): this {
    mkdirSync(join(this.root, zone), { recursive: true });
    writeFileSync(join(this.root, zone, 'name'), `${name}\n`);
    writeFileSync(join(this.root, zone, 'max_energy_range_uj'), `${maxRangeUj}\n`);
    this.set(zone, energyUj);
    return this;
  }

  /** Replaces energy_uj atomically (write, then rename), as sysfs reads never see a half-written value. */
  set(zone: string, energyUj: number): void {
    const file = join(this.root, zone, 'energy_uj');
    writeFileSync(`${file}.tmp`, `${Math.round(energyUj)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  energyFile(zone: string): string {
    return join(this.root, zone, 'energy_uj');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The `code` of what `fn` throws (fails the test when it does not throw). */
export function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { code: e.code ?? '(no code)', message: e.message };
  }
  throw new Error('expected an error, got none');
}
