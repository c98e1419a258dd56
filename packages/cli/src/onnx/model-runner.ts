// `etok bench --onnx model.onnx --tokens-per-run N [--input name=1x128x64 | name=file.npy …]`: a user's own ONNX
// model measured under the harness's rules (measure-runs.ts) with etok's meters, reported as J/run and J/token in
// an etok.results/v1 document whose one measurement is the model's run (variant `onnx:<file name>`). Inputs are
// random of the declared (or given) shapes, or read from .npy files. ORT's CUDA execution provider is used where a
// CUDA device exists and the installed package can load it, else the CPU provider; the result says which, and why.
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  type AccountingBoundary,
  analyseMeasurement,
  type BenchConfig,
  chooseMeter,
  createResults,
  DEFAULT_TIMING,
  EtokError,
  type Measurement,
  type Results,
  type TimingSettings,
} from '@etok/core';
import { f16Bits, type OnnxFeed } from '@etok/kernels/onnx';
import { listDevices, listMeters, type NativeMeterHandle, openMeter } from '@etok/native';
import type { InferenceSession } from 'onnxruntime-node';
import { hostInfo, toolCommit, toolVersion } from '../provenance.js';
import { measureRuns } from './measure-runs.js';
import { parseNpy } from './npy.js';
import { createSession, OrtProviderError, type OrtSession, toTensors } from './ort.js';

export interface OnnxModelBenchOptions {
  /** Path of the .onnx file (relative to cwd). */
  file: string;
  /** Tokens one run of the model produces (J/token = J/run ÷ this). */
  tokensPerRun: number;
  /** `name=1x128x64` (random data of that shape) or `name=file.npy`, repeatable. */
  inputs?: string[];
  /** undefined or 'auto': CUDA where it loads, else CPU; 'cpu'; 'cuda:N' (required). */
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
  intraOpThreads?: number | null;
  onProgress?: (stage: string, fraction: number) => void;
  cancelled?: () => boolean;
}

export interface OnnxModelBenchResult {
  document: Results;
  measurement: Measurement;
  executionProvider: 'cpu' | 'cuda';
  providerReason: string;
}

type InputSpec = { kind: 'shape'; dims: number[] } | { kind: 'npy'; path: string };

function usage(message: string): never {
  throw new EtokError('BAD_USAGE', message);
}

/** Parses the repeatable `--input name=AxBxC` / `name=file.npy` values. */
export function parseInputSpecs(values: readonly string[], cwd: string): Map<string, InputSpec> {
  const specs = new Map<string, InputSpec>();
  for (const text of values) {
    const eq = text.indexOf('=');
    const name = eq > 0 ? text.slice(0, eq) : '';
    const value = eq > 0 ? text.slice(eq + 1).trim() : '';
    if (!name || !value) usage(`--input '${text}' is not name=SHAPE (e.g. x=1x128x64) or name=FILE.npy`);
    if (specs.has(name)) usage(`--input '${name}' is given twice`);
    if (value.toLowerCase().endsWith('.npy')) specs.set(name, { kind: 'npy', path: resolve(cwd, value) });
    else {
      const dims = value.split(/[x×,]/).map((d) => Number(d.trim()));
      if (dims.some((d) => !Number.isSafeInteger(d) || d < 1))
        usage(`--input '${text}': shape '${value}' is not sizes ≥ 1 joined by x (e.g. 1x128x64)`);
      specs.set(name, { kind: 'shape', dims });
    }
  }
  return specs;
}

/** Seeded PRNG (mulberry32): reruns feed the same random inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

type ElementType = InferenceSession.TensorValueMetadata['type'];

/**
 * Random data for an input: floats uniform in [−1, 1), integers uniform in [0, 16) (small, so that index inputs such
 * as token ids stay in range; pass a .npy for real indices), booleans fair coins.
 */
function randomFeed(
  name: string,
  type: ElementType,
  dims: number[],
  random: () => number,
): OnnxFeed | { type: 'int64'; data: BigInt64Array; dims: number[] } {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return { type, dims, data: Float32Array.from({ length: n }, () => random() * 2 - 1) };
    case 'float16':
      return { type, dims, data: Uint16Array.from({ length: n }, () => f16Bits(random() * 2 - 1)) };
    case 'int32':
      return { type, dims, data: Int32Array.from({ length: n }, () => Math.floor(random() * 16)) };
    case 'int64':
      return { type, dims, data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(random() * 16))) };
    case 'int8':
      return { type, dims, data: Int8Array.from({ length: n }, () => Math.floor(random() * 16)) };
    case 'uint8':
      return { type, dims, data: Uint8Array.from({ length: n }, () => Math.floor(random() * 16)) };
    case 'bool':
      return { type, dims, data: Uint8Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0)) };
    default:
      return usage(
        `input '${name}' has element type ${type}, which etok cannot generate; pass it as --input ${name}=FILE.npy`,
      );
  }
}

