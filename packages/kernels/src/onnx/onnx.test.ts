// The ONNX graph builders and the TypeScript KV quantizers, checked without the native addon: quantizers against
// the written scheme and ORT's own f16 cast, graphs against a naive fp64 attention written here from the specification,
// the in-graph dequantization against quantize.ts's decoder, and the GroupQueryAttention contrib op (findings
// recorded in docs/onnx.md) against the plain graph.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { allVariants, parseVariant } from '../variants.js';
import {
  attentionFeeds,
  buildAttentionGraph,
  buildGqaContribGraph,
  declaredInputs,
  dequantizeRows,
  e4m3Code,
  e4m3Value,
  f16Bits,
  f16Value,
  GraphBuilder,
  gqaFeeds,
  gqaOutputToBnsh,
  type OnnxAttentionProblem,
  type OnnxFeed,
  onnxExpressible,
  quantizePerChannel,
  quantizeRows,
  selectionTables,
} from './index.js';

const quiet = { executionProviders: ['cpu'], logSeverityLevel: 3 as const };

function tensors(feeds: Record<string, OnnxFeed>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]),
  );
}

async function runGraph(
  bytes: Uint8Array,
  feeds: Record<string, OnnxFeed>,
  output = 'out',
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, quiet);
  try {
    return (await session.run(tensors(feeds)))[output]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Seeded uniform values in [−1, 1). */
function random(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  });
}

