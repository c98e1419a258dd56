// Invalid problems throw BAD_SHAPE naming the field (docs/spec.md §3), before any kernel runs.
import { describe, expect, it } from 'vitest';
import { type NativeKernelRequest, runKernel, syntheticInputs } from '../../src/index.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect((error as { code?: string }).code).toBe('BAD_SHAPE');
    return (error as { field?: string }).field;
  }
  return undefined;
}

const ok: NativeKernelRequest = {
  variant: 'dense',
  phase: 'decode',
  shape: { batch: 1, heads: 4, kvHeads: 2, headDim: 8, kvLen: 16 },
};

describe('bad shapes name their field', () => {
  const cases: [string, NativeKernelRequest, string][] = [
    ['heads not a multiple of kvHeads', { ...ok, shape: { ...ok.shape, heads: 3 } }, 'kvHeads'],
    ['decode with qLen 2', { ...ok, shape: { ...ok.shape, qLen: 2 } }, 'qLen'],
    ['prefill qLen > kvLen', { ...ok, phase: 'prefill', shape: { ...ok.shape, qLen: 17 } }, 'qLen'],
    [
      'kv-int4 with odd headDim',
      { ...ok, variant: 'kv-int4', shape: { ...ok.shape, headDim: 7 } },
      'headDim',
    ],
    [
      'mla+kv-int4 with odd rank',
      { ...ok, variant: 'mla+kv-int4', shape: { ...ok.shape, rank: 9, ropeDim: 4 } },
      'rank',
    ],
    ['sparse with blockSize 0', { ...ok, variant: 'sparse', params: { blockSize: 0 } }, 'blockSize'],
    ['sparse with negative topK', { ...ok, variant: 'sparse', params: { topK: -1 } }, 'topK'],
    ['zero batch', { ...ok, shape: { ...ok.shape, batch: 0 } }, 'batch'],
    ['two KV formats', { ...ok, variant: 'kv-int8+kv-fp8' }, 'variant'],
    ['unknown dtype', { ...ok, dtype: 'f64' as 'f32' }, 'dtype'],
  ];
  for (const [name, req, field] of cases)
    it(name, () => expect(fieldOf(() => runKernel(req, {}))).toBe(field));

  it('names a missing, extra or short input', () => {
    const inputs = syntheticInputs(ok, 'uniform', 1);
    expect(fieldOf(() => runKernel(ok, { q: inputs.q!, k: inputs.k! }))).toBe('v');
    expect(fieldOf(() => runKernel(ok, { ...inputs, ckv: new Float32Array(1) }))).toBe('ckv');
    expect(fieldOf(() => runKernel(ok, { ...inputs, k: new Float32Array(5) }))).toBe('k');
    const mla = { ...ok, variant: 'mla', shape: { ...ok.shape, rank: 8, ropeDim: 4 } };
    expect(fieldOf(() => runKernel(mla, inputs))).toBe('qNope');
  });
});
