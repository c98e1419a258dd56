// Runs the profiled program once, unchanged, with etok's injection library in its environment. Its output is its
// own (under --json its stdout goes to etok's stderr, so etok's stdout stays JSON). Ctrl-C reaches the program as
// it would without etok; a file in the pass folder also tells a replay in progress to stop between calls. A second
// Ctrl-C kills the program.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandIo } from '../io.js';

export interface PassExit {
  code: number | null;
  signal: string | null;
  spawnError?: string;
  interrupted: boolean;
  startNs: number;
  endNs: number;
}

export function runPass(
  command: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  json: boolean,
  io: CommandIo,
): Promise<PassExit> {
  return new Promise((resolve) => {
    const startNs = Number(process.hrtime.bigint());
    let interrupted = false;
    const child = spawn(command[0]!, command.slice(1), {
      env,
      stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'],
    });
    if (json) child.stdout?.pipe(io.stderr, { end: false });
    const removeHandler = io.onInterrupt(() => {
      if (interrupted) {
        child.kill('SIGKILL');
        return;
      }
      interrupted = true;
      try {
        writeFileSync(join(dir, 'cancel'), '');
      } catch {
        // the folder is gone: nothing to stop
      }
      child.kill('SIGINT');
    });
    const done = (code: number | null, signal: string | null, spawnError?: string) => {
      removeHandler();
      resolve({
        code,
        signal,
        interrupted,
        startNs,
        endNs: Number(process.hrtime.bigint()),
        ...(spawnError ? { spawnError } : {}),
      });
    };
    child.on('error', (error) => done(null, null, error.message));
    child.on('close', (code, signal) => done(code, signal));
  });
}
