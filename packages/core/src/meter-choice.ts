// `--meter auto` (docs/spec.md §4): nvml for CUDA devices, rapl for the CPU when readable, else the stated model.

export interface MeterAvailabilityLike {
  id: string;
  kind: 'nvml' | 'rapl' | 'model';
  available: boolean;
  reason?: string;
}

export interface MeterChoice {
  meter: string;
  /** One line saying why this meter was picked (printed, and kept in provenance). */
  reason: string;
}

export function chooseMeter(deviceId: string, available: readonly MeterAvailabilityLike[]): MeterChoice {
  const nvml = available.find((m) => m.kind === 'nvml');
  const rapl = available.find((m) => m.kind === 'rapl');
  if (deviceId.startsWith('cuda:')) {
    const index = deviceId.slice(5);
    if (nvml?.available)
      return { meter: `nvml:${index}`, reason: `auto: NVML energy counter of GPU ${index}` };
    return { meter: 'model', reason: `auto: no NVML (${nvml?.reason ?? 'not found'}); energy is MODELED` };
  }
  if (rapl?.available) return { meter: 'rapl', reason: 'auto: RAPL package energy counters' };
  return { meter: 'model', reason: `auto: no RAPL (${rapl?.reason ?? 'not found'}); energy is MODELED` };
}
