// Reports reach disk whole or not at all: write a temporary file beside the target, then rename it.
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EtokError } from '@etok/core';

export function writeTextAtomic(path: string, cwd: string, text: string): void {
  const target = resolve(cwd, path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, target);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new EtokError(
      'BAD_USAGE',
      `cannot write ${path}: ${code === 'ENOENT' ? 'no such directory' : (error as Error).message}`,
    );
  }
}
