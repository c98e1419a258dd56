// Runs the built `etok` binary as a user would (node + bin/etok.mjs), in a directory of the test's choosing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const etokBin = join(repoRoot, 'packages', 'cli', 'bin', 'etok.mjs');

export interface EtokRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function etok(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): EtokRun {
  const r = spawnSync(process.execPath, [etokBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 110_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts etok without waiting, for tests that signal it mid-run. */
export function etokAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawn(process.execPath, [etokBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function tempDir(prefix = 'etok-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
