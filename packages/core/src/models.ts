// From one attention kernel to a named model: a model description (`etok.model/v1`, shipped in data/models/ with
// its sources) turns per-call figures of an attention measurement into per-token figures for the whole stack of
// layers, plus the non-attention FLOPs (and joules, when known) of the rest of the model. Pure: callers read the
// file (`modelFileUrl` names the shipped one) and hand its text to `parseModelDescription`.

import { parseVariant } from '@etok/kernels';
import { z } from 'zod';
import { EtokError } from './errors.js';
import type { Measurement } from './schemas.js';
import {
  type FlopsPerSecond,
  type FlopsPerToken,
  flopsPerSecond,
  flopsPerToken,
  type JoulesPerToken,
  joulesPerToken,
} from './units.js';

export const MODEL_SCHEMA_ID = 'etok.model/v1';
/** Descriptions shipped in packages/core/data/models/<name>.json. */
export const BUILTIN_MODELS = ['llama-3-8b', 'llama-3-70b', 'deepseek-v3'] as const;

const posInt = z.number().int().positive();

export const ModelDescriptionSchema = z
  .looseObject({
    schema: z.literal(MODEL_SCHEMA_ID),
    name: z.string().min(1),
    title: z.string(),
    attention: z.enum(['gqa', 'mla']),
    layers: posInt,
    heads: posInt,
    kvHeads: posInt.optional(),
    headDim: posInt.optional(),
    mla: z
      .looseObject({
        rank: posInt,
        ropeDim: posInt,
        qLoraRank: posInt.optional(),
        qkNopeHeadDim: posInt.optional(),
        vHeadDim: posInt.optional(),
      })
      .optional(),
    config: z.record(z.string(), z.number()).optional(),
    /** FLOPs per token outside the attention kernel (projections, MLP/MoE, LM head); null if unknown. */
    nonAttentionFlopsPerToken: z.number().nonnegative().nullable(),
    /** Joules per token outside the attention kernel at the same boundary; null if unknown. */
    nonAttentionJoulesPerToken: z.number().nonnegative().nullable(),
    derivation: z.string().optional(),
    sources: z.array(z.looseObject({ title: z.string(), url: z.string() })).min(1),
    provenance: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.attention === 'gqa') {
      if (m.kvHeads === undefined || m.headDim === undefined)
        ctx.addIssue({ code: 'custom', path: ['kvHeads'], message: 'a gqa model needs kvHeads and headDim' });
      else if (m.heads % m.kvHeads !== 0)
        ctx.addIssue({ code: 'custom', path: ['kvHeads'], message: 'heads must be a multiple of kvHeads' });
    } else if (m.mla === undefined)
      ctx.addIssue({ code: 'custom', path: ['mla'], message: 'an mla model needs mla.rank and mla.ropeDim' });
  });

export type ModelDescription = z.infer<typeof ModelDescriptionSchema>;

/** Where a shipped description lives (works from src/ and dist/, both one level below the package root). */
export function modelFileUrl(name: string): URL {
  return new URL(`../data/models/${name}.json`, import.meta.url);
}

export function parseModelDescription(text: string, source: string): ModelDescription {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EtokError('BAD_USAGE', `${source}: not JSON (${(error as Error).message})`);
  }
  const parsed = ModelDescriptionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EtokError(
      'BAD_USAGE',
      `${source}: field '${issue.path.join('.') || '(document)'}' ${issue.message}`,
    );
  }
  return parsed.data;
}

/**
 * Non-attention matmul FLOPs per token recomputed from `config` (2 per weight): the check behind the shipped
 * `nonAttentionFlopsPerToken`. Null when the description lacks the fields.
 */
export function projectionFlopsPerToken(model: ModelDescription): number | null {
  const c = model.config ?? {};
  const { hiddenSize: h, intermediateSize: inter, vocabSize: vocab } = c;
  if (h === undefined || inter === undefined || vocab === undefined) return null;
  if (model.attention === 'gqa') {
    const qo = 2 * h * model.heads * model.headDim!;
    const kv = 2 * h * model.kvHeads! * model.headDim!;
    return 2 * (model.layers * (qo + kv + 3 * h * inter) + h * vocab);
  }
  const m = model.mla!;
  const { qLoraRank, qkNopeHeadDim, vHeadDim } = m;
  const {
    denseLayers = model.layers,
    moeIntermediateSize,
    routedExperts,
    expertsPerToken,
    sharedExperts = 0,
  } = c;
  if (qLoraRank === undefined || qkNopeHeadDim === undefined || vHeadDim === undefined) return null;
  const H = model.heads;
  const attention =
    h * qLoraRank +
    qLoraRank * H * (qkNopeHeadDim + m.ropeDim) +
    h * (m.rank + m.ropeDim) +
    m.rank * H * (qkNopeHeadDim + vHeadDim) +
    H * vHeadDim * h;
  const dense = 3 * h * inter;
  const moeLayers = model.layers - denseLayers;
  const moe =
    moeLayers > 0 &&
    moeIntermediateSize !== undefined &&
    routedExperts !== undefined &&
    expertsPerToken !== undefined
      ? (expertsPerToken + sharedExperts) * 3 * h * moeIntermediateSize + h * routedExperts
      : 0;
  return 2 * (model.layers * attention + denseLayers * dense + moeLayers * moe + h * vocab);
}

