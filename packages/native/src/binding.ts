// The addon's surface, typed in one place. Everything that crosses into C++ is declared here.

export interface NativeCapabilities {
  cpu: true;
  cuda: boolean;
  cudaVersion: string;
  cudaArchitectures: string;
  /** Why CUDA kernels were not compiled (empty when they were). */
  cudaReason: string;
  /** Why no CUDA device can be used at run time (empty when one can). */
  cudaRuntimeReason: string;
  /** `etok profile`'s injection library was built (CUDA and CUPTI headers were found). */
  profile: boolean;
  /** Why not, when not. */
  profileReason: string;
}

/** A library `etok profile` loads at run time: the file that loaded, or why none did and what to do. */
export interface NativeLibraryProbe {
  ok: boolean;
  path: string;
  reason: string;
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

/** A problem as the addon reads it; omitted shape fields take the defaults of docs/spec.md §3. */
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

/** A child executor (Python callables, ONNX Runtime sessions): how to start it and what its setup receives. The
 *  child speaks the executor protocol (docs/harness.md); `variant` is then the lever set it implements. */
export interface NativeChildExecutor {
  kind: 'python' | 'onnx';
  command: string[];
  env?: Record<string, string>;
  /** JSON handed to the child's setup as it is. */
  payloadJson: string;
  /** Whether etok's synthetic inputs of the problem go to the child (false: it makes its own). Default true. */
  sendInputs?: boolean;
  setupTimeoutS?: number;
  callTimeoutS?: number;
}

export interface NativeMeasurePlan extends NativeKernelRequest {
  device: string;
  meter: string;
  /** Path of a user's kernel plugin (include/etok/plugin.h); `variant` is then its reference variant. */
  plugin?: string;
  /** Run by a child executor instead of in the measuring process. */
  executor?: NativeChildExecutor;
  /** Seconds a call may take before the measuring process is stopped (measureGroupIsolated; default 60). */
  callTimeoutS?: number;
  profile?: 'uniform' | 'peaked';
  seed?: number;
  quality?: boolean;
  /** FLOPs one fp64 reference may cost (default 4e9); above it the references check a part of the output. */
  maxReferenceFlops?: number;
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
  /** Calls inside the window: whole for in-process executors, counted from the rate for child executors. */
  calls: number;
  /** Instant power integrated over the window beside an energy counter (the cross-check). */
  sampledJoules?: number;
  throttled: boolean;
  temperatureC?: number;
  smClockMHz?: [number, number];
  clockEvents?: string[];
}

/** The part of the output the fp64 references checked (packages/kernels/include/etok/kernels/sample.h): one
 *  batch element, units [firstUnit, firstUnit + unitCount) of `units` (kv groups, or mla heads), rows
 *  [firstRow, firstRow + rowCount) of `rows`. */
export interface NativeQualitySample {
  batchIndex: number;
  unit: 'kv group' | 'head' | 'all heads';
  units: number;
  firstUnit: number;
  unitCount: number;
  rows: number;
  firstRow: number;
  rowCount: number;
  outputShare: number;
}

/** What ran a measurement. */
export interface NativeExecutorInfo {
  kind: 'etok' | 'plugin' | 'python' | 'onnx';
  name?: string;
  description?: string;
  version?: string;
  framework?: string;
  /** What a child executor reports about itself beyond these (JSON text). */
  detailsJson?: string;
}

/** A failure with a stable code, its one-line message, and detail for the results file (e.g. a traceback). */
export interface NativeFailure {
  code: string;
  message: string;
  detail?: string;
}

export interface NativeMeasureResult {
  meter: NativeMeterDescription;
  executor: NativeExecutorInfo;
  /** This configuration failed (its executor raised, hung or crashed); the rest of its group went on. */
  failure?: NativeFailure;
  /** A meter fault ended the group's energy phase; the windows finished before it are kept. */
  groupFault?: NativeFailure;
  idleW: number;
  samplesS: Float64Array;
  coldSamplesS: Float64Array;
  timingStopReason: string;
  windows: NativeWindow[];
  relErrorVsDense: number | null;
  relErrorVsExact: number | null;
  qualityNote: string;
  /** Set when the errors are of a part of the output (the whole was above the fp64 reference budget). */
  qualitySample?: NativeQualitySample;
  stopReason: string;
  windowTargetS: number;
  cancelled: boolean;
  crossCheckSource?: string;
  crossCheckError?: string;
  /** The backend's description of what ran (kernel path, grid, splits). */
  kernelPath?: string;
  /** Power over the group's energy phase (first result of a group only). */
  timeline?: { tNs: number; watts: number }[];
}

export type NativeInputs = Record<string, Float32Array>;

export interface NativePluginInfo {
  path: string;
  name: string;
  description: string;
  referenceVariant: string | null;
  abiVersion: number;
  cpu: boolean;
  cuda: boolean;
}

export interface NativeCallCost {
  flops: number;
  bytes: number;
  tokens: number;
}

/** A reading of an open meter: cumulative joules since open at a CLOCK_MONOTONIC instant (ns, as a number). */
export interface NativeEnergyReading {
  tNs: number;
  joules: number;
}

export interface NativePowerReading {
  tNs: number;
  watts: number;
}

/** What an open meter says about itself: the results file's `meter` plus the exact source. */
export interface NativeOpenMeterDescription extends NativeMeterDescription {
  /** The call or file read, e.g. "nvmlDeviceGetTotalEnergyConsumption". */
  source: string;
  /** > 0 when the source is a trailing average (nvmlDeviceGetPowerUsage on Ampere+): windows must be much longer. */
  averagingWindowMs: number;
}

/** Metadata and state of the measured device; null / empty where the source cannot tell (see `unavailable`). */
export interface NativeDeviceStatus {
  name: string;
  uuid: string;
  driverVersion: string;
  architecture: string;
  powerLimitW: number | null;
  powerW: number | null;
  smClockMHz: number | null;
  memClockMHz: number | null;
  temperatureC: number | null;
  /** Raw NVML clock-event (throttle) reason bits; null when unknown. */
  clockEventReasons: number | null;
  clockEvents: string[];
  /** A power, thermal or hardware slowdown reason is active. */
  throttled: boolean;
  /** RAPL: the zones summed. */
  domains: string[];
  unavailable: string[];
}

/** Samples of a power timeline, same clock as the energy windows. */
export interface NativeTimeline {
  source: 'instant-power' | 'energy-difference';
  periodMs: number;
  /** "CODE: message" when sampling stopped on an error, else empty. */
  error: string;
  tNs: Float64Array;
  watts: Float64Array;
  joules: Float64Array;
}

export interface NativeCrossCheck {
  t0Ns: number;
  t1Ns: number;
  counterJ: number;
  sampledJ: number | null;
  samples: number;
  /** (counter − sampled) / sampled. */
  relativeGap: number | null;
}

/** An open meter (`new binding.Meter(id, device)`). All calls are synchronous; errors carry `code`. */
export interface NativeMeterHandle {
  describe(): NativeOpenMeterDescription;
  read(): NativeEnergyReading;
  /** Waits (≤ about one update period) for the next counter step and returns the reading at it. */
  readAtUpdate(): NativeEnergyReading;
  /** One read; the reading at the step when the counter moved since the previous read (and that read was at most
      maxGapMs ago; default max(1 ms, a tenth of the update period)), else null. */
  pollUpdate(maxGapMs?: number): NativeEnergyReading | null;
  readPower(): NativePowerReading | null;
  status(): NativeDeviceStatus;
  startTimeline(periodMs: number): void;
  stopTimeline(): void;
  timeline(): NativeTimeline;
  crossCheck(t0Ns: number, t1Ns: number, counterJ: number): NativeCrossCheck;
  close(): void;
}

/** timeKernel result: seconds of each timed run() after one warm-up call; isa is the CPU path that ran (or cuda),
 *  with "+int8dot" when ETOK_CPU_INT8_DOT=1 asked for the AVX2 int8 path in integers. */
export interface NativeKernelTiming {
  samplesS: Float64Array;
  isa: string;
}

/** CPU roofline probes measured in this process: sustained multi-threaded read bandwidth and f32 FMA peak. */
export interface NativeCpuRoofline {
  readBytesPerS: number;
  fmaFlopsPerS: number;
  isa: string;
}

/** Progress of a measurement: its stage, the share of its planned work done, and (once known) one call's time of
 *  the executor at work, i.e. how long a stop between calls may have to wait. */
export type ProgressCallback = (stage: string, fraction: number, callS?: number) => void;

export interface NativeBinding {
  /** The engine's timing defaults (harness.h). */
  defaultTiming(): Required<NativeTiming>;
  /** The engine's window rule: seconds a window must span (≥ minWindowS and ≥ minWindowUpdates updates). */
  windowTargetS(
    timing: Pick<NativeTiming, 'minWindowS' | 'minWindowUpdates'>,
    updatePeriodMs: number,
  ): number;
  capabilities(): NativeCapabilities;
  /** Loads the CUDA driver (cuInit, a device count) and CUPTI as `etok profile`'s injection library will. */
  profileSupport(): { cudaDriver: NativeLibraryProbe; cupti: NativeLibraryProbe };
  listDevices(): NativeDevice[];
  listMeters(): NativeMeterAvailability[];
  Meter: new (id: string, device?: string, modelUtilization?: string) => NativeMeterHandle;
  runKernel(request: NativeKernelRequest, inputs: NativeInputs): Float32Array;
  reference(request: NativeKernelRequest, inputs: NativeInputs, which: 'exact' | 'dense'): Float64Array;
  syntheticInputs(request: NativeKernelRequest, profile: 'uniform' | 'peaked', seed: number): NativeInputs;
  /** The fp64 reference's NSA-style selection: per (batch, kv group, query row), block indices ascending. */
  selectBlocks(request: NativeKernelRequest, inputs: NativeInputs): number[][];
  timeKernel(
    request: NativeKernelRequest,
    inputs: NativeInputs,
    options?: { iterations?: number; minTimeS?: number },
  ): NativeKernelTiming;
  cpuRoofline(options?: { threads?: number; seconds?: number; bufferBytes?: number }): NativeCpuRoofline;
  /** The vector path the CPU kernels run in this process (ETOK_CPU_ISA chooses; throws naming a bad value). */
  cpuKernelIsa(): 'avx512' | 'avx2' | 'portable';
  inspectPlugin(path: string): NativePluginInfo;
  pluginCost(path: string, request: NativeKernelRequest): NativeCallCost;
  measure(
    plan: NativeMeasurePlan,
    onProgress?: ProgressCallback,
    cancelToken?: Int32Array,
  ): Promise<NativeMeasureResult>;
  measure(
    plans: NativeMeasurePlan[],
    onProgress?: ProgressCallback,
    cancelToken?: Int32Array,
  ): Promise<NativeMeasureResult[]>;
}