/** Naive fp64 attention from docs/spec.md §3 (dense/GQA and MLA), for checking the graphs' semantics. */
function naiveAttention(problem: OnnxAttentionProblem, x: Record<string, Float32Array>): Float64Array {
  const s = {
    batch: 1,
    heads: 1,
    kvHeads: 1,
    headDim: 1,
    qLen: 1,
    kvLen: 1,
    rank: 1,
    ropeDim: 1,
    ...problem.shape,
  };
  const mla = problem.variant.includes('mla');
  const S = problem.phase === 'decode' ? 1 : s.qLen;
  const outDim = mla ? s.rank : s.headDim;
  const scale = problem.params?.scale ?? (mla ? 1 / Math.sqrt(192) : 1 / Math.sqrt(s.headDim));
  const out = new Float64Array(s.batch * s.heads * S * outDim);
  for (let b = 0; b < s.batch; b++)
    for (let h = 0; h < s.heads; h++)
      for (let i = 0; i < S; i++) {
        const visible = problem.phase === 'decode' ? s.kvLen : s.kvLen - S + i + 1;
        const scores: number[] = [];
        for (let t = 0; t < visible; t++) {
          let dot = 0;
          if (mla) {
            for (let r = 0; r < s.rank; r++)
              dot +=
                x.qNope![((b * s.heads + h) * S + i) * s.rank + r]! * x.ckv![(b * s.kvLen + t) * s.rank + r]!;
            for (let r = 0; r < s.ropeDim; r++)
              dot +=
                x.qRope![((b * s.heads + h) * S + i) * s.ropeDim + r]! *
                x.kRope![(b * s.kvLen + t) * s.ropeDim + r]!;
          } else {
            const kh = Math.floor(h / (s.heads / s.kvHeads));
            for (let d = 0; d < s.headDim; d++)
              dot +=
                x.q![((b * s.heads + h) * S + i) * s.headDim + d]! *
                x.k![((b * s.kvHeads + kh) * s.kvLen + t) * s.headDim + d]!;
          }
          scores.push(dot * scale);
        }
        const m = Math.max(...scores);
        const w = scores.map((z) => Math.exp(z - m));
        const sum = w.reduce((p, q) => p + q, 0);
        for (let d = 0; d < outDim; d++) {
          let acc = 0;
          for (let t = 0; t < visible; t++) {
            const value = mla
              ? x.ckv![(b * s.kvLen + t) * s.rank + d]!
              : x.v![
                  ((b * s.kvHeads + Math.floor(h / (s.heads / s.kvHeads))) * s.kvLen + t) * s.headDim + d
                ]!;
            acc += (w[t]! / sum) * value;
          }
          out[((b * s.heads + h) * S + i) * outDim + d] = acc;
        }
      }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function inputsFor(problem: OnnxAttentionProblem, seed: number): Record<string, Float32Array> {
  const s = problem.shape as Required<OnnxAttentionProblem['shape']>;
  const S = problem.phase === 'decode' ? 1 : s.qLen;
  if (problem.variant.includes('mla'))
    return {
      qNope: random(s.batch * s.heads * S * s.rank, seed),
      qRope: random(s.batch * s.heads * S * s.ropeDim, seed + 1),
      ckv: random(s.batch * s.kvLen * s.rank, seed + 2),
      kRope: random(s.batch * s.kvLen * s.ropeDim, seed + 3),
    };
  return {
    q: random(s.batch * s.heads * S * s.headDim, seed),
    k: random(s.batch * s.kvHeads * s.kvLen * s.headDim, seed + 1),
    v: random(s.batch * s.kvHeads * s.kvLen * s.headDim, seed + 2),
  };
}

describe('KV quantizers (quantize.ts)', () => {
  it('f16Bits rounds exactly as ORT casts float → float16', async () => {
    const values = Float32Array.from([
      0,
      -0,
      1,
      -1,
      0.1,
      1 / 3,
      65504,
      65519,
      65520,
      1e6,
      6.1e-5,
      6.0e-8,
      2 ** -25,
      3 * 2 ** -25,
      2 ** -24,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      2048 + 1,
      2048 + 3,
      ...random(500, 5).map((x) => x * 2 ** Math.round(x * 20)),
    ]);
    const g = new GraphBuilder('cast');
    g.node('Cast', [g.input('x', 'float32', [values.length])], { to: 10 }, { names: ['y'] });
    g.output('y', 'float16', [values.length]);
    const session = await ort.InferenceSession.create(g.toBytes(), quiet);
    const y = (await session.run({ x: new ort.Tensor('float32', values, [values.length]) })).y!
      .data as Uint16Array;
    expect(Array.from(values, (v) => f16Bits(v))).toEqual(Array.from(y));
    for (const bits of [0x3c00, 0x0001, 0x03ff, 0x7bff, 0xc000]) expect(f16Bits(f16Value(bits))).toBe(bits);
  });

  it('E4M3FN codes: 448 saturates to 0x7e, subnormals in steps of 2^-9, ties to the even code', () => {
    expect(e4m3Code(448)).toBe(0x7e);
    expect(e4m3Code(1e9)).toBe(0x7e);
    expect(e4m3Code(-500)).toBe(0xfe);
    expect(e4m3Code(1)).toBe(0x38);
    expect(e4m3Code(2 ** -9)).toBe(0x01);
    expect(e4m3Code(2 ** -10)).toBe(0x00); // tie between 0 and 2^-9: even code 0
    expect(e4m3Code(1.0625)).toBe(0x38); // tie between 1 (0x38) and 1.125 (0x39): even
    expect(e4m3Code(1.1875)).toBe(0x3a); // tie between 1.125 (0x39) and 1.25 (0x3a): even
    for (let code = 0; code < 0x7f; code++) {
      expect(e4m3Code(e4m3Value(code))).toBe(code);
      if (code > 0) expect(e4m3Code(e4m3Value(code | 0x80))).toBe(code | 0x80);
    }
  });

  it('int8: symmetric per vector with an f16 scale of amax/127, clamped to ±127', () => {
    const row = Float32Array.from([0.5, -1.27, 0.004, 0, 1.27, -0.635]);
    const q = quantizeRows('kv-int8', row, 6);
    const scale = f16Value(q.scales[0]!);
    expect(q.scales[0]).toBe(f16Bits(1.27 / 127));
    expect(Array.from(q.values)).toEqual(
      Array.from(row, (x) => Math.max(-127, Math.min(127, Math.round(x / scale)))),
    );
    expect(quantizeRows('kv-int8', new Float32Array(4), 4).values.every((v) => v === 0)).toBe(true);
  });

  it('int4: groups of 32, byte j holds value j (low) and value j+16 (high), stored +8', () => {
    const row = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 16 : (i - 48) / 100));
    const q = quantizeRows('kv-int4', row, 64);
    expect(q.groups).toBe(2);
    expect(q.values.length).toBe(32);
    const s0 = f16Value(q.scales[0]!);
    expect(q.scales[0]).toBe(f16Bits(1 / 7));
    const level = (x: number) => Math.max(-7, Math.min(7, Math.round(Math.fround(x / s0))));
    expect(q.values[3]).toBe((level(row[3]!) + 8) | ((level(row[19]!) + 8) << 4));
    const back = dequantizeRows(q);
    for (let i = 0; i < 64; i++)
      expect(Math.abs(back[i]! - row[i]!)).toBeLessThanOrEqual(
        f16Value(q.scales[i < 32 ? 0 : 1]!) / 2 + 1e-7,
      );
  });

  it('fp8: per vector scale amax/448; the round trip is within half an E4M3 step', () => {
    const row = random(128, 9);
    const q = quantizeRows('kv-fp8', row, 128);
    const back = dequantizeRows(q);
    for (let i = 0; i < 128; i++)
      expect(Math.abs(back[i]! - row[i]!)).toBeLessThanOrEqual(Math.abs(row[i]!) / 16 + 1e-6);
  });
});