function mismatch(
  m: Measurement,
  model: ModelDescription,
  field: string,
  measured: unknown,
  wanted: unknown,
): never {
  const hint =
    model.attention === 'gqa'
      ? `--heads ${model.heads} --kv-heads ${model.kvHeads} --head-dim ${model.headDim}`
      : `an mla variant and --heads ${model.heads} --rank ${model.mla!.rank} --rope-dim ${model.mla!.ropeDim}`;
  throw new EtokError(
    'BAD_USAGE',
    `measurement ${m.id} has ${field} ${String(measured)} but model ${model.name} has ${String(wanted)}; measure with ${hint}`,
  );
}

/** Checks that one attention call of `m` is one layer's attention of `model` (layout and head counts). */
export function checkModelShape(m: Measurement, model: ModelDescription): void {
  const mla = parseVariant(m.variant).mla;
  if (mla !== (model.attention === 'mla'))
    mismatch(m, model, 'attention', mla ? 'mla' : 'gqa (no mla lever)', model.attention);
  const s = m.shape;
  const expect: [string, number | undefined][] =
    model.attention === 'gqa'
      ? [
          ['heads', model.heads],
          ['kvHeads', model.kvHeads],
          ['headDim', model.headDim],
        ]
      : [
          ['heads', model.heads],
          ['rank', model.mla!.rank],
          ['ropeDim', model.mla!.ropeDim],
        ];
  for (const [field, wanted] of expect) if (s[field] !== wanted) mismatch(m, model, field, s[field], wanted);
}

export interface ModelScaling {
  model: string;
  measurementId: string;
  /** The context and batch the per-token figures hold at (attention cost grows with context). */
  at: { phase: string; batch: number | undefined; kvLen: number | undefined };
  attention: { flopsPerToken: FlopsPerToken; joulesPerToken: JoulesPerToken; secondsPerToken: number };
  nonAttention: {
    flopsPerToken: FlopsPerToken | null;
    joulesPerToken: JoulesPerToken | null;
    joulesSource: string;
  };
  /**
   * `whole-model` when non-attention joules are known (then e_tok and c_tok below include them), otherwise
   * `attention-only` (both e_tok and c_tok are the attention stack's, so ρ stays a like-for-like ratio).
   */
  scope: 'whole-model' | 'attention-only';
  eTok: JoulesPerToken;
  cTok: FlopsPerToken;
  /** Realized FLOP/s of the attention kernel (the model's other kernels are not measured here). */
  kEff: FlopsPerSecond;
}

/** Per-token figures of `model` from one attention measurement: layers × per-layer figures + the rest. */
export function scaleToModel(
  m: Measurement,
  model: ModelDescription,
  options: { nonAttentionJoulesPerToken?: number } = {},
): ModelScaling {
  checkModelShape(m, model);
  if (!(m.tokens > 0) || !(m.time.medianS > 0))
    throw new EtokError('BAD_USAGE', `measurement ${m.id} has no tokens or no median time to scale`);
  const given = options.nonAttentionJoulesPerToken;
  if (given !== undefined && !(Number.isFinite(given) && given >= 0))
    throw new EtokError(
      'BAD_USAGE',
      `--non-attention-j ${given} is not valid; expected joules per token ≥ 0`,
    );
  const L = model.layers;
  const attention = {
    flopsPerToken: flopsPerToken((L * m.flops) / m.tokens),
    joulesPerToken: joulesPerToken(L * m.energy.joulesPerToken),
    secondsPerToken: (L * m.time.medianS) / m.tokens,
  };
  const naFlops =
    model.nonAttentionFlopsPerToken === null ? null : flopsPerToken(model.nonAttentionFlopsPerToken);
  const naJoules = given ?? model.nonAttentionJoulesPerToken;
  const whole = naJoules !== null && naFlops !== null;
  return {
    model: model.name,
    measurementId: m.id,
    at: { phase: m.phase, batch: m.shape.batch, kvLen: m.shape.kvLen },
    attention,
    nonAttention: {
      flopsPerToken: naFlops,
      joulesPerToken: naJoules === null ? null : joulesPerToken(naJoules),
      joulesSource: given !== undefined ? 'flag' : naJoules !== null ? 'model description' : 'unknown',
    },
    scope: whole ? 'whole-model' : 'attention-only',
    eTok: whole ? joulesPerToken(attention.joulesPerToken + naJoules) : attention.joulesPerToken,
    cTok: whole ? flopsPerToken(attention.flopsPerToken + naFlops) : attention.flopsPerToken,
    kEff: flopsPerSecond(m.flops / m.time.medianS),
  };
}
