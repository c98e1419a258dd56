// The Python executor under the engine, on the simulated NVML board: NumPy callables measured with the same window
// rules as etok's kernels (edge-aligned windows within 2% of the board's truth, calls counted from the child's rate),
// checked against the fp64 reference; and a callable that raises, hangs, crashes, prints to stdout, declines the
// problem or returns the wrong output, each ending its own configuration with a clear failure while the rest of
// its group is measured. Skips, saying why, where python3 has no NumPy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NativeMeasurePlan, NativeMeasureResult } from '../src/binding.js';
import { measureGroup } from '../src/measure.js';
import { listPythonCallables, pythonExecutor, pythonInterpreter } from '../src/python.js';
import { configureSim, simNvmlLibrary, trueJoules } from './meters/sim.js';

const numpy = spawnSync(pythonInterpreter(), ['-c', 'import numpy'], { stdio: 'ignore' });
const skipReason = numpy.error
  ? `${pythonInterpreter()} is not on PATH`
  : numpy.status !== 0
    ? `${pythonInterpreter()} has no NumPy (pip install numpy)`
    : '';

const KERNELS = `
import ctypes, os, sys, time
import numpy as np
import etok

print("printed at import")  # must not reach etok's stdout

def dense(problem):
    q, k, v = (problem.inputs[n] for n in ("q", "k", "v"))
    g = q.shape[1] // k.shape[1]
    scale = problem.params["scale"]
    print("printed in setup")
    def call():
        kk, vv = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
        s = np.einsum("bhqd,bhtd->bhqt", q, kk) * scale
        p = np.exp(s - s.max(-1, keepdims=True))
        return np.einsum("bhqt,bhtd->bhqd", p / p.sum(-1, keepdims=True), vv)
    return call

ENDS = []

def spin(problem):
    # Busy 2 ms a call; each call's end is kept (CLOCK_MONOTONIC, the engine's clock) and written out when the
    # executor exits, so the test can count the calls that really ended inside each window.
    import atexit
    atexit.register(lambda: open(os.environ["ETOK_TEST_CALL_ENDS"], "w").write(" ".join(map(str, ENDS))))
    def call():
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            pass
        ENDS.append(time.monotonic_ns())
    return call

def raises_in_setup(problem):
    raise ValueError("no kernel for head dim %d" % problem.shape["headDim"])

def raises_later(problem):
    calls = [0]
    def call():
        calls[0] += 1
        if calls[0] > 50:
            raise RuntimeError("call %d failed" % calls[0])
        return np.zeros(problem.output_shape, np.float32)
    return call

def hangs(problem):
    def call():
        time.sleep(3600)
    return call

def segfaults(problem):
    def call():
        ctypes.string_at(0)
    return call

def declines(problem):
    raise etok.Unsupported("this kernel needs bf16")

def wrong_output(problem):
    return lambda: np.zeros(3, np.float32)

def noisy(problem):
    inner = dense(problem)
    def call():
        print("printed in a call")
        return inner()
    return call

etok.register("numpy-dense", dense, description="NumPy attention")
etok.register("spin", spin)
etok.register("raises-in-setup", raises_in_setup)
etok.register("raises-later", raises_later)
etok.register("hangs", hangs)
etok.register("segfaults", segfaults)
etok.register("declines", declines)
etok.register("wrong-output", wrong_output)
etok.register("noisy", noisy)
`;

let file = '';
const profile = { powerW: 180, swingW: 40, swingPeriodMs: 700 };

beforeAll(() => {
  if (skipReason) return;
  file = join(mkdtempSync(join(tmpdir(), 'etok-python-')), 'kernels.py');
  writeFileSync(file, KERNELS);
  configureSim({
    PERIOD_MS: 10,
    POWER_W: profile.powerW,
    SWING_W: profile.swingW,
    SWING_PERIOD_MS: profile.swingPeriodMs,
  });
  process.env.ETOK_NVML_LIBRARY = simNvmlLibrary();
});

const FAST = {
  warmupS: 0.02,
  minTimeS: 0.05,
  maxTimeS: 0.2,
  idleS: 0.05,
  coldSamples: 2,
  minTrials: 3,
  maxTrials: 3,
  energyBudgetS: 3,
};

function plan(name: string | null, timing = FAST, callTimeoutS?: number): NativeMeasurePlan {
  return {
    variant: 'dense',
    phase: 'decode',
    dtype: 'f32',
    device: 'cpu',
    meter: 'nvml:0',
    shape: { batch: 1, heads: 4, kvHeads: 2, headDim: 32, qLen: 1, kvLen: 256 },
    params: {},
    timing,
    ...(name ? { executor: pythonExecutor(file, name, callTimeoutS ? { callTimeoutS } : {}) } : {}),
  };
}

