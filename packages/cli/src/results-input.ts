// Reading a results file named on the command line: a missing, unreadable or irregular file (a device, a FIFO) or
// one too large is bad usage (exit 2, files/input-file.ts), a file that fails the schema names the field
// (parseResults), both in one line.
import { parseResults, type Results } from '@etok/core';
import { readRegularFile } from './files/input-file.js';

export function readResultsFile(path: string, cwd: string): Results {
  return parseResults(readRegularFile(path, cwd, 'results file').toString('utf8'), path);
}
