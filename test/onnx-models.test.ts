// Users' own ONNX models and the ORT peer, on tiny graphs these tests build and save themselves: benchOnnxModel() as
// the bench command calls it, the ORT peer measured by the engine beside etok's kernel, the .npy reader, the
// one-line errors for bad input (exit 2 through the CLI), and `etok bench --onnx` / `--peer onnx` end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  analyseMeasurement,
  comparisonGroups,
  DEFAULT_PARAMS,
  planBench,
  ResultsSchema,
  type TimingSettings,
  withPeers,
} from '@etok/core';
import { GraphBuilder } from '@etok/kernels/onnx';
import { measureGroup } from '@etok/native';
import { describe, expect, it } from 'vitest';
import { nativePlan } from '../packages/cli/src/bench/measure-groups.js';
import { spec as benchSpec } from '../packages/cli/src/bench/options.js';
import { exitCodeFor } from '../packages/cli/src/exit-codes.js';
import type { CommandIo } from '../packages/cli/src/io.js';
import {
  benchOnnxModel,
  encodeNpy,
  ONNX_BENCH_OPTIONS,
  onnxPeerFor,
  parseInputSpecs,
  parseNpy,
  peerGraph,
  runOnnxModelCommand,
} from '../packages/cli/src/onnx/index.js';
import { parseCommandArgs } from '../packages/cli/src/options.js';
import { etok, tempDir } from './helpers/run-etok.js';

/** Short harness settings: a few 0.2 s windows, enough to exercise every stage. */
const QUICK: Partial<TimingSettings> = {
  warmupS: 0.02,
  minTimeS: 0.05,
  maxTimeS: 0.15,
  minWindowS: 0.2,
  minWindowUpdates: 1,
  minTrials: 3,
  maxTrials: 3,
  energyBudgetS: 2,
  idleS: 0.05,
};

/** y = relu(x · W) with a fixed W; x is [batch, 16, 32] (batch symbolic when `dynamic`). */
function tinyModel(dir: string, dynamic = false): string {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', 'float32', [dynamic ? 'batch' : 2, 16, 32]);
  const w = g.constant(
    'float32',
    [32, 8],
    Array.from({ length: 256 }, (_, i) => Math.sin(i)),
  );
  g.node('Relu', [g.op('MatMul', [x, w])], {}, { names: ['y'] });
  g.output('y', 'float32', [dynamic ? 'batch' : 2, 16, 8]);
  const path = join(dir, dynamic ? 'tiny-dynamic.onnx' : 'tiny.onnx');
  writeFileSync(path, g.toBytes());
  return path;
}

describe('.npy reader', () => {
  it('reads what encodeNpy writes (v1 header, 64-byte aligned data)', () => {
    const data = Float32Array.from({ length: 6 }, (_, i) => i / 2);
    const bytes = encodeNpy({ type: 'float32', dims: [2, 3], data });
    expect((bytes.length - data.byteLength) % 64).toBe(0);
    const back = parseNpy(bytes, 'a.npy');
    expect(back.type).toBe('float32');
    expect(back.dims).toEqual([2, 3]);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(data));
    expect(parseNpy(encodeNpy({ type: 'int64', dims: [1], data: BigInt64Array.of(7n) }), 'b').data).toEqual(
      BigInt64Array.of(7n),
    );
  });

  it('names the file and the problem', () => {
    expect(() => parseNpy(new TextEncoder().encode('not numpy at all'), 'x.npy')).toThrow(/x\.npy.*magic/);
    const good = encodeNpy({ type: 'float32', dims: [4], data: new Float32Array(4) });
    expect(() => parseNpy(good.subarray(0, good.length - 4), 'short.npy')).toThrow(/short\.npy.*needs 16/);
    const fortran = new TextDecoder('latin1').decode(good).replace('False', 'True ');
    expect(() =>
      parseNpy(
        Uint8Array.from(fortran, (c) => c.charCodeAt(0)),
        'f.npy',
      ),
    ).toThrow(/Fortran/);
  });

  it('parses --input specs and rejects malformed ones with BAD_USAGE', () => {
    const specs = parseInputSpecs(['x=1x128x64', 'ids=ids.npy'], '/tmp');
    expect(specs.get('x')).toEqual({ kind: 'shape', dims: [1, 128, 64] });
    expect(specs.get('ids')).toEqual({ kind: 'npy', path: '/tmp/ids.npy' });
    for (const bad of ['x', '=1x2', 'x=1xfoo', 'x=0x4'])
      expect(() => parseInputSpecs([bad], '/tmp')).toThrow(expect.objectContaining({ code: 'BAD_USAGE' }));
  });
});

