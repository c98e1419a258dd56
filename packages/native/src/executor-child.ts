// The child side of the executor protocol for executors written in JavaScript (ONNX Runtime sessions): reads the
// engine's commands on fd 3, replies on fd 4, one JSON object a line (docs/harness.md, "Executors in another
// process"; the Python side is python/etok/_executor.py). The session does the work; this module keeps the
// protocol: timing with the monotonic clock the engine's meter readings use, runs that stop on the control word.
import {
  closeSync,
  createReadStream,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createInterface } from 'node:readline';

export const EXECUTOR_PROTOCOL = 'etok-executor/1';

export interface ChildProblem {
  variant: string;
  phase: 'decode' | 'prefill';
  dtype: 'f32' | 'bf16' | 'f16';
  device: string;
  shape: Record<'batch' | 'heads' | 'kvHeads' | 'headDim' | 'qLen' | 'kvLen' | 'rank' | 'ropeDim', number>;
  params: { scale: number; blockSize: number; topK: number; window: number };
  output: { name: string; dims: number[] };
}

export interface SetupRequest {
  payload: Record<string, unknown>;
  problem: ChildProblem;
  /** etok's synthetic inputs in the layout of docs/spec.md §3, or null when the executor makes its own. */
  inputs: Record<string, Float32Array> | null;
}

export interface ChildSession {
  info: { name?: string; description?: string; version?: string; framework?: string; details?: unknown };
  hasOutput: boolean;
  /** One call, resolved when its work is done. */
  call(): Promise<void>;
  /** One call's output in the layout of docs/spec.md §3 (float32), or why there is none. */
  output(): Promise<Float32Array | { reason: string }>;
  close?(): Promise<void>;
}

/** A failure the engine records with this code (BAD_USAGE for what the user gave, EXECUTOR_UNSUPPORTED, …). */
export class ExecutorFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorReply(error: unknown, fallbackCode: string) {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    ok: false,
    error: {
      // Errors that carry a stable code (ExecutorFailure, etok's own errors such as BAD_USAGE) keep it.
      code:
        typeof (error as { code?: unknown }).code === 'string' &&
        /^[A-Z_]+$/.test((error as { code: string }).code)
          ? (error as { code: string }).code
          : fallbackCode,
      type: e.name,
      message: e.message,
      traceback: e.stack ?? '',
    },
  };
}

const now = () => process.hrtime.bigint(); // CLOCK_MONOTONIC, as the engine's steady_clock

/** Serves the protocol until the engine closes the command pipe. */
export async function serveExecutor(setup: (request: SetupRequest) => Promise<ChildSession>): Promise<void> {
  const fds = (process.env.ETOK_EXECUTOR_FDS ?? '').split(',').map(Number);
  if (fds.length !== 2 || fds.some((fd) => !Number.isInteger(fd))) {
    process.stderr.write('etok executor: started by etok only (ETOK_EXECUTOR_FDS is not set)\n');
    process.exitCode = 2;
    return;
  }
  const [commandFd, replyFd] = fds as [number, number];
  const send = (reply: unknown) => writeSync(replyFd, `${JSON.stringify(reply)}\n`);
  send({ ok: true, protocol: EXECUTOR_PROTOCOL, pid: process.pid });

  let session: ChildSession | undefined;
  let controlFd = -1;
  const word = Buffer.alloc(8);
  const lines = createInterface({ input: createReadStream('', { fd: commandFd }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line) as Record<string, unknown>;
    try {
      if (message.op === 'setup') {
        const specs = message.inputs as { name: string; file: string }[] | null;
        const inputs = specs
          ? Object.fromEntries(
              specs.map((s) => {
                const bytes = readFileSync(s.file);
                return [
                  s.name,
                  new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice(),
                ];
              }),
            )
          : null;
        session = await setup({
          payload: message.payload as Record<string, unknown>,
          problem: message.problem as ChildProblem,
          inputs,
        });
        controlFd = openSync(String(message.control), 'r');
        send({ ok: true, info: session.info, hasOutput: session.hasOutput });
      } else if (!session) {
        send(errorReply(new Error(`'${String(message.op)}' before setup`), 'EXECUTOR_PROTOCOL'));
      } else if (message.op === 'output') {
        const out = await session.output();
        if (out instanceof Float32Array) {
          writeFileSync(String(message.file), new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
          send({ ok: true, written: true });
        } else send({ ok: true, written: false, reason: out.reason });
      } else if (message.op === 'time') {
        const samples: number[] = [];
        for (let i = 0; i < Number(message.n); i++) {
          const t0 = now();
          await session.call();
          samples.push(Number(now() - t0) * 1e-9);
        }
        send({ ok: true, samples });
      } else if (message.op === 'run') {
        // Back to back until the engine's control word reaches seq (a shared file read, no message needed).
        const seq = BigInt(Number(message.seq));
        let calls = 0;
        const t0 = now();
        while (readSync(controlFd, word, 0, 8, 0) === 8 && word.readBigUInt64LE(0) < seq) {
          await session.call();
          calls++;
        }
        const t1 = now();
        send({ ok: true, calls, t0Ns: Number(t0), t1Ns: Number(t1) });
      } else send(errorReply(new Error(`unknown op '${String(message.op)}'`), 'EXECUTOR_PROTOCOL'));
    } catch (error) {
      send(errorReply(error, 'EXECUTOR_EXCEPTION'));
    }
  }
  if (controlFd >= 0) closeSync(controlFd);
  await session?.close?.();
}
