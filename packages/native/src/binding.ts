// The addon's surface, typed in one place (STYLE 6). Everything that crosses into C++ is declared here.

export interface NativeCapabilities {
  cpu: true;
  cuda: boolean;
  cudaVersion: string;
  cudaArchitectures: string;
  /** Why CUDA kernels were not compiled (empty when they were). */
  cudaReason: string;
  /** Why no CUDA device can be used at run time (empty when one can). */
  cudaRuntimeReason: string;
}

export interface NativeCpuDevice {
  id: 'cpu';
  kind: 'cpu';
  name: string;
  cores: number;
  simd: string;
}

export interface NativeCudaDevice {
  id: `cuda:${number}`;
  kind: 'cuda';
  name: string;
  multiprocessors: number;
  memoryBytes: number;
  computeCapability: string;
  uuid: string;
}

export type NativeDevice = NativeCpuDevice | NativeCudaDevice;

export interface NativeMeterAvailability {
  id: string;
  kind: 'nvml' | 'rapl' | 'model';
  available: boolean;
  reason?: string;
}

/** A problem as the addon reads it; omitted shape fields take the SPEC defaults. */
export interface NativeKernelRequest {
  variant: string;
  phase: 'decode' | 'prefill';
  dtype?: 'f32' | 'bf16' | 'f16';
  device?: string;
  threads?: number;
  shape: Partial<
    Record<'batch' | 'heads' | 'kvHeads' | 'headDim' | 'qLen' | 'kvLen' | 'rank' | 'ropeDim', number>
  >;
  params?: { scale?: number | null; blockSize?: number; topK?: number; window?: number };
}

export interface NativePowerModel {
  source: string;
  idleW: number;
  busyW: number;
  utilization?: 'process-cpu' | 'harness';
}

export interface NativeTiming {
  warmupS?: number;
  minTimeS?: number;
  maxTimeS?: number;
  noiseTarget?: number;
  minWindowS?: number;
  minWindowUpdates?: number;
  minTrials?: number;
  maxTrials?: number;
  energyCiTarget?: number;
  energyBudgetS?: number;
  idleS?: number;
  coldSamples?: number;
}

export interface NativeMeasurePlan extends NativeKernelRequest {
  device: string;
  meter: string;
  profile?: 'uniform' | 'peaked';
  seed?: number;
  quality?: boolean;
  powerModel?: NativePowerModel;
  timing?: NativeTiming;
}

export interface NativeMeterDescription {
  id: string;
  kind: 'nvml' | 'rapl' | 'model';
  measured: boolean;
  method: 'energy-counter' | 'power-sampling' | 'model';
  boundary: string;
  updatePeriodMs: number;
  idleW: number;
  note: string;
}

export interface NativeWindow {
  t0Ns: number;
  t1Ns: number;
  joules: number;
  calls: number;
}

export interface NativeMeasureResult {
  meter: NativeMeterDescription;
  idleW: number;
  samplesS: Float64Array;
  coldSamplesS: Float64Array;
  timingStopReason: string;
  windows: NativeWindow[];
  relErrorVsDense: number | null;
  relErrorVsExact: number | null;
  qualityNote: string;
  stopReason: string;
  windowTargetS: number;
  cancelled: boolean;
}

export type NativeInputs = Record<string, Float32Array>;

export interface NativeBinding {
  capabilities(): NativeCapabilities;
  listDevices(): NativeDevice[];
  listMeters(): NativeMeterAvailability[];
  runKernel(request: NativeKernelRequest, inputs: NativeInputs): Float32Array;
  reference(request: NativeKernelRequest, inputs: NativeInputs, which: 'exact' | 'dense'): Float64Array;
  syntheticInputs(request: NativeKernelRequest, profile: 'uniform' | 'peaked', seed: number): NativeInputs;
  measure(
    plan: NativeMeasurePlan,
    onProgress?: (stage: string, fraction: number) => void,
    cancelToken?: Int32Array,
  ): Promise<NativeMeasureResult>;
  measure(
    plans: NativeMeasurePlan[],
    onProgress?: (stage: string, fraction: number) => void,
    cancelToken?: Int32Array,
  ): Promise<NativeMeasureResult[]>;
}