describe('benchOnnxModel: a user model under the harness', () => {
  it('measures J/run and J/token of a tiny model and writes a valid etok.results/v1 document', async () => {
    const dir = tempDir('etok-onnx-');
    const file = tinyModel(dir);
    const r = await benchOnnxModel({ file, tokensPerRun: 32, meter: 'model', device: 'cpu', timing: QUICK });
    expect(ResultsSchema.safeParse(r.document).success).toBe(true);
    expect(r.executionProvider).toBe('cpu');
    const m = r.measurement;
    expect(m.variant).toBe('onnx:tiny.onnx');
    expect(m.tokens).toBe(32);
    expect(m.energy.windows.length).toBe(3);
    for (const w of m.energy.windows) expect((w.t1Ns - w.t0Ns) * 1e-9).toBeGreaterThanOrEqual(0.19);
    expect(m.energy.joulesPerCall).toBeGreaterThan(0);
    expect(m.energy.joulesPerToken).toBeCloseTo(m.energy.joulesPerCall / 32, 12);
    expect(m.time.samples).toBeGreaterThan(10);
    const info = (m as { onnx?: { inputs: { name: string; dims: number[]; source: string }[] } }).onnx!;
    expect(info.inputs).toEqual([{ name: 'x', type: 'float32', dims: [2, 16, 32], source: 'random' }]);
    expect(r.document.meter.measured).toBe(false); // the model meter: said, not hidden
    expect(String(r.document.device.executionProvider)).toMatch(/onnxruntime 1\.30\.0 cpu/);
  });

  it('takes dynamic dims from --input, and data from a .npy file', async () => {
    const dir = tempDir('etok-onnx-');
    const file = tinyModel(dir, true);
    const npy = join(dir, 'x.npy');
    writeFileSync(
      npy,
      encodeNpy({ type: 'float32', dims: [3, 16, 32], data: new Float32Array(3 * 16 * 32).fill(0.5) }),
    );
    const shaped = await benchOnnxModel({
      file,
      tokensPerRun: 1,
      inputs: ['x=4x16x32'],
      meter: 'model',
      timing: QUICK,
    });
    expect((shaped.measurement as { onnx?: { inputs: { dims: number[] }[] } }).onnx!.inputs[0]!.dims).toEqual(
      [4, 16, 32],
    );
    const fromFile = await benchOnnxModel({
      file,
      tokensPerRun: 1,
      inputs: [`x=${npy}`],
      meter: 'model',
      timing: QUICK,
    });
    expect(
      (fromFile.measurement as { onnx?: { inputs: { source: string }[] } }).onnx!.inputs[0]!.source,
    ).toBe(npy);
  });

  it('bad input: one BAD_USAGE error naming the file, the input or the dims', async () => {
    const dir = tempDir('etok-onnx-');
    const notOnnx = join(dir, 'notes.onnx');
    writeFileSync(notOnnx, 'this is not a model\n');
    const dynamic = tinyModel(dir, true);
    const fixed = tinyModel(dir);
    const cases: [Parameters<typeof benchOnnxModel>[0], RegExp][] = [
      [{ file: notOnnx, tokensPerRun: 1 }, /notes\.onnx is not an ONNX model/],
      [
        { file: join(dir, 'missing.onnx'), tokensPerRun: 1 },
        /missing\.onnx: cannot read it \(no such file\)/,
      ],
      [
        { file: dynamic, tokensPerRun: 1 },
        /input 'x' .* has dynamic dims \[batch, 16, 32\]; give its shape with --input x=Nx16x32/,
      ],
      [
        { file: fixed, tokensPerRun: 1, inputs: ['y=1x2'] },
        /--input 'y': .* has no input 'y'; its inputs are x/,
      ],
      [
        { file: fixed, tokensPerRun: 1, inputs: ['x=2x16x31'] },
        /--input x=2x16x31 does not fit the declared shape \[2, 16, 32\]/,
      ],
      [{ file: fixed, tokensPerRun: 0 }, /--tokens-per-run 0/],
    ];
    for (const [options, message] of cases) {
      const error = await benchOnnxModel({ ...options, meter: 'model', timing: QUICK }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code, String(message)).toBe('BAD_USAGE');
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('\n');
    }
  });
});

