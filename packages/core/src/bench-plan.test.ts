import { allVariants } from '@etok/kernels';
import { describe, expect, it } from 'vitest';
import {
  type BenchRequest,
  comparisonGroups,
  DEFAULT_PARAMS,
  planBench,
  SUITE_DEFINITIONS,
} from './bench-plan.js';

const GiB = 2 ** 30;
const base: BenchRequest = {
  device: 'cpu',
  meter: 'model',
  rank: 512,
  ropeDim: 64,
  params: DEFAULT_PARAMS,
  profile: 'uniform',
  seed: 1,
  quality: true,
};

describe('planBench', () => {
  it('sweeps lists as axes', () => {
    const plan = planBench(
      { ...base, variants: ['dense', 'kv-int8'], batch: [1, 8], ctx: [1024, 4096] },
      16 * GiB,
    );
    expect(plan.configs).toHaveLength(8);
    expect(new Set(plan.configs.map((c) => c.id)).size).toBe(8);
  });

  it('canonicalises lever order and drops duplicates', () => {
    const plan = planBench({ ...base, variants: ['sparse+mla', 'mla+sparse'] }, 16 * GiB);
    expect(plan.configs.map((c) => c.variant)).toEqual(['mla+sparse']);
  });

  it('--levers expands to every subset, smallest first', () => {
    const plan = planBench({ ...base, levers: ['mla', 'kv-int8'] }, 16 * GiB);
    expect(plan.configs.map((c) => c.variant)).toEqual(['dense', 'mla', 'kv-int8', 'mla+kv-int8']);
  });

  it('prefill defaults to a whole-context query and tokens = batch × qLen', () => {
    const plan = planBench({ ...base, phases: ['prefill'], ctx: [512], batch: [2] }, 16 * GiB);
    expect(plan.configs[0]!.shape.qLen).toBe(512);
    expect(plan.configs[0]!.cost.tokens).toBe(1024);
  });

  it('the quick suite covers every lever set', () => {
    const plan = planBench({ ...base, suite: 'quick' }, 16 * GiB);
    expect(plan.configs.map((c) => c.variant).sort()).toEqual([...allVariants()].sort());
    expect(plan.timing).toEqual(SUITE_DEFINITIONS.quick.timing);
  });

  it('rejects a head count that does not divide, naming both values', () => {
    expect(() => planBench({ ...base, heads: [12], kvHeads: [5] }, 16 * GiB)).toThrow(
      '--heads 12 is not a multiple of --kv-heads 5',
    );
  });

  it('rejects a configuration larger than memory before anything runs', () => {
    expect(() => planBench({ ...base, batch: [64], ctx: [1 << 20] }, 16 * GiB)).toThrow(/GiB of host memory/);
  });

  it('rejects a prefill chunk longer than its context', () => {
    expect(() => planBench({ ...base, phases: ['prefill'], ctx: [128], qLen: [256] }, 16 * GiB)).toThrow(
      /--q-len 256 exceeds the context 128/,
    );
  });
});

describe('comparisonGroups', () => {
  it('groups lever sets of one shape together, and nothing else', () => {
    const plan = planBench({ ...base, variants: ['dense', 'kv-int8', 'mla'], ctx: [1024, 2048] }, 16 * GiB);
    const groups = comparisonGroups(plan.configs, 16 * GiB, true);
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      expect(g.map((c) => c.variant).sort()).toEqual(['dense', 'kv-int8', 'mla']);
      expect(new Set(g.map((c) => c.shape.kvLen)).size).toBe(1);
    }
  });

  it('measures each configuration alone when interleaving is off', () => {
    const plan = planBench({ ...base, variants: ['dense', 'kv-int8'] }, 16 * GiB);
    expect(comparisonGroups(plan.configs, 16 * GiB, false)).toHaveLength(2);
  });
});