interface ResolvedInput {
  name: string;
  type: string;
  dims: number[];
  source: 'random' | string;
  feed: { type: string; data: unknown; dims: number[] };
}

function resolveInputs(
  session: InferenceSession,
  specs: Map<string, InputSpec>,
  file: string,
  seed: number,
): ResolvedInput[] {
  const meta = session.inputMetadata;
  const names = meta.map((m) => m.name);
  for (const name of specs.keys())
    if (!names.includes(name))
      usage(
        `--input '${name}': ${file} has no input '${name}'; its inputs are ${names.join(', ') || '(none)'}`,
      );
  const random = prng(seed);
  return meta.map((m): ResolvedInput => {
    if (!m.isTensor) usage(`input '${m.name}' of ${file} is not a tensor; etok feeds tensors only`);
    const declared = m.shape;
    const spec = specs.get(m.name);
    const fits = (dims: readonly number[]) =>
      dims.length === declared.length &&
      declared.every((d, i) => typeof d !== 'number' || d < 0 || d === dims[i]);
    const shown = `[${declared.join(', ')}]`;
    if (spec?.kind === 'npy') {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(spec.path);
      } catch (error) {
        return usage(
          `--input ${m.name}=${spec.path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        );
      }
      const array = parseNpy(bytes, spec.path);
      if (!fits(array.dims))
        usage(
          `--input ${m.name}=${spec.path}: shape (${array.dims.join(', ')}) does not fit the declared ${shown}`,
        );
      let data: unknown = array.data;
      let type: string = array.type;
      if (array.type === 'float64' && m.type === 'float32') {
        data = Float32Array.from(array.data as Float64Array);
        type = 'float32';
      }
      if (type === 'bool' && m.type === 'bool') type = 'bool';
      if (type !== m.type)
        usage(
          `--input ${m.name}=${spec.path}: the file holds ${array.type}, the model's input '${m.name}' is ${m.type}`,
        );
      return {
        name: m.name,
        type,
        dims: array.dims,
        source: spec.path,
        feed: { type, data, dims: array.dims },
      };
    }
    let dims: number[];
    if (spec?.kind === 'shape') {
      if (!fits(spec.dims))
        usage(`--input ${m.name}=${spec.dims.join('x')} does not fit the declared shape ${shown}`);
      dims = spec.dims;
    } else {
      const dynamic = declared.some((d) => typeof d !== 'number' || d < 0);
      if (dynamic)
        usage(
          `input '${m.name}' of ${file} has dynamic dims ${shown}; give its shape with --input ${m.name}=${declared.map((d) => (typeof d === 'number' && d > 0 ? d : 'N')).join('x')}`,
        );
      dims = declared as number[];
    }
    const feed = randomFeed(m.name, m.type, dims, random);
    return { name: m.name, type: m.type, dims, source: 'random', feed };
  });
}

async function openSession(
  model: Uint8Array,
  file: string,
  options: OnnxModelBenchOptions,
): Promise<OrtSession> {
  const device = options.device ?? 'auto';
  const cudaDevices = listDevices().filter((d) => d.kind === 'cuda');
  let provider: 'cpu' | 'cuda' | 'auto' = 'cpu';
  let deviceIndex = 0;
  if (device === 'auto') provider = cudaDevices.length > 0 ? 'auto' : 'cpu';
  else if (/^cuda:\d+$/.test(device)) {
    provider = 'cuda';
    deviceIndex = Number(device.slice(5));
  } else if (device !== 'cpu') usage(`--device '${device}' is not cpu or cuda:N`);
  try {
    const s = await createSession(model, {
      provider,
      deviceIndex,
      intraOpThreads: options.intraOpThreads ?? null,
    });
    if (provider === 'cpu' && device === 'auto')
      s.providerReason = 'auto: no CUDA device; CPU execution provider';
    return s;
  } catch (error) {
    if (error instanceof OrtProviderError) throw new EtokError('UNKNOWN_DEVICE', error.message);
    const first = (error as Error).message.split('\n')[0]!.slice(0, 300);
    return usage(`--onnx ${file} is not an ONNX model that ONNX Runtime can load: ${first}`);
  }
}

