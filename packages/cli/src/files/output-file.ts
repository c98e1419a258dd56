// Writing a file etok produces (results, reports): never over one of the command's own inputs, never a device or a
// FIFO replaced by a regular file, through a symbolic link to the file it names (the link stays), and whole or not
// at all (a temporary file beside the target, then a rename; a failed write, e.g. a full disk, leaves nothing
// behind). Each refusal is one line naming the path and what to do.
import { realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EtokError } from '@etok/core';
import { kindOf } from './input-file.js';

function why(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOENT') return 'no such directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'ELOOP') return 'a loop of symbolic links';
  return (error as Error).message;
}

/** The file an existing path finally names (through links), or the path itself when nothing is there yet. */
function target(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Checks an output path before anything is measured or written: refused when it is one of `inputs` (the same file,
 * by any name) or when something other than a regular file (or a link to one) is there. Returns the absolute path.
 */
export function checkOutputPath(
  path: string,
  cwd: string,
  flag: string,
  inputs: readonly string[] = [],
): string {
  const full = resolve(cwd, path);
  for (const input of inputs)
    if (sameFile(full, resolve(cwd, input)))
      throw new EtokError(
        'BAD_USAGE',
        `${flag} ${path} is also an input of this command (${input}); write elsewhere`,
      );
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(full); // through links: what a write would reach
  } catch {
    st = undefined;
  }
  if (st && !st.isFile())
    throw new EtokError(
      'BAD_USAGE',
      `${flag} ${path} is ${kindOf(st)}; etok writes ${flag === '--out' ? 'its output' : 'files'} to a regular file: give a file path`,
    );
  return full;
}

/** Writes `text` to `path` atomically; a link is written through (its target replaced, the link kept). */
export function writeFileAtomic(path: string, text: string, what: string): void {
  const real = target(path);
  const tmp = join(dirname(real), `.${basename(real)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, real);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new EtokError('BAD_USAGE', `cannot write ${what} ${path}: ${why(error)}`);
  }
}
