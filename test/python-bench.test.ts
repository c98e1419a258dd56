// `etok bench --python FILE` as a user runs it: the callables a file registers measured beside etok's own kernel in
// one interleaved group, stdout kept for etok's JSON whatever the user's code prints, a failing callable recorded
// with its traceback (exit 1) while the rest is measured, and `--peer torch` saying plainly when PyTorch is absent.
// Skips, saying why, where python3 has no NumPy.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { etok, tempDir } from './helpers/run-etok.js';

const python = process.env.ETOK_PYTHON || 'python3';
const probe = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
const skipReason = probe.error
  ? `${python} is not on PATH`
  : probe.status !== 0
    ? `${python} has no NumPy`
    : '';
const hasTorch = !skipReason && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

const FAST = ['--ctx', '256', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--time-budget', '0.5'];

const FILE = `
import numpy as np
import etok

print("the user's file prints at import")

def dense(problem):
    q, k, v = (problem.inputs[n] for n in ("q", "k", "v"))
    g = q.shape[1] // k.shape[1]
    def call():
        print("and in every call")
        kk, vv = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
        s = np.einsum("bhqd,bhtd->bhqt", q, kk) * problem.params["scale"]
        p = np.exp(s - s.max(-1, keepdims=True))
        return np.einsum("bhqt,bhtd->bhqd", p / p.sum(-1, keepdims=True), vv)
    return call

def broken(problem):
    raise KeyError("no such tile size")

etok.register("numpy-dense", dense, description="NumPy attention")
etok.register("broken", broken)
`;

describe.skipIf(skipReason !== '')(
  `etok bench --python${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('measures the callables beside dense; what they print stays off stdout; a failure keeps its traceback', () => {
      const dir = tempDir('etok-python-bench-');
      const file = join(dir, 'kernels.py');
      writeFileSync(file, FILE);
      const out = join(dir, 'r.json');
      const r = etok(['bench', '--python', file, '--meter', 'model', '--json', '--out', out, ...FAST], {
        cwd: dir,
        timeoutMs: 120_000,
      });
      expect(r.status, r.stderr).toBe(1); // 'broken' failed; the others were measured
      const doc = parseResults(r.stdout, 'stdout'); // stdout is the JSON document and nothing else
      expect(r.stderr).toMatch(/and in every call/);
      expect(doc.measurements.map((m) => [m.variant, m.executor]).sort()).toEqual([
        ['dense', 'etok'],
        ['numpy-dense', 'python'],
      ]);
      const mine = doc.measurements.find((m) => m.variant === 'numpy-dense')!;
      expect(mine.quality.relErrorVsExact).toBeLessThan(1e-5);
      expect(mine.interleaved).toBe(true);
      const failures = (
        doc as unknown as { failures: { id: string; code: string; message: string; detail?: string }[] }
      ).failures;
      expect(failures).toHaveLength(1);
      expect(failures[0]!.id).toMatch(/^broken\//);
      expect(failures[0]!.message).toBe("KeyError: 'no such tile size'");
      expect(failures[0]!.detail).toMatch(/Traceback[\s\S]*in broken/);
      expect(JSON.parse(readFileSync(out, 'utf8')).measurements).toHaveLength(2);
    });

    it('--variants picks among the registered names; a file that raises on import is one line, exit 2', () => {
      const dir = tempDir('etok-python-bench-');
      const file = join(dir, 'kernels.py');
      writeFileSync(file, FILE);
      const r = etok(['bench', '--python', file, '--variants', 'numpy-dense', '--meter', 'model', ...FAST], {
        cwd: dir,
        timeoutMs: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/numpy-dense/);
      const bad = join(dir, 'bad.py');
      writeFileSync(bad, 'import etok\nraise ImportError("triton is not installed")\n');
      const e = etok(['bench', '--python', bad, '--meter', 'model', ...FAST], { cwd: dir });
      expect(e.status).toBe(2);
      expect(e.stderr.trim().split('\n')).toHaveLength(1);
      expect(e.stderr).toMatch(/bad\.py raised ImportError: triton is not installed/);
    });

    it.skipIf(hasTorch)('--peer torch without PyTorch says so in one line and exits 2', () => {
      const r = etok(['bench', '--peer', 'torch', '--meter', 'model', ...FAST]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /--peer torch: PyTorch is not importable .*No module named 'torch'.*install torch or set ETOK_PYTHON/,
      );
    });
  },
);