describe('the ORT peer: the same configuration through ONNX Runtime, in the same engine group', () => {
  const request = {
    device: 'cpu',
    meter: 'model',
    variants: ['dense', 'mla', 'sparse'],
    phases: ['decode' as const],
    ctx: [256],
    heads: [4],
    kvHeads: [2],
    headDim: [64],
    rank: 64,
    ropeDim: 32,
    params: DEFAULT_PARAMS,
    profile: 'uniform' as const,
    seed: 1,
    quality: true,
    timing: QUICK,
  };

  it('picks the fused GroupQueryAttention op for dense, the plain graph for MLA and sparse, and says why not for bf16', () => {
    const planned = planBench({ ...request, dtypes: ['f32', 'bf16'] }, 8 * 2 ** 30);
    const { plan, noPeers } = withPeers(planned, (c) => onnxPeerFor(c));
    const peers = plan.configs.filter((c) => c.external?.peer);
    expect(peers.map((c) => c.variant)).toEqual(['dense@onnx:gqa', 'mla@onnx:graph', 'sparse@onnx:graph']);
    for (const peer of peers) {
      const own = plan.configs[plan.configs.indexOf(peer) - 1]!;
      expect(peer.id).toBe(`${peer.variant}${own.id.slice(own.variant.length)}`);
    }
    expect(noPeers.map((n) => n.of)).toEqual(
      planned.configs.filter((c) => c.dtype === 'bf16').map((c) => c.id),
    );
    expect(noPeers[0]!.reason).toMatch(/the ORT peer graphs are f32; bf16 is not compared/);
  });

  it('measures etok and ORT interleaved; the peer row says who computed it and is checked against the fp64 reference', async () => {
    const planned = planBench({ ...request, variants: ['dense'] }, 8 * 2 ** 30);
    const { plan } = withPeers(planned, (c) => onnxPeerFor(c));
    const group = comparisonGroups(plan.configs, 8 * 2 ** 30, true);
    expect(group).toHaveLength(1);
    const raws = await measureGroup(
      group[0]!.map((c) => nativePlan(c, { plan, meter: 'model', powerModel: undefined })),
    ).result;
    const [etokRaw, ortRaw] = raws;
    expect(etokRaw!.executor.kind).toBe('etok');
    expect(ortRaw!.failure).toBeUndefined();
    expect(ortRaw!.executor.kind).toBe('onnx');
    expect(ortRaw!.executor.description).toMatch(/GroupQueryAttention/);
    expect(ortRaw!.relErrorVsExact).toBeLessThan(1e-5);
    const m = analyseMeasurement(group[0]![1]!, ortRaw!, { timing: plan.timing, interleaved: true });
    expect(m.executor).toBe('onnx');
    expect(m.peer).toMatchObject({ family: 'onnx', name: 'gqa', leverSet: 'dense', version: '1.30.0' });
    expect(m.energy.windows.length).toBe(3);
    // Calls of a child executor are counted from its rate: fractional, and the window's J/call is finite.
    for (const w of m.energy.windows) expect(w.calls).toBeGreaterThan(0);
  });

  it("measures kv-int8 and kv-int4 decode with the op's own per-channel cache only when asked, and says so", () => {
    const plan = planBench({ ...request, variants: ['kv-int8', 'kv-int4', 'dense'] }, 8 * 2 ** 30);
    const [int8, int4, dense] = plan.configs;
    for (const config of [int8!, int4!]) {
      const auto = peerGraph(config);
      expect('kind' in auto && auto.kind).toBe('plain graph');
      const chosen = peerGraph(config, 'gqa-per-channel');
      if ('reason' in chosen) throw new Error(chosen.reason);
      expect(chosen.kind).toBe('GQA op, per-channel KV');
      expect(chosen.graph.form).toMatch(
        config === int8 ? /int8 KV cache with per-channel scales/ : /int4 KV cache/,
      );
    }
    const refused = peerGraph(dense!, 'gqa-per-channel');
    expect('reason' in refused && refused.reason).toMatch(/kv-int8 or kv-int4 decode only, not dense decode/);
  });
});

