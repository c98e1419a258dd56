// An old driver (the simulator built without the optional symbols: no energy counter, no field values, no
// metadata calls): every symbol is looked up alone, so the meter still opens, by sampling nvmlDeviceGetPowerUsage,
// and status() lists what is missing instead of crashing. Also: no library at all.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NativeMeterHandle, openMeter } from '../../src/index.js';
import { configureSim, simNvmlLibrary } from './sim.js';

let meter: NativeMeterHandle | undefined;
beforeAll(() => {
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary('minimal');
});
afterEach(() => {
  meter?.close();
  meter = undefined;
});

describe('nvml with missing optional symbols', () => {
  it('opens by sampling nvmlDeviceGetPowerUsage and says why', () => {
    configureSim({ PERIOD_MS: 5 });
    meter = openMeter('nvml:0');
    const d = meter.describe();
    expect(d.method).toBe('power-sampling');
    expect(d.source).toBe('nvmlDeviceGetPowerUsage');
    expect(d.note).toMatch(/nvmlDeviceGetTotalEnergyConsumption is missing/);
    expect(d.averagingWindowMs).toBe(1000); // architecture unknown: assume the worst
    expect(meter.read().joules).toBeGreaterThanOrEqual(0);
  });

  it('lists the metadata it cannot get', () => {
    configureSim({ PERIOD_MS: 5 });
    meter = openMeter('nvml:0');
    const s = meter.status();
    expect(s.name).toMatch(/simulated/);
    expect(s.uuid).toBe('');
    expect(s.temperatureC).toBeNull();
    expect(s.clockEventReasons).toBeNull();
    expect(s.unavailable).toEqual(
      expect.arrayContaining([
        'uuid: nvmlDeviceGetUUID is missing from the library',
        'temperatureC: nvmlDeviceGetTemperature is missing from the library',
        'clockEvents: nvmlDeviceGetCurrentClocksEventReasons is missing from the library',
      ]),
    );
  });
});
