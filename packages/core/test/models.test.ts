import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_MODELS,
  type ModelDescription,
  modelFileUrl,
  parseModelDescription,
  projectionFlopsPerToken,
  scaleToModel,
} from '../src/models.js';
import { BASE_SHAPE, MLA_SHAPE, measurement } from './fixtures.js';

const load = (name: string) => parseModelDescription(readFileSync(modelFileUrl(name), 'utf8'), name);

describe('shipped model descriptions', () => {
  it.each(BUILTIN_MODELS)(
    '%s parses, names its sources and its non-attention FLOPs follow from its config',
    (name) => {
      const model = load(name);
      expect(model.name).toBe(name);
      expect(model.sources.length).toBeGreaterThan(0);
      expect(model.nonAttentionFlopsPerToken).toBe(projectionFlopsPerToken(model));
    },
  );

  it('Llama-3-8B-class: 2 × 7.50 B matmul weights per token', () => {
    expect(load('llama-3-8b').nonAttentionFlopsPerToken).toBe(15_009_316_864);
  });

  it('DeepSeek-V3-class: ≈ 2 × (37 B activated − embedding)', () => {
    const model = load('deepseek-v3');
    const weights = model.nonAttentionFlopsPerToken! / 2 + 7168 * 129280; // + embedding
    expect(weights / 1e9).toBeCloseTo(37.55, 2);
  });

  it('a bad description names the field', () => {
    expect(() => parseModelDescription('{"schema":"etok.model/v1"}', 'x.json')).toThrow(
      /x.json: field 'name'/,
    );
    const gqa = { ...load('llama-3-8b'), kvHeads: 5 };
    expect(() => parseModelDescription(JSON.stringify(gqa), 'y.json')).toThrow(
      /heads must be a multiple of kvHeads/,
    );
    expect(() => parseModelDescription('nope', 'z.json')).toThrow(/z.json: not JSON/);
  });
});

describe('scaling one attention call to a model', () => {
  const llama = load('llama-3-8b');
  // One layer's decode attention: 4 tokens, 1.6e8 FLOP, 0.04 J, 2 ms per call.
  const m = measurement({
    variant: 'kv-int8',
    flops: 1.6e8,
    tokens: 4,
    medianS: 2e-3,
    windowJoulesPerCall: [0.04, 0.04],
  });

  it('attention-only when non-attention joules are unknown (e_tok and c_tok both of the attention stack)', () => {
    const s = scaleToModel(m, llama);
    expect(s.scope).toBe('attention-only');
    expect(s.attention.flopsPerToken).toBe(32 * 4e7);
    expect(s.attention.joulesPerToken).toBeCloseTo(32 * 0.01, 12);
    expect(s.attention.secondsPerToken).toBeCloseTo(32 * 5e-4, 12);
    expect(s.cTok).toBe(s.attention.flopsPerToken);
    expect(s.eTok).toBe(s.attention.joulesPerToken);
    expect(s.kEff).toBe(8e10);
    expect(s.nonAttention).toMatchObject({
      flopsPerToken: 15_009_316_864,
      joulesPerToken: null,
      joulesSource: 'unknown',
    });
  });

  it('whole-model when they are given', () => {
    const s = scaleToModel(m, llama, { nonAttentionJoulesPerToken: 0.5 });
    expect(s.scope).toBe('whole-model');
    expect(s.eTok).toBeCloseTo(0.32 + 0.5, 12);
    expect(s.cTok).toBe(32 * 4e7 + 15_009_316_864);
  });

  it('refuses a measurement whose layout is not the model’s, naming the field', () => {
    const small = measurement({ variant: 'dense', shape: { ...BASE_SHAPE, heads: 8, kvHeads: 2 } });
    expect(() => scaleToModel(small, llama)).toThrow(
      /has heads 8 but model llama-3-8b has 32; measure with --heads 32 --kv-heads 8 --head-dim 128/,
    );
    expect(() => scaleToModel(measurement({ variant: 'dense' }), load('deepseek-v3'))).toThrow(
      /has attention gqa/,
    );
    const mla = measurement({ variant: 'mla', shape: { ...MLA_SHAPE, heads: 128 } });
    expect(scaleToModel(mla, load('deepseek-v3')).attention.flopsPerToken).toBe((61 * 1e8) / 4);
    expect(() => scaleToModel(m, llama, { nonAttentionJoulesPerToken: -1 })).toThrow(/--non-attention-j -1/);
  });

  it('a model without non-attention FLOPs stays attention-only even with joules', () => {
    const bare: ModelDescription = { ...llama, nonAttentionFlopsPerToken: null };
    expect(scaleToModel(m, bare, { nonAttentionJoulesPerToken: 1 }).scope).toBe('attention-only');
  });
});
