// Python callables as executors (docs/spec.md §7): which interpreter runs them, what a file registers, and the child
// executor that runs one registered callable under the engine (python/etok/_executor.py speaks the protocol).
// No framework is imported here or by the executor unless the user's file imports it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeChildExecutor } from './binding.js';

/** The interpreter: ETOK_PYTHON, else python3 on PATH. */
export function pythonInterpreter(): string {
  return process.env.ETOK_PYTHON || 'python3';
}

/** The folder holding etok's Python module (`etok`) and the peer files shipped with it. */
export function pythonPackageDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'python');
}

/** A shipped Python file of peers, e.g. `torch_attention` (python/etok/peers/). */
export function peerFile(name: string): string {
  return join(pythonPackageDir(), 'etok', 'peers', `${name}.py`);
}

function pythonEnv(): Record<string, string> {
  const existing = process.env.PYTHONPATH;
  return {
    PYTHONPATH: existing ? `${pythonPackageDir()}${delimiter}${existing}` : pythonPackageDir(),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

export interface PythonCallable {
  name: string;
  /** The lever set it computes (its inputs' layout, its reference). */
  reference: string;
  description: string;
}

export interface PythonListing {
  file: string;
  python: string;
  callables: PythonCallable[];
  /** Reasons a lever set has no implementation in this file (peer files state them). */
  noPeerReasons: Record<string, string>;
}

/** A failure to read a Python file, with a stable code and one line (the exception's type and message). */
export class PythonFileError extends Error {
  constructor(
    readonly code: 'PYTHON_NOT_FOUND' | 'PYTHON_FILE',
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Imports `file` in a child interpreter and returns what it registers (nothing of it runs here). */
export function listPythonCallables(file: string, timeoutS = 120): PythonListing {
  const path = resolve(file);
  const dir = mkdtempSync(join(tmpdir(), 'etok-python-list-'));
  const out = join(dir, 'list.json');
  try {
    const python = pythonInterpreter();
    const r = spawnSync(python, ['-m', 'etok._executor', '--list', path, '--out', out], {
      env: { ...process.env, ...pythonEnv() },
      // What the file prints while it is imported is its own business: kept off etok's stdout.
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutS * 1000,
      maxBuffer: 16 << 20,
    });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        throw new PythonFileError(
          'PYTHON_NOT_FOUND',
          `cannot run '${python}' (not found); install Python 3 or set ETOK_PYTHON to an interpreter`,
        );
      throw new PythonFileError('PYTHON_FILE', `importing ${path} failed: ${r.error.message}`);
    }
    let parsed: {
      callables?: PythonCallable[];
      python?: string;
      noPeerReasons?: Record<string, string>;
      error?: { type: string; message: string; traceback: string };
    };
    try {
      parsed = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      const stderr = String(r.stderr ?? '')
        .trim()
        .split('\n')
        .pop();
      throw new PythonFileError(
        'PYTHON_FILE',
        `${python} could not import etok's executor to read ${path} (${stderr || `exit ${r.status}`})`,
      );
    }
    if (parsed.error) {
      const first = `${parsed.error.type}: ${parsed.error.message}`.split('\n')[0]!;
      throw new PythonFileError('PYTHON_FILE', `importing ${path} raised ${first}`, parsed.error.traceback);
    }
    return {
      file: path,
      python: parsed.python ?? '',
      callables: parsed.callables ?? [],
      noPeerReasons: parsed.noPeerReasons ?? {},
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ExecutorTimeouts {
  /** Seconds one call (or the end of a run) may take before the child is stopped. */
  callTimeoutS?: number;
  /** Seconds the setup (imports, compilation) may take. */
  setupTimeoutS?: number;
}

/** The child executor that runs callable `name` of `file` for one configuration. */
export function pythonExecutor(
  file: string,
  name: string,
  timeouts: ExecutorTimeouts = {},
): NativeChildExecutor {
  return {
    kind: 'python',
    command: [pythonInterpreter(), '-m', 'etok._executor'],
    env: pythonEnv(),
    payloadJson: JSON.stringify({ file: resolve(file), name }),
    ...timeouts,
  };
}
