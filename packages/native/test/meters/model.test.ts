// The model meter: nothing measured, and it says so in every field a report shows.
import { afterEach, describe, expect, it } from 'vitest';
import { type NativeMeterHandle, openMeter } from '../../src/index.js';
import { sleep } from './sim.js';

let meter: NativeMeterHandle | undefined;
afterEach(() => {
  meter?.close();
  meter = undefined;
});

describe('model meter', () => {
  it('is labelled modeled and grows at no less than its idle power', async () => {
    meter = openMeter('model', 'cpu');
    const d = meter.describe();
    expect(d).toMatchObject({ id: 'model', kind: 'model', measured: false, method: 'model' });
    expect(d.note).toMatch(/^modeled: /);
    expect(d.boundary).toMatch(/modeled/);
    expect(meter.readPower()).toBeNull();
    const a = meter.readAtUpdate();
    await sleep(50);
    const b = meter.readAtUpdate();
    const idleW = Number(/^modeled: ([\d.]+) W idle/.exec(d.note)![1]);
    expect((b.joules - a.joules) / ((b.tNs - a.tNs) * 1e-9)).toBeGreaterThanOrEqual(idleW * 0.99);
  });

  it('refuses calls after close', () => {
    meter = openMeter('model', 'cpu');
    meter.close();
    expect(() => meter!.read()).toThrow(expect.objectContaining({ code: 'METER_CLOSED' }));
  });
});
