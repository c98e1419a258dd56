// The ONNX Runtime executor: a child process the engine starts (node ort-executor.js) and drives over the executor
// protocol (@etok/native serveExecutor). Two setups: a peer (the ORT graph of an etok lever set, fed etok's inputs,
// its output given back in etok's layout for the quality check) and a user's own model (its inputs resolved from
// --input or made at random; no reference to check against).
import { readFileSync } from 'node:fs';
import type { Dtype, Phase } from '@etok/kernels';
import type { OnnxFeed } from '@etok/kernels/onnx';
import { type ChildSession, ExecutorFailure, type SetupRequest, serveExecutor } from '@etok/native';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { openSession, parseInputSpecs, resolveInputs } from './model-inputs.js';
import { createSession, type OrtSession, toTensors } from './ort.js';
import { type PeerForm, peerGraph } from './peer.js';

function providerFor(device: string): { provider: 'cpu' | 'cuda'; deviceIndex: number } {
  const cuda = /^cuda:(\d+)$/.exec(device);
  return cuda ? { provider: 'cuda', deviceIndex: Number(cuda[1]) } : { provider: 'cpu', deviceIndex: 0 };
}

function session(ort: OrtSession, feeds: Record<string, Tensor>, outputName: string | undefined) {
  const run = (): Promise<InferenceSession.ReturnType> =>
    outputName ? ort.session.run(feeds, [outputName]) : ort.session.run(feeds);
  return {
    call: async () => {
      await run();
    },
    first: run,
  };
}

async function setupPeer(request: SetupRequest): Promise<ChildSession> {
  const p = request.problem;
  const config = {
    variant: p.variant,
    phase: p.phase as Phase,
    dtype: p.dtype as Dtype,
    shape: p.shape,
    params: {
      scale: p.params.scale,
      blockSize: p.params.blockSize,
      topK: p.params.topK,
      window: p.params.window,
    },
  };
  const chosen = peerGraph(config, (request.payload.form as PeerForm | undefined) ?? 'auto');
  if ('reason' in chosen) throw new ExecutorFailure('EXECUTOR_UNSUPPORTED', chosen.reason);
  if (!request.inputs) throw new ExecutorFailure('EXECUTOR_PROTOCOL', 'the ORT peer needs etok inputs');
  const ort = await createSession(chosen.graph.bytes, { ...providerFor(p.device), intraOpThreads: null });
  const feeds = await toTensors(chosen.feeds(request.inputs));
  const run = session(ort, feeds, chosen.graph.output.name);
  return {
    info: {
      name: chosen.kind,
      description: `ONNX Runtime ${ort.ortVersion} ${ort.executionProvider}: ${chosen.graph.form}`,
      version: ort.ortVersion,
      framework: `onnxruntime-${ort.executionProvider}`,
    },
    hasOutput: true,
    call: run.call,
    output: async () => {
      const out = (await run.first())[chosen.graph.output.name]!;
      return chosen.toSpecLayout(out.data as Float32Array);
    },
    close: () => ort.session.release(),
  };
}

async function setupModel(request: SetupRequest): Promise<ChildSession> {
  const payload = request.payload as { file: string; inputs: string[]; seed: number; cwd: string };
  const model = readFileSync(payload.file);
  const ort = await openSession(model, payload.file, { device: request.problem.device });
  const inputs = resolveInputs(
    ort.session,
    parseInputSpecs(payload.inputs, payload.cwd),
    payload.file,
    payload.seed,
  );
  const feeds = await toTensors(Object.fromEntries(inputs.map((i) => [i.name, i.feed as OnnxFeed])));
  const run = session(ort, feeds, undefined);
  try {
    await run.call();
  } catch (error) {
    // A shape the model rejects at run time is what the user gave us: say which input, as bad usage.
    throw new ExecutorFailure(
      'BAD_USAGE',
      `${payload.file} rejected the inputs (${inputs.map((i) => `${i.name}=${i.dims.join('x')}`).join(', ')}): ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return {
    info: {
      name: 'model',
      description: `ONNX Runtime ${ort.ortVersion} ${ort.executionProvider} execution provider (${ort.providerReason})`,
      version: ort.ortVersion,
      framework: `onnxruntime-${ort.executionProvider}`,
      details: {
        executionProvider: ort.executionProvider,
        providerReason: ort.providerReason,
        intraOpThreads: ort.intraOpThreads,
        inputs: inputs.map((i) => ({ name: i.name, type: i.type, dims: i.dims, source: i.source })),
      },
    } as ChildSession['info'],
    hasOutput: false,
    call: run.call,
    output: async () => ({ reason: "a user's model has no etok reference" }),
    close: () => ort.session.release(),
  };
}

// ORT's own logger would print to stderr; failures reach the engine as replies.
serveExecutor((request) =>
  request.payload.mode === 'model' ? setupModel(request) : setupPeer(request),
).catch((error: unknown) => {
  process.stderr.write(`etok ONNX Runtime executor: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
