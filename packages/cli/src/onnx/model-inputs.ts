// The inputs of a user's ONNX model (`--input name=AxBxC | name=file.npy`, or random data of the declared shapes)
// and its session, as the ONNX Runtime executor sets them up in its own process (ort-executor.ts). Every error is
// BAD_USAGE with one line naming the file, the input or the dims: what is wrong is what the user gave.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EtokError } from '@etok/core';
import { f16Bits, type OnnxFeed } from '@etok/kernels/onnx';
import type { InferenceSession } from 'onnxruntime-node';
import { parseNpy } from './npy.js';
import { createSession, OrtProviderError, type OrtSession } from './ort.js';

function usage(message: string): never {
  throw new EtokError('BAD_USAGE', message);
}

export type InputSpec = { kind: 'shape'; dims: number[] } | { kind: 'npy'; path: string };

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

export interface ResolvedInput {
  name: string;
  type: string;
  dims: number[];
  source: 'random' | string;
  feed: { type: string; data: unknown; dims: number[] };
}

export function resolveInputs(
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

export interface SessionChoice {
  /** 'cpu' or 'cuda:N' (the CUDA execution provider is then required). */
  device: string;
  intraOpThreads?: number | null;
}

/** The session for a user's model on the device etok measures. */
export async function openSession(
  model: Uint8Array,
  file: string,
  options: SessionChoice,
): Promise<OrtSession> {
  const cuda = /^cuda:(\d+)$/.exec(options.device);
  if (!cuda && options.device !== 'cpu') usage(`--device '${options.device}' is not cpu or cuda:N`);
  try {
    return await createSession(model, {
      provider: cuda ? 'cuda' : 'cpu',
      deviceIndex: cuda ? Number(cuda[1]) : 0,
      intraOpThreads: options.intraOpThreads ?? null,
    });
  } catch (error) {
    if (error instanceof OrtProviderError) throw new EtokError('UNKNOWN_DEVICE', error.message);
    const first = (error as Error).message.split('\n')[0]!.slice(0, 300);
    return usage(`--onnx ${file} is not an ONNX model that ONNX Runtime can load: ${first}`);
  }
}