function openMeterFor(
  requested: string,
  device: string,
): { handle: NativeMeterHandle | null; choice: string } {
  const { meter, reason } =
    requested === 'auto'
      ? chooseMeter(device, listMeters())
      : { meter: requested, reason: `requested: ${requested}` };
  try {
    return { handle: openMeter(meter, device), choice: reason };
  } catch (error) {
    if (requested !== 'auto') throw error;
    return {
      handle: null,
      choice: `${reason}; opening it failed (${(error as Error).message}); energy NOT measured`,
    };
  }
}

export async function benchOnnxModel(options: OnnxModelBenchOptions): Promise<OnnxModelBenchResult> {
  const cwd = options.cwd ?? process.cwd();
  if (!Number.isSafeInteger(options.tokensPerRun) || options.tokensPerRun < 1)
    usage(`--tokens-per-run ${options.tokensPerRun} is not a positive integer`);
  const path = resolve(cwd, options.file);
  const name = basename(path);
  let model: Uint8Array;
  try {
    model = readFileSync(path);
  } catch (error) {
    return usage(
      `--onnx ${options.file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const specs = parseInputSpecs(options.inputs ?? [], cwd);
  const ort = await openSession(model, options.file, options);
  const timing: TimingSettings = { ...DEFAULT_TIMING, ...options.timing };
  const deviceId =
    ort.executionProvider === 'cuda' ? `cuda:${/^cuda:(\d+)$/.exec(options.device ?? '')?.[1] ?? 0}` : 'cpu';
  let meter: NativeMeterHandle | null = null;
  try {
    const inputs = resolveInputs(ort.session, specs, options.file, options.seed ?? 1);
    const opened = openMeterFor(options.meter ?? 'auto', deviceId);
    meter = opened.handle;
    const choice = opened.choice;
    const feeds = await toTensors(Object.fromEntries(inputs.map((i) => [i.name, i.feed as OnnxFeed])));
    const runOnce = async () => {
      await ort.session.run(feeds);
    };
    try {
      await runOnce();
    } catch (error) {
      // A shape the model rejects at run time is what the user gave us: say which input, as bad usage.
      usage(
        `${options.file} rejected the inputs (${inputs.map((i) => `${i.name}=${i.dims.join('x')}`).join(', ')}): ${(error as Error).message.split('\n')[0]}`,
      );
    }
    const raw = await measureRuns(runOnce, {
      timing,
      meter,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.cancelled ? { cancelled: options.cancelled } : {}),
    });
    const phase = options.phase ?? 'decode';
    const config = {
      id: `onnx:${name}/${phase}/${inputs.map((i) => `${i.name}=${i.dims.join('x')}`).join(',')}`,
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
      dtype: inputs[0]?.type ?? 'none',
      // flops and bytes of an arbitrary model are not derived; 0 here means "not known", as `cost` says.
      cost: 'unknown: flops and bytes are not derived for an ONNX model',
      onnx: {
        file: path,
        ortVersion: ort.ortVersion,
        executionProvider: ort.executionProvider,
        providerReason: ort.providerReason,
        intraOpThreads: ort.intraOpThreads,
        tokensPerRun: options.tokensPerRun,
        inputs: inputs.map((i) => ({ name: i.name, type: i.type, dims: i.dims, source: i.source })),
      },
    };
    if (!meter) {
      measurement.energy = { ...measurement.energy, note: 'energy NOT measured: no meter could be opened' };
      (measurement as { validity?: string[] }).validity = [
        ...new Set([...((measurement as { validity?: string[] }).validity ?? []), 'no-energy']),
      ];
      measurement.valid = false;
    }
    const device = listDevices().find((d) => d.id === deviceId) ?? { id: deviceId, name: deviceId };
    const document = createResults({
      toolVersion: toolVersion(),
      commit: toolCommit(),
      commandLine: options.commandLine ?? ['etok', 'bench', '--onnx', options.file],
      device: { ...device, executionProvider: `onnxruntime ${ort.ortVersion} ${ort.executionProvider}` },
      meter: {
        id: raw.meter.id,
        kind: raw.meter.kind as 'nvml' | 'rapl' | 'model',
        measured: raw.meter.measured,
        method: raw.meter.method as 'energy-counter' | 'power-sampling' | 'model',
        boundary: raw.meter.boundary,
        updatePeriodMs: raw.meter.updatePeriodMs,
        idleW: raw.idleW,
        ...(raw.meter.note ? { note: raw.meter.note } : {}),
        choice,
      },
      accounting: { boundary: options.boundary ?? 'chip', pue: options.pue ?? 1, overhead: 0 },
      host: hostInfo(),
    });
    document.measurements.push(measurement);
    document.complete = !raw.cancelled;
    return {
      document,
      measurement,
      executionProvider: ort.executionProvider,
      providerReason: ort.providerReason,
    };
  } finally {
    meter?.close();
    await ort.session.release();
  }
}
