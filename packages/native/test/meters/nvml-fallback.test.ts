// nvml:N when the energy counter is NOT_SUPPORTED: instant-power sampling on a background thread, said so in
// describe(); nvmlDeviceGetPowerUsage as the last source, flagged as a 1 s average; nothing at all is an error.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NativeMeterHandle, openMeter } from '../../src/index.js';
import { codeOf, configureSim, simNvmlLibrary, sleep, trueJoules } from './sim.js';

let meter: NativeMeterHandle | undefined;
beforeAll(() => {
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary();
});
afterEach(() => {
  meter?.close();
  meter = undefined;
});

describe('nvml power-sampling fallback (simulated board)', () => {
  it('integrates instant power when the energy counter is not supported, and says so', async () => {
    const profile = configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, SWING_PERIOD_MS: 2000 });
    process.env.ETOK_NVML_SAMPLE_MS = '2';
    meter = openMeter('nvml:0');
    const d = meter.describe();
    expect(d.method).toBe('power-sampling');
    expect(d.measured).toBe(true);
    expect(d.source).toBe('nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)');
    expect(d.note).toMatch(/nvmlDeviceGetTotalEnergyConsumption returned NVML_NOT_SUPPORTED/);
    expect(d.note).toMatch(/background thread/);
    expect(d.updatePeriodMs).toBe(2);
    expect(d.averagingWindowMs).toBe(0);
    const a = meter.readAtUpdate();
    await sleep(500);
    const b = meter.readAtUpdate();
    expect(Math.abs((b.joules - a.joules) / trueJoules(profile, a.tNs, b.tNs) - 1)).toBeLessThan(0.02);
  });

  it('falls back to nvmlDeviceGetPowerUsage and flags its 1 s averaging on Ampere and newer', () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, INSTANT_UNSUPPORTED: 1, ARCH: 7 });
    meter = openMeter('nvml:0');
    const d = meter.describe();
    expect(d.method).toBe('power-sampling');
    expect(d.source).toBe('nvmlDeviceGetPowerUsage');
    expect(d.averagingWindowMs).toBe(1000);
    expect(d.note).toMatch(/1 s trailing average/);
    expect(meter.read().joules).toBeGreaterThanOrEqual(0);
  });

  it('treats nvmlDeviceGetPowerUsage as instant on pre-Ampere boards', () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, INSTANT_UNSUPPORTED: 1, ARCH: 5 });
    meter = openMeter('nvml:0');
    expect(meter.describe().averagingWindowMs).toBe(0);
  });

  it('can be forced to sample (ETOK_NVML_METHOD=sampling) or to insist on the counter', () => {
    configureSim({ PERIOD_MS: 5 });
    process.env.ETOK_NVML_METHOD = 'sampling';
    meter = openMeter('nvml:0');
    expect(meter.describe().method).toBe('power-sampling');
    expect(meter.describe().note).toMatch(/ETOK_NVML_METHOD=sampling/);
    meter.close();
    meter = undefined;
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1 });
    process.env.ETOK_NVML_METHOD = 'counter';
    const e = codeOf(() => openMeter('nvml:0'));
    expect(e.code).toBe('NVML_NOT_SUPPORTED');
    expect(e.message).toMatch(/ETOK_NVML_METHOD=counter/);
  });

  it('is an error, not a zero, when the board gives neither energy nor power', () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, INSTANT_UNSUPPORTED: 1, POWER_UNSUPPORTED: 1 });
    const e = codeOf(() => openMeter('nvml:0'));
    expect(e.code).toBe('NVML_NOT_SUPPORTED');
    expect(e.message).toMatch(/neither energy nor power/);
    expect(e.message).toMatch(/--meter model/);
  });
});