describe('attention graphs', () => {
  const gqaShape = { batch: 2, heads: 6, kvHeads: 2, headDim: 64, qLen: 5, kvLen: 24, rank: 64, ropeDim: 32 };
  const cases: OnnxAttentionProblem[] = [
    { variant: 'dense', phase: 'decode', shape: gqaShape },
    { variant: 'dense', phase: 'prefill', shape: gqaShape },
    { variant: 'dense', phase: 'prefill', shape: { ...gqaShape, qLen: 24 }, params: { scale: 0.2 } },
    { variant: 'mla', phase: 'decode', shape: gqaShape },
    { variant: 'mla', phase: 'prefill', shape: gqaShape },
  ];
  for (const problem of cases) {
    it(`${problem.variant} ${problem.phase} q${problem.shape.qLen} matches a naive fp64 attention`, async () => {
      const inputs = inputsFor(problem, 3);
      const graph = buildAttentionGraph(problem);
      const out = await runGraph(graph.bytes, attentionFeeds(problem, inputs));
      expect(maxAbsDiff(out, naiveAttention(problem, inputs))).toBeLessThan(1e-5);
    });
  }

  // Every quantized cache, under the dense and the mla layout (sparse selection does not change the dequantization).
  const quantized = allVariants().filter((v) => parseVariant(v).kv !== null && !parseVariant(v).sparse);
  it('checks every KV format under both layouts', () => expect(quantized).toHaveLength(6));
  for (const variant of quantized) {
    it(`${variant}: the graph's dequantization equals quantize.ts's decoder`, async () => {
      const problem: OnnxAttentionProblem = { variant, phase: 'prefill', shape: gqaShape };
      const inputs = inputsFor(problem, 7);
      const graph = buildAttentionGraph(problem);
      const out = await runGraph(graph.bytes, attentionFeeds(problem, inputs));
      // Same problem without the kv lever, its caches replaced by what the quantized ones stand for.
      const kv = variant.replace(/^(mla\+)?/, '') as 'kv-int8';
      const plain = { ...problem, variant: variant.startsWith('mla') ? 'mla' : 'dense' };
      const deq = { ...inputs };
      for (const [name, dim] of variant.startsWith('mla')
        ? ([
            ['ckv', 64],
            ['kRope', 32],
          ] as const)
        : ([
            ['k', 64],
            ['v', 64],
          ] as const))
        deq[name] = dequantizeRows(quantizeRows(kv, inputs[name]!, dim));
      expect(maxAbsDiff(out, naiveAttention(plain, deq))).toBeLessThan(1e-5);
      // and the quantization is visible: the output moved away from the unquantized attention
      expect(maxAbsDiff(out, naiveAttention(plain, inputs))).toBeGreaterThan(1e-5);
    });
  }

  it('declares its inputs (quantized caches as values plus f16 scales)', () => {
    const graph = buildAttentionGraph({ variant: 'kv-int4', phase: 'decode', shape: gqaShape });
    expect(declaredInputs(graph.bytes).map((i) => `${i.name}:${i.type}:${i.dims.join('x')}`)).toEqual([
      'q:float32:2x6x1x64',
      'kPacked:uint8:2x2x24x32',
      'kScale:float16:2x2x24x2',
      'vPacked:uint8:2x2x24x32',
      'vScale:float16:2x2x24x2',
    ]);
    expect(onnxExpressible('mla+sparse+kv-fp8').ok).toBe(true);
    expect(() => onnxExpressible('sparse+dense')).toThrow(/dense/);
  });

  it('sparse selection tables: sink, the window of each row, and the TopK size', () => {
    const shape = { ...gqaShape, qLen: 3, kvLen: 20 };
    // blocks of 4: 5 blocks; window 6; topK 1. Row 0 sees 18 tokens (blocks 0–4, block 4 partly), rows 1–2 more.
    const t = selectionTables('prefill', shape, { blockSize: 4, topK: 1, window: 6 });
    expect(t.blocks).toBe(5);
    expect(t.k).toBe(1);
    expect(t.start.slice(0, 5)).toEqual([0, 4, 8, 12, 16]);
    expect(t.end.slice(0, 5)).toEqual([4, 8, 12, 16, 18]); // row 0: block 4 holds tokens 16, 17 only
    // row 0: window = tokens 12..17 → blocks 3, 4; sink 0
    expect(t.forced.slice(0, 5)).toEqual([1, 0, 0, 1, 1]);
    // row 2 sees all 20: window tokens 14..19 → blocks 3, 4
    expect(t.forced.slice(10, 15)).toEqual([1, 0, 0, 1, 1]);
    const decode = selectionTables('decode', { ...shape, kvLen: 9 }, { blockSize: 4, topK: 8, window: 0 });
    expect(decode.forced).toEqual([1, 0, 0]); // window 0: only the sink is forced
    expect(decode.k).toBe(2);
  });

  it('sparse: the graph attends exactly to the selected blocks', async () => {
    // One kv head, keys planted so block 2 scores highest; blocks of 4, window 4, topK 1: sink 0, window 3, top 2.
    const shape = { batch: 1, heads: 2, kvHeads: 1, headDim: 4, qLen: 1, kvLen: 16, rank: 4, ropeDim: 4 };
    const problem: OnnxAttentionProblem = {
      variant: 'sparse',
      phase: 'decode',
      shape,
      params: { blockSize: 4, topK: 1, window: 4 },
    };
    const k = new Float32Array(16 * 4);
    for (let t = 8; t < 12; t++) k[t * 4] = 3; // block 2 aligned with the queries
    for (let t = 4; t < 8; t++) k[t * 4] = -3; // block 1 against them
    const inputs = { q: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0]), k, v: random(64, 2) };
    const out = await runGraph(buildAttentionGraph(problem).bytes, attentionFeeds(problem, inputs));
    const keep = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15];
    const pick = (x: Float32Array, rows: number[]) =>
      Float32Array.from(rows.flatMap((t) => Array.from(x.subarray(t * 4, t * 4 + 4))));
    const sub = { variant: 'dense', phase: 'decode' as const, shape: { ...shape, kvLen: 12 } };
    const want = naiveAttention(sub, { q: inputs.q, k: pick(k, keep), v: pick(inputs.v, keep) });
    expect(maxAbsDiff(out, want)).toBeLessThan(1e-6);
  });
});

