// ONNX Runtime sessions for the peer and for users' models: loaded lazily (only `--peer onnx` and `--onnx` pay
// for onnxruntime-node), one place that picks the execution provider and says why, and one that turns feeds
// into tensors. The CUDA provider ships outside the npm package (etok's .npmrc skips its download), so CUDA is
// tried only where a CUDA device exists, and a failure to load it is a stated fallback to the CPU provider.
import type { OnnxFeed } from '@etok/kernels/onnx';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

export type OrtModule = typeof import('onnxruntime-node');

let ortModule: Promise<OrtModule> | undefined;

export function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node').then((ort) => {
    // ORT's own logger writes to the process's stderr; failures reach us as exceptions, and a CLI error is one
    // line (a missing CUDA provider library would otherwise print ORT's log line before ours).
    ort.env.logLevel = 'fatal';
    return ort;
  });
  return ortModule;
}

export interface OrtSession {
  session: InferenceSession;
  /** 'cpu' or 'cuda', the provider the session was created with. */
  executionProvider: 'cpu' | 'cuda';
  /** Why this provider (e.g. the CUDA provider library is not installed). */
  providerReason: string;
  ortVersion: string;
  intraOpThreads: number | null;
}

export interface SessionRequest {
  /** 'cpu', 'cuda' (required: an error if it cannot load) or 'auto' (CUDA when it loads, else CPU). */
  provider: 'cpu' | 'cuda' | 'auto';
  /** CUDA device index for the CUDA provider. */
  deviceIndex?: number;
  /** CPU threads for one operator; null leaves ORT's default (one per physical core). */
  intraOpThreads?: number | null;
}

export class OrtProviderError extends Error {
  readonly code = 'ORT_PROVIDER_UNAVAILABLE';
}

export async function createSession(model: Uint8Array, request: SessionRequest): Promise<OrtSession> {
  const ort = await loadOrt();
  const threads = request.intraOpThreads ?? null;
  const common: InferenceSession.SessionOptions = {
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
  const version = ort.env.versions.node ?? ort.env.versions.common;
  let reason = request.provider === 'cpu' ? 'requested: cpu' : '';
  if (request.provider !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(model, {
        ...common,
        executionProviders: [{ name: 'cuda', deviceId: request.deviceIndex ?? 0 }],
      });
      return {
        session,
        executionProvider: 'cuda',
        providerReason: `${request.provider === 'cuda' ? 'requested' : 'auto'}: CUDA execution provider`,
        ortVersion: version,
        intraOpThreads: threads,
      };
    } catch (error) {
      const why = (error as Error).message.split('\n')[0];
      if (request.provider === 'cuda') {
        // Tell a model the runtime cannot read (rethrown as it is) from a provider that cannot load.
        const cpu = await ort.InferenceSession.create(model, { ...common, executionProviders: ['cpu'] });
        await cpu.release();
        throw new OrtProviderError(
          `ONNX Runtime's CUDA execution provider could not be used (${why}); the installed onnxruntime-node ${version} has ${describeBackends(ort)}`,
        );
      }
      reason = `auto: CUDA execution provider unavailable (${why}); using CPU`;
    }
  }
  const session = await ort.InferenceSession.create(model, { ...common, executionProviders: ['cpu'] });
  return {
    session,
    executionProvider: 'cpu',
    providerReason: reason,
    ortVersion: version,
    intraOpThreads: threads,
  };
}

function describeBackends(ort: OrtModule): string {
  return ort
    .listSupportedBackends()
    .map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`)
    .join(', ');
}

export async function toTensors(feeds: Record<string, OnnxFeed>): Promise<Record<string, Tensor>> {
  const ort = await loadOrt();
  return Object.fromEntries(
    Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]),
  );
}