/** bench's options plus the ONNX ones, as bench.ts will declare them; a CommandIo that keeps what is written. */
function command(argv: string[], cwd: string) {
  const spec = { ...benchSpec, options: [...benchSpec.options, ...ONNX_BENCH_OPTIONS] };
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    ({
      write: (s: string) => {
        out[key] += s;
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  const io: CommandIo = { stdout: sink('stdout'), stderr: sink('stderr'), cwd, onInterrupt: () => () => {} };
  return runOnnxModelCommand(parseCommandArgs(spec, argv), io).then(
    (status) => ({ status, ...out }),
    (error: unknown) => ({ status: exitCodeFor(error), ...out, stderr: `${(error as Error).message}\n` }),
  );
}

describe('runOnnxModelCommand: the --onnx path of etok bench', () => {
  it('writes the results file and prints J/run and J/token', async () => {
    const dir = tempDir('etok-onnx-cmd-');
    const file = tinyModel(dir);
    const r = await command(
      ['--onnx', file, '--tokens-per-run', '32', '--meter', 'model', '--suite', 'quick', '--out', 'r.json'],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/onnx:tiny\.onnx: ONNX Runtime 1\.30\.0 cpu execution provider/);
    expect(r.stdout).toMatch(/J\/token \(modeled\)/);
    const doc = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(ResultsSchema.safeParse(doc).success).toBe(true);
  });

  it('maps bad input to exit 2 with one line', async () => {
    const dir = tempDir('etok-onnx-cmd-');
    const fixed = tinyModel(dir);
    const notOnnx = join(dir, 'notes.onnx');
    writeFileSync(notOnnx, 'hello');
    for (const [argv, message] of [
      [['--onnx', notOnnx, '--tokens-per-run', '1'], /is not an ONNX model/],
      [['--onnx', fixed], /needs --tokens-per-run/],
      [['--onnx', fixed, '--tokens-per-run', '1', '--input', 'nope=1x2'], /no input 'nope'/],
      [['--onnx', fixed, '--tokens-per-run', '1', '--peer', 'onnx'], /does not apply to --onnx/],
      [
        ['--onnx', fixed, '--tokens-per-run', '1', '--device', 'cuda:0'],
        /CUDA execution provider could not be used/,
      ],
    ] as const) {
      const r = await command([...argv, '--meter', 'model'], dir);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('etok bench --peer onnx (through the CLI)', () => {
  it('writes peer rows among the measurements, prints the best peer beside etok, and says where there is none', () => {
    const dir = tempDir('etok-onnx-peer-');
    const out = join(dir, 'r.json');
    const r = etok(
      [
        'bench',
        '--peer',
        'onnx',
        '--variants',
        'kv-int4',
        '--dtype',
        'f32,bf16',
        '--phase',
        'prefill',
        '--ctx',
        '128',
        '--q-len',
        '16',
        '--heads',
        '4',
        '--kv-heads',
        '2',
        '--head-dim',
        '64',
        '--meter',
        'model',
        '--time-budget',
        '0.5',
        '--out',
        out,
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(ResultsSchema.safeParse(doc).success).toBe(true);
    const peers = doc.measurements.filter((m: { peer?: unknown }) => m.peer);
    expect(peers.map((m: { variant: string; executor: string }) => [m.variant, m.executor])).toEqual([
      ['kv-int4@onnx:graph', 'onnx'],
    ]);
    expect(doc.noPeers).toEqual([
      expect.objectContaining({
        family: 'onnx',
        reason: expect.stringMatching(/the ORT peer graphs are f32/),
      }),
    ]);
    expect(r.stdout).toMatch(/best peer beside etok/);
    expect(r.stdout).toMatch(/kv-int4\/prefill\/f32.*onnx:graph 1\.30\.0/);
    expect(r.stdout).toMatch(/no onnx peer for kv-int4\/prefill\/bf16.*the ORT peer graphs are f32/);
  });
});

describe('etok bench --onnx (through the CLI)', () => {
  it('measures a saved model', () => {
    const dir = tempDir('etok-onnx-cli-');
    const file = tinyModel(dir);
    const out = join(dir, 'r.json');
    const r = etok(
      ['bench', '--onnx', file, '--tokens-per-run', '32', '--meter', 'model', '--json', '--out', out],
      {
        cwd: dir,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(ResultsSchema.safeParse(doc).success).toBe(true);
    expect(doc.measurements[0].variant).toBe('onnx:tiny.onnx');
  });

  it('exits 2 with one line for a file that is not ONNX, dynamic dims, an unknown input', () => {
    const dir = tempDir('etok-onnx-cli-');
    const notOnnx = join(dir, 'notes.onnx');
    writeFileSync(notOnnx, 'hello');
    const dynamic = tinyModel(dir, true);
    for (const [args, message] of [
      [['--onnx', notOnnx], /is not an ONNX model/],
      [['--onnx', dynamic], /dynamic dims/],
      [['--onnx', dynamic, '--input', 'nope=1x2'], /no input 'nope'/],
    ] as const) {
      const r = etok(['bench', ...args, '--tokens-per-run', '1', '--meter', 'model'], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
