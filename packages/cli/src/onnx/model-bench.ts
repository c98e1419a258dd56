// `etok bench --onnx model.onnx --tokens-per-run N [--input name=1x128x64 | name=file.npy …]`: a user's own ONNX
// model measured by the engine (the ONNX Runtime executor runs it in a child process), reported as J/run and
// J/token in an etok.results/v1 document whose one measurement is the model's run (variant `onnx:<file name>`).
// Inputs are random of the declared (or given) shapes, or read from .npy files. The CPU execution provider runs it,
// or CUDA's for --device cuda:N; the result says which.
import { basename } from 'node:path';
import {
  type AccountingBoundary,
  analyseMeasurement,
  type BenchConfig,
  chooseMeter,
  createResults,
  DEFAULT_TIMING,
  EtokError,
  type EtokErrorCode,
  type Measurement,
  type Results,
  type TimingSettings,
} from '@etok/core';
import { listDevices, listMeters, measureGroup, type NativeMeasureResult } from '@etok/native';
import { meterHeader } from '../bench/document.js';
import { checkRegularFile } from '../files/input-file.js';
import { hostInfo, toolCommit, toolVersion } from '../provenance.js';
import { ortExecutor } from './executor-spec.js';
import { parseInputSpecs } from './model-inputs.js';

export interface OnnxModelBenchOptions {
  /** Path of the .onnx file (relative to cwd). */
  file: string;
  /** Tokens one run of the model produces (J/token = J/run ÷ this). */
  tokensPerRun: number;
  /** `name=1x128x64` (random data of that shape) or `name=file.npy`, repeatable. */
  inputs?: string[];
  /** 'cpu' (default) or 'cuda:N' (ORT's CUDA execution provider, required). */
  device?: string;
  /** Meter id or 'auto' (nvml for a CUDA run, rapl for the CPU when readable, else the model). */
  meter?: string;
  timing?: Partial<TimingSettings>;
  /** Recorded as the measurement's phase; default decode. */
  phase?: 'decode' | 'prefill';
  seed?: number;
  cwd?: string;
  pue?: number;
  boundary?: AccountingBoundary;
  commandLine?: string[];
  callTimeoutS?: number;
  onProgress?: (stage: string, fraction: number) => void;
  cancelled?: () => boolean;
}

export interface OnnxModelBenchResult {
  document: Results;
  measurement: Measurement;
  executionProvider: 'cpu' | 'cuda';
  providerReason: string;
}

interface ModelDetails {
  executionProvider: 'cpu' | 'cuda';
  providerReason: string;
  intraOpThreads: number | null;
  inputs: { name: string; type: string; dims: number[]; source: string }[];
}

function usage(message: string): never {
  throw new EtokError('BAD_USAGE', message);
}

/** The executor's failure as the CLI's error: what the user gave is bad usage, anything else a failed measurement. */
function failureError(raw: NativeMeasureResult): EtokError {
  const f = raw.failure!;
  const code: EtokErrorCode =
    f.code === 'BAD_USAGE' || f.code === 'UNKNOWN_DEVICE' ? f.code : 'MEASUREMENT_FAILED';
  return Object.assign(new EtokError(code, f.message), { detail: f.detail });
}

export async function benchOnnxModel(options: OnnxModelBenchOptions): Promise<OnnxModelBenchResult> {
  const cwd = options.cwd ?? process.cwd();
  if (!Number.isSafeInteger(options.tokensPerRun) || options.tokensPerRun < 1)
    usage(`--tokens-per-run ${options.tokensPerRun} is not a positive integer`);
  const path = checkRegularFile(options.file, cwd, '--onnx');
  const inputs = options.inputs ?? [];
  parseInputSpecs(inputs, cwd); // the syntax of --input, before any process starts
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && !/^cuda:\d+$/.test(device)) usage(`--device '${device}' is not cpu or cuda:N`);
  const requested = options.meter ?? 'auto';
  const { meter, reason: choice } =
    requested === 'auto'
      ? chooseMeter(device, listMeters())
      : { meter: requested, reason: `requested: ${requested}` };
  const timing: TimingSettings = { ...DEFAULT_TIMING, ...options.timing };
  const seed = options.seed ?? 1;

  const handle = measureGroup(
    [
      {
        variant: 'dense',
        phase: options.phase ?? 'decode',
        device,
        meter,
        shape: {},
        quality: false,
        seed,
        timing,
        executor: ortExecutor(
          { mode: 'model', file: path, inputs, seed, cwd },
          options.callTimeoutS !== undefined ? { callTimeoutS: options.callTimeoutS } : {},
        ),
      },
    ],
    options.onProgress,
  );
  const watch = options.cancelled
    ? setInterval(() => {
        if (options.cancelled!()) handle.cancel();
      }, 50)
    : undefined;
  let raw: NativeMeasureResult;
  try {
    [raw] = (await handle.result) as [NativeMeasureResult];
  } finally {
    if (watch) clearInterval(watch);
  }
  if (raw.failure) throw failureError(raw);
  const details = JSON.parse(raw.executor.detailsJson ?? '{}') as ModelDetails;
  const name = basename(path);
  const phase = options.phase ?? 'decode';
  const config = {
    id: `onnx:${name}/${phase}/${details.inputs.map((i) => `${i.name}=${i.dims.join('x')}`).join(',')}`,
    variant: `onnx:${name}`,
    phase,
    dtype: 'f32',
    shape: {},
    params: {},
    cost: { flops: 0, bytes: 0, tokens: options.tokensPerRun },
    hostBytes: 0,
  } as unknown as BenchConfig;
  const analysed = analyseMeasurement(config, raw, { timing });
  const measurement: Measurement = {
    ...analysed,
    dtype: details.inputs[0]?.type ?? 'none',
    executor: 'onnx',
    // flops and bytes of an arbitrary model are not derived; 0 here means "not known", as `cost` says.
    cost: 'unknown: flops and bytes are not derived for an ONNX model',
    onnx: {
      file: path,
      ortVersion: raw.executor.version ?? '',
      executionProvider: details.executionProvider,
      providerReason: details.providerReason,
      intraOpThreads: details.intraOpThreads,
      tokensPerRun: options.tokensPerRun,
      inputs: details.inputs,
    },
  };
  const known = listDevices().find((d) => d.id === device) ?? { id: device, name: device };
  const document = createResults({
    toolVersion: toolVersion(),
    commit: toolCommit(),
    commandLine: options.commandLine ?? ['etok', 'bench', '--onnx', options.file],
    device: {
      ...known,
      executionProvider: `onnxruntime ${raw.executor.version} ${details.executionProvider}`,
    },
    meter: meterHeader(raw, choice),
    accounting: { boundary: options.boundary ?? 'chip', pue: options.pue ?? 1, overhead: 0 },
    host: hostInfo(),
  });
  document.measurements.push(measurement);
  document.complete = !raw.cancelled;
  return {
    document,
    measurement,
    executionProvider: details.executionProvider,
    providerReason: details.providerReason,
  };
}
