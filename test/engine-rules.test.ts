// The engine's rules, checked once for every executor it drives: etok's kernel, a C plugin, a Python callable and
// the ONNX Runtime peer, measured together as one interleaved group on the simulated NVML board. Each must get the
// same idle baseline, its cold samples, hot samples until a stated stop, and windows that span the window rule,
// start and end on counter steps (so they agree with the board's truth) and never overlap another's.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchConfig, DEFAULT_PARAMS, planBench, withPeers } from '@etok/core';
import { measureGroup, type NativeMeasureResult } from '@etok/native';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativePlan } from '../packages/cli/src/bench/measure-groups.js';
import { onnxPeerFor } from '../packages/cli/src/onnx/peer.js';
import { configureSim, simNvmlLibrary, trueJoules } from '../packages/native/test/meters/sim.js';
import { repoRoot, tempDir } from './helpers/run-etok.js';

const python = process.env.ETOK_PYTHON || 'python3';
const numpyMissing = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0;

const NUMPY_DENSE = `
import numpy as np
import etok

def dense(problem):
    q, k, v = (problem.inputs[n] for n in ("q", "k", "v"))
    g = q.shape[1] // k.shape[1]
    def call():
        kk, vv = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
        s = np.einsum("bhqd,bhtd->bhqt", q, kk) * problem.params["scale"]
        p = np.exp(s - s.max(-1, keepdims=True))
        return np.einsum("bhqt,bhtd->bhqd", p / p.sum(-1, keepdims=True), vv)
    return call

etok.register("numpy-dense", dense)
`;

const TIMING = {
  warmupS: 0.02,
  minTimeS: 0.05,
  maxTimeS: 0.3,
  noiseTarget: 0.005,
  minWindowS: 0.2,
  minWindowUpdates: 20,
  minTrials: 4,
  maxTrials: 4,
  energyCiTarget: 0.03,
  energyBudgetS: 4,
  idleS: 0.1,
  coldSamples: 3,
};
const profile = { powerW: 150, swingW: 30, swingPeriodMs: 900 };
let configs: BenchConfig[] = [];
let results: NativeMeasureResult[] = [];
let plan: ReturnType<typeof planBench>;

beforeAll(async () => {
  const build = tempDir('etok-engine-');
  execFileSync(
    'cmake',
    ['-S', join(repoRoot, 'examples', 'plugin-attention'), '-B', build, '-DCMAKE_CUDA_COMPILER=OFF'],
    {
      stdio: 'ignore',
    },
  );
  execFileSync('cmake', ['--build', build, '--target', 'etok_example_attention'], { stdio: 'ignore' });
  const file = join(build, 'numpy_dense.py');
  writeFileSync(file, NUMPY_DENSE);
  const planned = planBench(
    {
      device: 'cpu',
      meter: 'nvml:0',
      variants: ['dense', 'example-dense', ...(numpyMissing ? [] : ['numpy-dense'])],
      ctx: [256],
      heads: [4],
      kvHeads: [2],
      headDim: [32],
      rank: 512,
      ropeDim: 64,
      params: DEFAULT_PARAMS,
      profile: 'uniform',
      seed: 3,
      quality: true,
      timing: TIMING,
      externals: [
        {
          name: 'example-dense',
          executor: 'plugin',
          path: join(build, 'libetok_example_attention.so'),
          description: '',
          referenceVariant: 'dense',
        },
        { name: 'numpy-dense', executor: 'python', path: file, description: '', referenceVariant: 'dense' },
      ],
    },
    8 * 2 ** 30,
    () => ({ flops: 1, bytes: 1, tokens: 1 }),
  );
  plan = withPeers(planned, (c) => onnxPeerFor(c)).plan;
  configs = plan.configs;
  configureSim({
    PERIOD_MS: 5,
    POWER_W: profile.powerW,
    SWING_W: profile.swingW,
    SWING_PERIOD_MS: profile.swingPeriodMs,
  });
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary();
  results = await measureGroup(
    configs.map((c) => nativePlan(c, { plan, meter: 'nvml:0', powerModel: undefined })),
  ).result;
}, 240_000);

describe('one engine, the same rules for every executor', () => {
  it('measures every executor of the group', () => {
    const kinds = results.map((r) => r.executor.kind).sort();
    expect(kinds).toEqual(numpyMissing ? ['etok', 'onnx', 'plugin'] : ['etok', 'onnx', 'plugin', 'python']);
    for (const r of results) expect(r.failure, JSON.stringify(r.failure)).toBeUndefined();
  });

  it('one idle baseline, cold samples, hot samples until a stated stop, quality against the fp64 reference', () => {
    const idle = results[0]!.idleW;
    for (const r of results) {
      expect(r.idleW).toBe(idle);
      expect(r.coldSamplesS.length).toBe(TIMING.coldSamples);
      expect(r.samplesS.length).toBeGreaterThanOrEqual(10);
      expect(['noise-target', 'plateau', 'time-limit']).toContain(r.timingStopReason);
      expect(['ci-target', 'max-trials', 'time-budget']).toContain(r.stopReason);
      expect(r.relErrorVsExact).not.toBeNull();
      expect(r.relErrorVsExact!).toBeLessThan(1e-4);
    }
  });

  it('windows span the window rule, start and end on counter steps, and agree with the board', () => {
    for (const r of results) {
      expect(r.windowTargetS).toBeCloseTo(0.2, 6); // max(200 ms, 20 × 5 ms)
      expect(r.windows.length).toBe(TIMING.maxTrials);
      for (const w of r.windows) {
        const seconds = (w.t1Ns - w.t0Ns) * 1e-9;
        expect(seconds).toBeGreaterThanOrEqual(0.9 * r.windowTargetS);
        // Ends at the first counter step after the target (5 ms here), or, on a machine too loaded to time a step,
        // at the engine's deadline for finding one (1 s).
        expect(seconds).toBeLessThan(r.windowTargetS + 1.5);
        const truth = trueJoules(profile, w.t0Ns, w.t1Ns);
        expect(Math.abs(w.joules - truth) / truth).toBeLessThan(0.01);
        expect(w.calls).toBeGreaterThan(0);
      }
    }
  });

  it('windows of the group are interleaved and never overlap', () => {
    const all = results
      .flatMap((r, i) => r.windows.map((w) => ({ i, ...w })))
      .sort((a, b) => a.t0Ns - b.t0Ns);
    for (let k = 1; k < all.length; k++) expect(all[k]!.t0Ns).toBeGreaterThanOrEqual(all[k - 1]!.t1Ns);
    // Round by round every member gets one window, in a shuffled order: the first round holds each once.
    const firstRound = new Set(all.slice(0, results.length).map((w) => w.i));
    expect(firstRound.size).toBe(results.length);
  });
});
