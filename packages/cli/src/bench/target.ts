// Where `etok bench` measures: the device (it must exist here) and the meter (auto picks one and says why; one
// this machine lacks is refused before any results file is written).
import { chooseMeter, EtokError } from '@etok/core';
import { capabilities, listDevices, listMeters } from '@etok/native';

export function checkDevice(device: string): { id: string; name: string } & Record<string, unknown> {
  const devices = listDevices();
  const found = devices.find((d) => d.id === device);
  if (found) return { ...found };
  if (/^cuda:\d+$/.test(device)) {
    const caps = capabilities();
    const why = caps.cuda ? caps.cudaRuntimeReason : `this build has no CUDA kernels (${caps.cudaReason})`;
    throw new EtokError('UNKNOWN_DEVICE', `device '${device}' is not available: ${why}`);
  }
  throw new EtokError(
    'UNKNOWN_DEVICE',
    `device '${device}' does not exist; devices here: ${devices.map((d) => d.id).join(', ')}`,
  );
}

export function resolveMeter(requested: string, device: string): { meter: string; choice: string } {
  if (requested === 'auto') {
    const c = chooseMeter(device, listMeters());
    return { meter: c.meter, choice: c.reason };
  }
  if (!/^(model|rapl|nvml:\d+)$/.test(requested))
    throw new EtokError('UNKNOWN_METER', `meter '${requested}' is not one of auto, model, rapl, nvml:N`);
  // Refuse a meter this machine lacks before any results file is written.
  if (requested !== 'model') {
    const m = listMeters().find((x) => x.kind === (requested === 'rapl' ? 'rapl' : 'nvml'));
    if (m && !m.available)
      throw new EtokError(
        'UNKNOWN_METER',
        `meter ${requested} is not available here: ${m.reason ?? 'no reason given'}`,
      );
  }
  return { meter: requested, choice: `requested: ${requested}` };
}
