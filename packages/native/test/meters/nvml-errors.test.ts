// NVML failures surface as errors with the NVML name as `code` (docs/spec.md §4): no permission, a board lost
// mid-run (also when the background sampler is the one that sees it), a driver that is not loaded. Loss times
// leave room for a slow open on a loaded machine.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listMeters, type NativeMeterHandle, openMeter } from '../../src/index.js';
import { codeOf, configureSim, simNvmlLibrary, sleep } from './sim.js';

let meter: NativeMeterHandle | undefined;
beforeAll(() => {
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary();
});
afterEach(() => {
  meter?.close();
  meter = undefined;
});

describe('nvml errors (simulated board)', () => {
  it('NVML_NO_PERMISSION names the call', () => {
    configureSim({ PERIOD_MS: 5, NO_PERMISSION: 1 });
    const e = codeOf(() => openMeter('nvml:0'));
    expect(e.code).toBe('NVML_NO_PERMISSION');
    expect(e.message).toMatch(/nvmlDeviceGetTotalEnergyConsumption returned NVML_NO_PERMISSION \(4\)/);
  });

  it('NVML_GPU_LOST when the board falls off the bus mid-run', async () => {
    configureSim({ PERIOD_MS: 5, LOST_AFTER_MS: 500 });
    meter = openMeter('nvml:0');
    const a = meter.readAtUpdate();
    expect(a.joules).toBeGreaterThanOrEqual(0);
    await sleep(550);
    const e = codeOf(() => meter!.read());
    expect(e.code).toBe('NVML_GPU_LOST');
    expect(e.message).toMatch(/fallen off the bus/);
    expect(codeOf(() => meter!.readAtUpdate()).code).toBe('NVML_GPU_LOST');
    expect(codeOf(() => meter!.status()).code).toBe('NVML_GPU_LOST');
  });

  it('NVML_GPU_LOST seen by the power sampler reaches the next read', async () => {
    configureSim({ PERIOD_MS: 5, ENERGY_UNSUPPORTED: 1, LOST_AFTER_MS: 400 });
    process.env.ETOK_NVML_SAMPLE_MS = '5';
    meter = openMeter('nvml:0');
    expect(meter.describe().method).toBe('power-sampling');
    await sleep(500);
    const e = codeOf(() => meter!.read());
    expect(e.code).toBe('NVML_GPU_LOST');
    expect(e.message).toMatch(/power sampler/);
  });

  it('NVML_GPU_LOST stops a power timeline with the error recorded', async () => {
    configureSim({ PERIOD_MS: 5, LOST_AFTER_MS: 500 });
    meter = openMeter('nvml:0');
    meter.startTimeline(5);
    await sleep(600);
    const tl = meter.timeline();
    expect(tl.error).toMatch(/^NVML_GPU_LOST: /);
    expect(tl.tNs.length).toBeGreaterThan(2);
  });

  it('a driver that is not loaded makes nvml unavailable, with the reason', () => {
    configureSim({ INIT_ERROR: 9 });
    const nvml = listMeters().find((m) => m.kind === 'nvml')!;
    expect(nvml.available).toBe(false);
    expect(nvml.reason).toMatch(/nvmlInit_v2 returned NVML_DRIVER_NOT_LOADED/);
    expect(codeOf(() => openMeter('nvml:0')).code).toBe('NVML_DRIVER_NOT_LOADED');
  });

  it('rejects a malformed meter id', () => {
    expect(codeOf(() => openMeter('nvml:x')).code).toBe('UNKNOWN_METER');
    expect(codeOf(() => openMeter('joulemeter')).code).toBe('UNKNOWN_METER');
  });
});