describe('com.microsoft.GroupQueryAttention on the ORT 1.30 CPU provider (findings in docs/onnx.md)', () => {
  const shape = { batch: 2, heads: 8, kvHeads: 2, headDim: 64, kvLen: 40 };
  for (const [phase, qLen] of [
    ['decode', 1],
    ['prefill', 40],
  ] as const) {
    it(`runs ${phase} (q${qLen}) and agrees with the plain graph`, async () => {
      const problem: OnnxAttentionProblem = { variant: 'dense', phase, shape: { ...shape, qLen } };
      const inputs = inputsFor({ ...problem, shape: { ...problem.shape, rank: 1, ropeDim: 1 } }, 21);
      const plain = await runGraph(buildAttentionGraph(problem).bytes, attentionFeeds(problem, inputs));
      const gqa = buildGqaContribGraph({ phase, shape: problem.shape });
      const out = await runGraph(gqa.bytes, gqaFeeds({ phase, shape: problem.shape }, inputs));
      expect(maxAbsDiff(gqaOutputToBnsh(out, problem.shape, phase), plain)).toBeLessThan(1e-5);
    });
  }

  it('rejects a prefill chunk after a past context when batch > 1', async () => {
    const s = { ...shape, qLen: 8 };
    const inputs = inputsFor({ variant: 'dense', phase: 'prefill', shape: { ...s, rank: 1, ropeDim: 1 } }, 2);
    await expect(
      runGraph(
        buildGqaContribGraph({ phase: 'prefill', shape: s }).bytes,
        gqaFeeds({ phase: 'prefill', shape: s }, inputs),
      ),
    ).rejects.toThrow(/batch_size must be 1/);
  });

  it('accepts an int8 or int4 KV cache, but only with per-tensor or per-channel scales (not per token)', async () => {
    // buildGqaContribGraph({ kvBits }) and gqaFeeds quantize the past per channel (quantizePerChannel); the op on
    // that cache must equal the op on its dequantized values fed as f32, and differ from the unquantized cache.
    const s = { batch: 2, heads: 4, kvHeads: 2, headDim: 64, kvLen: 16 };
    const { batch: B, kvHeads: KH, headDim: D, kvLen: L } = s;
    const past = L - 1;
    const inputs = {
      q: random(B * 4 * D, 1),
      // a zero new token is exact in any format, so only the past cache's format can make a difference
      k: Float32Array.from(random(B * KH * L * D, 2), (x, i) => (i % (L * D) >= past * D ? 0 : x)),
      v: Float32Array.from(random(B * KH * L * D, 3), (x, i) => (i % (L * D) >= past * D ? 0 : x)),
    };
    const f32 = { phase: 'decode' as const, shape: s };
    const exact = await runGraph(buildGqaContribGraph(f32).bytes, gqaFeeds(f32, inputs));
    for (const bits of [8, 4] as const) {
      const dims = { b: B, n: KH, s: L, d: D };
      const dequantize = (x: Float32Array) => {
        const { data, scale } = quantizePerChannel(x, dims, past, bits);
        const level = (i: number) => (bits === 8 ? data[i]! : ((data[i >> 1]! >> (4 * (i & 1))) & 15) - 8);
        const out = new Float32Array(x.length);
        for (let bn = 0; bn < B * KH; bn++)
          for (let t = 0; t < past; t++)
            for (let d = 0; d < D; d++)
              out[(bn * L + t) * D + d] = level((bn * past + t) * D + d) * scale[(bn % KH) * D + d]!;
        return out;
      };
      const want = await runGraph(
        buildGqaContribGraph(f32).bytes,
        gqaFeeds(f32, { q: inputs.q, k: dequantize(inputs.k), v: dequantize(inputs.v) }),
      );
      const quant = { ...f32, kvBits: bits };
      const got = await runGraph(buildGqaContribGraph(quant).bytes, gqaFeeds(quant, inputs));
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      expect(maxAbsDiff(got, exact)).toBeGreaterThan(bits === 8 ? 1e-5 : 1e-3);
    }
  });
});
