// Users' own ONNX models and the ORT peer (issue 9), on tiny graphs these tests build and save themselves:
// benchOnnxModel() and runOnnxPeer() as the bench command calls them, the .npy reader, the one-line errors for bad
// input (exit 2 through the CLI), and — once bench.ts has the options — `etok bench --onnx` end to end.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createResults, DEFAULT_PARAMS, planBench, ResultsSchema, type TimingSettings } from '@etok/core';
import { GraphBuilder } from '@etok/kernels/onnx';
import { describe, expect, it } from 'vitest';
import { spec as benchSpec } from '../packages/cli/src/commands/bench.js';
import { exitCodeFor } from '../packages/cli/src/exit-codes.js';
import type { CommandIo } from '../packages/cli/src/io.js';
import {
  benchOnnxModel,
  encodeNpy,
  ONNX_BENCH_OPTIONS,
  parseInputSpecs,
  parseNpy,
  peerComparison,
  peerGraph,
  runOnnxModelCommand,
  runOnnxPeer,
  runPeerMeasurements,
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
      [{ file: join(dir, 'missing.onnx'), tokensPerRun: 1 }, /missing\.onnx: cannot read it \(ENOENT\)/],
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

describe('runOnnxPeer: the same configuration through ONNX Runtime', () => {
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
    quality: false,
    timing: QUICK,
  };

  it('measures dense through the fused GroupQueryAttention op, MLA and sparse through the plain graph', async () => {
    const plan = planBench(request, 8 * 2 ** 30);
    const results = [];
    for (const config of plan.configs) results.push(await runOnnxPeer(plan, config, { meter: 'model' }));
    const [dense, mla, sparse] = results;
    expect(dense!.ok && (dense!.measurement as { peer?: { form: string } }).peer!.form).toMatch(
      /GroupQueryAttention/,
    );
    expect(mla!.ok && (mla!.measurement as { peer?: { form: string } }).peer!.form).toMatch(/MLA absorbed/);
    expect(sparse!.ok && (sparse!.measurement as { peer?: { kind: string } }).peer!.kind).toBe('plain graph');
    if (!dense!.ok) throw new Error('unreachable');
    expect(dense!.measurement.id).toBe(`${plan.configs[0]!.id}@onnx`);
    expect(dense!.measurement.energy.windows.length).toBe(3);
    // side by side with an etok measurement of the same configuration (here: the peer itself, renamed)
    const etokLike = { ...dense!.measurement, id: plan.configs[0]!.id };
    const { rows } = peerComparison([etokLike], [dense!.measurement], true);
    expect(rows).toHaveLength(1);
    expect(rows[0]![3]).toBe('1.00×');
  });

  it("measures kv-int8 and kv-int4 decode with the op's own per-channel cache only when asked, and says so", async () => {
    const plan = planBench({ ...request, variants: ['kv-int8', 'kv-int4', 'dense'] }, 8 * 2 ** 30);
    const [int8, int4, dense] = plan.configs;
    for (const config of [int8!, int4!]) {
      const auto = peerGraph(config);
      expect('kind' in auto && auto.kind).toBe('plain graph');
      const r = await runOnnxPeer(plan, config, { meter: 'model', form: 'gqa-per-channel' });
      if (!r.ok) throw new Error(r.reason);
      const peer = (r.measurement as { peer?: { form: string; kind: string } }).peer!;
      expect(peer.kind).toBe('GQA op, per-channel KV');
      expect(peer.form).toMatch(config === int8 ? /int8 KV cache with per-channel scales/ : /int4 KV cache/);
    }
    const refused = await runOnnxPeer(plan, dense!, { meter: 'model', form: 'gqa-per-channel' });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(/kv-int8 or kv-int4 decode only, not dense decode/);
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

describe('runPeerMeasurements: the --peer onnx step of etok bench', () => {
  it('keeps ORT measurements under doc.peer, not in measurements, and prints each configuration or why not', async () => {
    const plan = planBench(
      {
        device: 'cpu',
        meter: 'model',
        variants: ['kv-int4'],
        dtypes: ['f32', 'bf16'],
        phases: ['prefill'],
        ctx: [128],
        qLen: [16],
        heads: [4],
        kvHeads: [2],
        headDim: [64],
        rank: 64,
        ropeDim: 32,
        params: DEFAULT_PARAMS,
        profile: 'uniform',
        seed: 1,
        quality: false,
        timing: QUICK,
      },
      8 * 2 ** 30,
    );
    const doc = createResults({
      toolVersion: '0',
      commit: 'x',
      commandLine: [],
      device: { id: 'cpu', name: 'cpu' },
      meter: {
        id: 'model',
        kind: 'model',
        measured: false,
        method: 'model',
        boundary: 'b',
        updatePeriodMs: 0,
        idleW: 0,
      },
      accounting: { boundary: 'chip', pue: 1, overhead: 0 },
      host: {},
    });
    const table = await runPeerMeasurements(plan, 'model', doc);
    const peer = (
      doc as { peer?: { measurements: { id: string; peer: { kind: string } }[]; skipped: unknown[] } }
    ).peer!;
    expect(doc.measurements).toHaveLength(0);
    expect(peer.measurements.map((m) => [m.id, m.peer.kind])).toEqual([
      [`${plan.configs[0]!.id}@onnx`, 'plain graph'],
    ]);
    expect(peer.skipped).toHaveLength(1);
    expect(table).toMatch(/kv-int4\/prefill\/bf16.* not compared: the ORT peer graphs are f32/);
  });
});

describe('etok bench --onnx (through the CLI)', () => {
  const wired = etok(['bench', '--help']).stdout.includes('--onnx');

  it('measures a saved model, or is skipped until bench.ts has --onnx', (ctx) => {
    if (!wired)
      return ctx.skip('etok bench has no --onnx option yet (the lead wires benchOnnxModel into bench.ts)');
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

  it('exits 2 with one line for a file that is not ONNX, dynamic dims, an unknown input', (ctx) => {
    if (!wired)
      return ctx.skip('etok bench has no --onnx option yet (the lead wires benchOnnxModel into bench.ts)');
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
