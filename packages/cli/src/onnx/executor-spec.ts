// How the engine starts the ONNX Runtime executor (ort-executor.ts): this Node binary on the compiled entry, which
// sits beside this file in dist/ (or in dist/ when etok runs from its sources, as the tests do).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeChildExecutor } from '@etok/native';

function entry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'ort-executor.js');
  return existsSync(beside) ? beside : join(here, '..', '..', 'dist', 'onnx', 'ort-executor.js');
}

/** A peer (`{ mode: 'peer', form }`, fed etok's inputs) or a user's model (`{ mode: 'model', … }`, its own inputs). */
export function ortExecutor(
  payload: Record<string, unknown>,
  timeouts: { callTimeoutS?: number } = {},
): NativeChildExecutor {
  return {
    kind: 'onnx',
    command: [process.execPath, entry()],
    payloadJson: JSON.stringify(payload),
    sendInputs: payload.mode !== 'model',
    ...timeouts,
  };
}
