// Kernels etok did not write, for `etok bench`: users' plugins (--plugin), users' Python callables (--python), and
// the peer implementations of each lever set (--peer torch, --peer onnx). Each file is read once, here, before
// anything is measured; what it cannot do is bad usage, said in one line.
import { resolve } from 'node:path';
import { type BenchConfig, EtokError, type ExternalVariant, type NoPeer } from '@etok/core';
import {
  listPythonCallables,
  type PluginProbe,
  PythonFileError,
  type PythonListing,
  peerFile,
  probePlugin,
} from '@etok/native';
import type { PeerFamily } from '../onnx/options.js';
import type { ParsedArgs } from '../options.js';

function paths(args: ParsedArgs, name: string): string[] {
  const raw = args.values[name];
  return Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
}

function claim(taken: Set<string>, name: string, from: string): void {
  if (taken.has(name) || name === 'dense')
    throw new EtokError('BAD_USAGE', `variant name '${name}' (${from}) is already taken`);
  taken.add(name);
}

/** Each --plugin, loaded once to read its descriptor (name, reference variant, devices). */
export function loadPlugins(
  args: ParsedArgs,
  cwd: string,
  device: string,
  taken: Set<string>,
): ExternalVariant[] {
  const out: ExternalVariant[] = [];
  for (const given of paths(args, 'plugin')) {
    const path = resolve(cwd, given);
    let info: PluginProbe['info'];
    try {
      info = probePlugin(path, []).info; // in a child process: a plugin that crashes while loading ends only it
    } catch (error) {
      throw new EtokError('BAD_USAGE', (error as Error).message);
    }
    const onCuda = device.startsWith('cuda:');
    if ((onCuda && !info.cuda) || (!onCuda && !info.cpu))
      throw new EtokError('BAD_USAGE', `plugin '${info.name}' (${path}) does not run on ${device}`);
    claim(taken, info.name, path);
    out.push({
      name: info.name,
      executor: 'plugin',
      path,
      description: info.description,
      referenceVariant: info.referenceVariant,
    });
  }
  return out;
}

function listing(file: string): PythonListing {
  try {
    return listPythonCallables(file);
  } catch (error) {
    if (error instanceof PythonFileError) throw new EtokError('BAD_USAGE', error.message);
    throw error;
  }
}

/** The callables each --python file registers (imported in a child interpreter, not here). */
export function loadPython(args: ParsedArgs, cwd: string, taken: Set<string>): ExternalVariant[] {
  const out: ExternalVariant[] = [];
  for (const given of paths(args, 'python')) {
    const list = listing(resolve(cwd, given));
    if (list.callables.length === 0)
      throw new EtokError(
        'BAD_USAGE',
        `--python ${given}: the file registers no callable (call etok.register(name, setup))`,
      );
    for (const c of list.callables) {
      claim(taken, c.name, list.file);
      out.push({
        name: c.name,
        executor: 'python',
        path: list.file,
        description: c.description,
        referenceVariant: c.reference,
      });
    }
  }
  return out;
}

/** PyTorch's implementations (python/etok/peers/torch_attention.py), each with the lever set it computes. */
function torchPeers(): { peers: ExternalVariant[]; noPeerReasons: Record<string, string> } {
  let list: PythonListing;
  try {
    list = listPythonCallables(peerFile('torch_attention'));
  } catch (error) {
    if (error instanceof PythonFileError) throw new EtokError('BAD_USAGE', `--peer torch: ${error.message}`);
    throw error;
  }
  if (list.callables.length === 0)
    throw new EtokError(
      'BAD_USAGE',
      `--peer torch: PyTorch is not importable by ${list.python ? `Python ${list.python}` : 'python3'} (${list.noPeerReasons.all ?? 'no peers registered'}); install torch or set ETOK_PYTHON`,
    );
  return {
    peers: list.callables.map((c) => ({
      name: `torch:${c.name}`,
      executor: 'python',
      path: list.file,
      description: c.description,
      referenceVariant: c.reference,
      peer: { family: 'torch', name: c.name },
      options: { callable: c.name },
    })),
    noPeerReasons: list.noPeerReasons,
  };
}

/** Why a family has no implementation of a lever set: the family's own reason for one of its levers, or a plain one. */
function noPeerReason(leverSet: string, reasons: Record<string, string>, family: string): string {
  if (reasons[leverSet]) return reasons[leverSet]!;
  for (const lever of leverSet.split('+')) if (reasons[lever]) return reasons[lever]!;
  return `${family} has no implementation of ${leverSet}`;
}

export type PeerDecision = (config: BenchConfig) => { peers: ExternalVariant[]; none: Omit<NoPeer, 'of'>[] };

/** For `withPeers`: each requested family's implementations of a configuration's lever set, or why none. */
export async function peerDecision(families: readonly PeerFamily[]): Promise<PeerDecision> {
  const torch = families.includes('torch') ? torchPeers() : undefined;
  const onnx = families.includes('onnx') ? (await import('../onnx/peer.js')).onnxPeerFor : undefined;
  return (config) => {
    const peers: ExternalVariant[] = [];
    const none: Omit<NoPeer, 'of'>[] = [];
    if (torch) {
      const mine = torch.peers.filter((p) => p.referenceVariant === config.variant);
      if (mine.length > 0) peers.push(...mine);
      else
        none.push({ family: 'torch', reason: noPeerReason(config.variant, torch.noPeerReasons, 'PyTorch') });
    }
    if (onnx) {
      const d = onnx(config);
      peers.push(...d.peers);
      none.push(...d.none);
    }
    return { peers, none };
  };
}

/**
 * The analytic cost of every planned call of each plugin, asked of the plugin in one child process per plugin, and
 * checked: a call must cost finite flops ≥ 0 and bytes ≥ 0 and produce tokens > 0 (a NaN or a negative count would
 * only surface later as a results file no command accepts).
 */
export function pluginCosts(
  requests: {
    external: ExternalVariant;
    request: Parameters<typeof probePlugin>[1][number];
    /** The key the caller looks the cost up by. */
    id: string;
    /** The call in words, for messages. */
    label: string;
  }[],
): Map<string, { flops: number; bytes: number; tokens: number }> {
  const out = new Map<string, { flops: number; bytes: number; tokens: number }>();
  const byPath = new Map<string, typeof requests>();
  for (const r of requests) byPath.set(r.external.path, [...(byPath.get(r.external.path) ?? []), r]);
  for (const [path, list] of byPath) {
    let costs: PluginProbe['costs'];
    try {
      costs = probePlugin(
        path,
        list.map((r) => r.request),
      ).costs;
    } catch (error) {
      throw new EtokError('BAD_USAGE', (error as Error).message);
    }
    list.forEach((r, i) => {
      const c = costs[i]!;
      const bad = !(Number.isFinite(c.flops) && c.flops >= 0)
        ? `flops ${c.flops}`
        : !(Number.isFinite(c.bytes) && c.bytes >= 0)
          ? `bytes ${c.bytes}`
          : !(Number.isFinite(c.tokens) && c.tokens > 0)
            ? `tokens ${c.tokens}`
            : null;
      if (bad)
        throw new EtokError(
          'BAD_USAGE',
          `plugin '${r.external.name}' (${path}): cost() gave ${bad} for ${r.label}; a call must cost flops ≥ 0 and bytes ≥ 0 and produce tokens > 0`,
        );
      out.set(r.id, c);
    });
  }
  return out;
}
