// Reading a results file named on the command line: a missing or unreadable file is bad usage (exit 2), a file
// that fails the schema names the field (parseResults), both in one line.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EtokError, parseResults, type Results } from '@etok/core';

export function readResultsFile(path: string, cwd: string): Results {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory, not a file'
          : code === 'ELOOP'
            ? 'a loop of symbolic links'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : (error as Error).message;
    throw new EtokError('BAD_USAGE', `cannot read results file ${path}: ${why}`);
  }
  return parseResults(text, path);
}
