// Hand-built measurements and results documents for the analytics tests: every figure is chosen so the
// expected Φ, shares and ceilings can be computed by hand.
import type { Measurement, Results } from '../src/schemas.js';

export interface MeasurementSpec {
  variant: string;
  id?: string;
  phase?: 'decode' | 'prefill';
  dtype?: string;
  shape?: Record<string, number>;
  tokens?: number;
  flops?: number;
  medianS?: number;
  /** J per call of each energy window (10 calls a window); joulesPerCall is their ratio estimate. */
  windowJoulesPerCall?: number[];
  /** Overrides joulesPerToken when the windows are not the point (default: from the windows). */
  joulesPerToken?: number;
  relErrorVsDense?: number | null;
  interleaved?: boolean;
}

export const BASE_SHAPE = {
  batch: 4,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  qLen: 1,
  kvLen: 4096,
  rank: 512,
  ropeDim: 64,
};
export const MLA_SHAPE = { ...BASE_SHAPE, kvHeads: 1, headDim: 576 };
export const PARAMS = { scale: null, blockSize: 64, topK: 16, window: 512 };

export function measurement(spec: MeasurementSpec): Measurement {
  const tokens = spec.tokens ?? 4;
  const jpc = spec.windowJoulesPerCall ?? [0.01, 0.011, 0.0095, 0.0105];
  const windows = jpc.map((j, i) => ({ t0Ns: i * 3e8, t1Ns: i * 3e8 + 2.5e8, joules: j * 10, calls: 10 }));
  const joulesPerCall = windows.reduce((s, w) => s + w.joules, 0) / windows.reduce((s, w) => s + w.calls, 0);
  const phase = spec.phase ?? 'decode';
  const variant = spec.variant;
  const m: Measurement = {
    id: spec.id ?? `${variant}/${phase}`,
    variant,
    phase,
    dtype: spec.dtype ?? 'f32',
    shape: spec.shape ?? (variant.includes('mla') ? MLA_SHAPE : BASE_SHAPE),
    params: PARAMS,
    tokens,
    flops: spec.flops ?? 1e8,
    bytes: 1e6,
    time: { medianS: spec.medianS ?? 1e-3, meanS: spec.medianS ?? 1e-3, ciLowS: 0, ciHighS: 1, samples: 100 },
    energy: {
      joulesPerCall,
      joulesPerToken: spec.joulesPerToken ?? joulesPerCall / tokens,
      avgPowerW: 40,
      dynamicJoulesPerCall: joulesPerCall / 2,
      windows,
    },
    quality: {
      relErrorVsDense: spec.relErrorVsDense === undefined ? 1e-6 : spec.relErrorVsDense,
      relErrorVsExact: 1e-6,
    },
    throttled: false,
  };
  if (spec.interleaved !== undefined) (m as { interleaved?: boolean }).interleaved = spec.interleaved;
  return m;
}

export function results(measurements: Measurement[], extra: Record<string, unknown> = {}): Results {
  return {
    schema: 'etok.results/v1',
    createdAt: '2026-11-25T20:00:00.000Z',
    complete: true,
    tool: { name: 'etok', version: '0.1.0' },
    device: { id: 'cpu', name: 'test cpu' },
    meter: {
      id: 'rapl',
      kind: 'rapl',
      measured: true,
      method: 'energy-counter',
      boundary: 'package',
      updatePeriodMs: 1,
      idleW: 5,
    },
    accounting: { boundary: 'chip', pue: 1, overhead: 0 },
    measurements,
    ...extra,
  };
}

/** Scales a measurement's energy (windows, J/call, J/token) by k. */
export function scaleEnergy(m: Measurement, k: number): Measurement {
  return {
    ...m,
    energy: {
      ...m.energy,
      joulesPerCall: m.energy.joulesPerCall * k,
      joulesPerToken: m.energy.joulesPerToken * k,
      dynamicJoulesPerCall: m.energy.dynamicJoulesPerCall * k,
      windows: m.energy.windows.map((w) => ({ ...w, joules: w.joules * k })),
    },
  };
}
