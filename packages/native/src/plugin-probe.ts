// Reading a user's plugin in a child process: its descriptor and its cost of each planned call, asked by loading it
// there, so a plugin whose descriptor function crashes or whose constructor aborts ends that child, not etok, and
// etok says so in one line. The child side is `node plugin-probe.js` (this file's main below).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeCallCost, NativeKernelRequest, NativePluginInfo } from './binding.js';

export interface PluginProbe {
  info: NativePluginInfo;
  costs: NativeCallCost[];
}

/** A plugin that cannot be read: its code (PLUGIN_LOAD, PLUGIN_ABI, …, PLUGIN_CRASHED) and one line. */
export class PluginProbeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function entry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'plugin-probe.js');
  return existsSync(beside) ? beside : join(here, '..', 'dist', 'plugin-probe.js');
}

/** Loads `path` in a child process and returns its descriptor and the cost of each request. */
export function probePlugin(path: string, requests: NativeKernelRequest[], timeoutS = 60): PluginProbe {
  const r = spawnSync(process.execPath, [entry(), path], {
    input: JSON.stringify(requests),
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    maxBuffer: 64 << 20,
    env: process.env,
  });
  if (r.error) throw new PluginProbeError('PLUGIN_LOAD', `cannot load plugin ${path}: ${r.error.message}`);
  if (r.signal)
    throw new PluginProbeError(
      'PLUGIN_CRASHED',
      r.signal === 'SIGTERM'
        ? `plugin ${path} did not finish loading within ${timeoutS} s`
        : `plugin ${path} crashed while loading (killed by ${r.signal}): its descriptor or a constructor failed`,
    );
  let reply:
    | { ok: true; info: NativePluginInfo; costs: NativeCallCost[] }
    | { ok: false; code: string; message: string };
  try {
    reply = JSON.parse(r.stdout);
  } catch {
    throw new PluginProbeError(
      'PLUGIN_CRASHED',
      `plugin ${path} ended its loading process (exit ${r.status}) without an answer${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`,
    );
  }
  if (!reply.ok) throw new PluginProbeError(reply.code, reply.message);
  const num = (x: unknown) => (typeof x === 'string' ? Number(x) : (x as number));
  return {
    info: reply.info,
    costs: reply.costs.map((c) => ({ flops: num(c.flops), bytes: num(c.bytes), tokens: num(c.tokens) })),
  };
}

async function main(): Promise<void> {
  const { loadBinding } = await import('./load.js');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const requests = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]') as NativeKernelRequest[];
  const path = process.argv[2]!;
  // What the plugin prints while it loads is its own: kept off the answer on stdout.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  let reply: unknown;
  try {
    const binding = loadBinding();
    const info = binding.inspectPlugin(path);
    reply = { ok: true, info, costs: requests.map((q) => binding.pluginCost(path, q)) };
  } catch (error) {
    const e = error as { code?: string; message: string };
    reply = { ok: false, code: e.code ?? 'PLUGIN_LOAD', message: e.message };
  }
  // NaN and infinities survive as strings (JSON has no number for them), so the caller can name them.
  write(JSON.stringify(reply, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
