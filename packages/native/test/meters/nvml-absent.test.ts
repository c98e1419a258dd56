// No libnvidia-ml at all (a CPU machine): nvml is unavailable with the reason, and opening it is a coded error.
import { beforeAll, describe, expect, it } from 'vitest';
import { listMeters, openMeter } from '../../src/index.js';
import { codeOf } from './sim.js';

beforeAll(() => {
  process.env.ETOK_NVML_LIBRARY = '/nonexistent/libnvidia-ml.so.1';
});

describe('nvml without a library', () => {
  it('is unavailable, with the reason, and opening it throws NVML_UNAVAILABLE', () => {
    const nvml = listMeters().find((m) => m.kind === 'nvml')!;
    expect(nvml.available).toBe(false);
    expect(nvml.reason).toMatch(/cannot load \/nonexistent\/libnvidia-ml\.so\.1/);
    const e = codeOf(() => openMeter('nvml:0'));
    expect(e.code).toBe('NVML_UNAVAILABLE');
  });
});
