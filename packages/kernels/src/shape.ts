// Problem description shared by the cost model, the native binding and the results schema (docs/spec.md §3).

import type { Dtype, Phase } from './variants.js';

export interface AttentionShape {
  batch: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  qLen: number;
  kvLen: number;
  /** MLA latent rank (used only with the mla lever). */
  rank: number;
  /** MLA rope dimension (used only with the mla lever). */
  ropeDim: number;
}

export interface AttentionParams {
  /** Softmax scale; null means the variant's default (1/√headDim, or 1/√192 under mla). */
  scale: number | null;
  blockSize: number;
  topK: number;
  window: number;
}

export const DEFAULT_SHAPE: AttentionShape = {
  batch: 1,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  qLen: 1,
  kvLen: 4096,
  rank: 512,
  ropeDim: 64,
};

export const DEFAULT_PARAMS: AttentionParams = { scale: null, blockSize: 64, topK: 16, window: 512 };

export interface AttentionProblem {
  variant: string;
  phase: Phase;
  dtype: Dtype;
  shape: AttentionShape;
  params: AttentionParams;
}
