// Who produced a results file: etok's version and commit, the host, and the exact command line.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The git commit etok runs from, when it runs from a checkout; `unknown` otherwise (an installed package). */
export function toolCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export function hostInfo(): Record<string, unknown> {
  return { hostname: hostname(), kernel: release(), node: process.version, memoryBytes: totalmem() };
}
