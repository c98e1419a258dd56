// The lane-level numpy emulations of the CUDA kernels (test/cuda/emulate_*.py) as part of the suite: they check
// the kernels' index logic (fragments, tiles, splits, merges, the NSA rule; for the stream decode also the
// bit-level conversions of stored KV values and that its swizzled shared-memory reads are free of bank conflicts;
// for the Hopper kernels the wgmma descriptors, the 128-byte swizzle, the bulk copies and the mbarrier protocol) on
// machines without a GPU, so a change to that logic that is not mirrored, or is wrong, fails here and not first on
// a GPU. They need python3 with numpy; where either is missing the test is skipped and says so.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

function numpyMissing(): string | null {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'python3 with numpy is not available';
  }
}

const missing = numpyMissing();

describe.skipIf(missing !== null)(`CUDA kernel emulations${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const script of ['emulate_mma.py', 'emulate_simt.py', 'emulate_stream.py', 'emulate_hopper.py']) {
    it(`${script} matches the float64 reference in every case`, () => {
      const r = spawnSync('python3', [join(here, 'cuda', script)], { encoding: 'utf8', timeout: 120_000 });
      const failed = r.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
      expect(failed).toEqual([]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ok /m);
    }, 150_000);
  }
});
