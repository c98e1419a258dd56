// The CUDA backend's path, variant and split rules (packages/kernels/src/cuda/dispatch_policy.cpp) are plain C++
// built into every addon build, the CPU-only one too, with their test program etok-dispatch-policy-test beside
// the kernels library (packages/kernels/test/cuda/dispatch_policy_test.cpp). This runs it: every expectation
// must hold, and the program must report how many it checked.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The program built with the addon the tests load (ETOK_NATIVE_ADDON's build folder, else build/). */
function policyTest(): string {
  const addon = process.env.ETOK_NATIVE_ADDON ?? join(packageDir, 'build', 'Release', 'etok_native.node');
  const tried = [join(dirname(dirname(addon)), 'kernels', 'etok-dispatch-policy-test')];
  const found = tried.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `etok-dispatch-policy-test is missing (looked at ${tried.join(', ')}); it is built with the addon: run 'npm run build -w @etok/native'`,
    );
  return found;
}

describe('CUDA dispatch policy (plain C++, every build)', () => {
  it('chooses paths, variants and split counts as specified', () => {
    const r = spawnSync(policyTest(), [], { encoding: 'utf8', timeout: 30_000 });
    const failed = r.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
    expect(failed).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok \d+ checks, 0 failed$/m);
  });
});