async function group(names: (string | null)[], callTimeoutS?: number): Promise<NativeMeasureResult[]> {
  return measureGroup(names.map((n) => plan(n, FAST, callTimeoutS))).result;
}

describe.skipIf(skipReason !== '')(
  `the Python executor${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('lists what a file registers without running it here', () => {
      const list = listPythonCallables(file);
      expect(list.callables.map((c) => c.name)).toContain('numpy-dense');
      expect(list.callables.find((c) => c.name === 'numpy-dense')).toEqual({
        name: 'numpy-dense',
        reference: 'dense',
        description: 'NumPy attention',
      });
    });

    it('measures a NumPy callable beside etok: windows on counter steps within 2% of the board, quality checked', async () => {
      const [python, own] = await group(['numpy-dense', null]);
      expect(python!.failure).toBeUndefined();
      expect(python!.executor).toMatchObject({ kind: 'python', name: 'numpy-dense', framework: 'numpy' });
      expect(own!.executor.kind).toBe('etok');
      expect(python!.relErrorVsExact).toBeLessThan(1e-5);
      expect(python!.relErrorVsDense).toBeLessThan(1e-5);
      expect(python!.coldSamplesS.length).toBe(2);
      expect(python!.samplesS.length).toBeGreaterThan(10);
      for (const r of [python!, own!]) {
        expect(r.windows.length).toBe(3);
        for (const w of r.windows) {
          expect((w.t1Ns - w.t0Ns) * 1e-9).toBeGreaterThanOrEqual(0.9 * r.windowTargetS);
          const truth = trueJoules(profile, w.t0Ns, w.t1Ns);
          expect(Math.abs(w.joules - truth) / truth).toBeLessThan(0.02);
        }
      }
    });

    it('counts the calls inside a window from the child’s rate: as many as really ended in it', async () => {
      const ends = join(dirname(file), 'call-ends.txt');
      process.env.ETOK_TEST_CALL_ENDS = ends;
      const [spin] = await group(['spin']);
      delete process.env.ETOK_TEST_CALL_ENDS;
      expect(spin!.failure).toBeUndefined();
      const times = readFileSync(ends, 'utf8').split(' ').filter(Boolean).map(Number);
      for (const w of spin!.windows) {
        // The calls that ended inside the window; the rate-based count may differ by the call at each edge.
        const inside = times.filter((t) => t >= w.t0Ns && t <= w.t1Ns).length;
        expect(inside).toBeGreaterThan(10);
        expect(Math.abs(w.calls - inside)).toBeLessThanOrEqual(Math.max(2, 0.02 * inside));
      }
    });

    it('an exception in setup or in a call ends that configuration with its type, message and traceback', async () => {
      const [setup, later, own] = await group(['raises-in-setup', 'raises-later', null]);
      expect(setup!.failure).toMatchObject({
        code: 'EXECUTOR_EXCEPTION',
        message: 'ValueError: no kernel for head dim 32',
      });
      expect(setup!.failure!.detail).toMatch(/Traceback[\s\S]*raises_in_setup/);
      expect(later!.failure?.code).toBe('EXECUTOR_EXCEPTION');
      expect(later!.failure!.message).toMatch(/^RuntimeError: call \d+ failed$/);
      expect(own!.failure).toBeUndefined();
      expect(own!.windows.length).toBe(3);
    });

    it('a call that hangs is stopped at its deadline; one that segfaults is reported with its signal', async () => {
      const started = Date.now();
      const [hang, crash, own] = await group(['hangs', 'segfaults', null], 1);
      expect(hang!.failure?.code).toBe('EXECUTOR_TIMEOUT');
      expect(hang!.failure!.message).toMatch(/did not return within 1 s.*--call-timeout/);
      expect(crash!.failure?.code).toBe('EXECUTOR_CRASHED');
      expect(crash!.failure!.message).toMatch(/killed by SIGSEGV/);
      expect(own!.windows.length).toBe(3);
      expect(Date.now() - started).toBeLessThan(30_000);
    });

    it('a callable that declines the problem is unsupported, not failed; a wrong output size is named', async () => {
      const [declines, wrong] = await group(['declines', 'wrong-output']);
      expect(declines!.failure).toMatchObject({
        code: 'EXECUTOR_UNSUPPORTED',
        message: 'Unsupported: this kernel needs bf16',
      });
      expect(wrong!.failure?.code).toBe('EXECUTOR_EXCEPTION');
      expect(wrong!.failure!.message).toMatch(
        /returned 3 values of shape \(3,\); the output has shape \(1, 4, 1, 32\)/,
      );
    });

    it('a name the file does not register is a failure naming what it does register', async () => {
      const [missing] = await group(['nope']);
      expect(missing!.failure?.code).toBe('EXECUTOR_EXCEPTION');
      expect(missing!.failure!.message).toMatch(
        /registers no callable named 'nope' \(it registers: declines, hangs/,
      );
    });
  },
);
