// Results reach disk after every measurement, atomically (files/output-file.ts), so a crash or Ctrl-C leaves the last
// complete document, never half a JSON.
import { writeFileAtomic } from '../files/output-file.js';

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 'results file');
}
