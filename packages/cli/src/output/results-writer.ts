// Results reach disk after every measurement, atomically (write a temporary file, then rename), so a crash or
// Ctrl-C leaves the last complete document, never half a JSON. A path that cannot be written (a directory, a
// missing folder, no permission, a full disk) is one line naming the file, not a stack trace; the temporary file
// is removed so nothing half-written is left beside the target.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EtokError } from '@etok/core';

function why(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOENT') return 'no such directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'ELOOP') return 'a loop of symbolic links';
  return (error as Error).message;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new EtokError('BAD_USAGE', `cannot write results file ${path}: ${why(error)}`);
  }
}
