// Reports reach disk whole or not at all (files/output-file.ts).
import { resolve } from 'node:path';
import { writeFileAtomic } from '../files/output-file.js';

export function writeTextAtomic(path: string, cwd: string, text: string): void {
  writeFileAtomic(resolve(cwd, path), text, 'report');
}
