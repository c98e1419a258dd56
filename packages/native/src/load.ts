// Loads the compiled addon once. On failure, one error that lists where it looked and what to do.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './binding.js';

const require = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

export class AddonLoadError extends Error {
  readonly code = 'ADDON_NOT_BUILT';
}

/** Both src/ (source-first in tests) and dist/ sit one level below the package root. */
function candidates(): string[] {
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const fromEnv = process.env.ETOK_NATIVE_ADDON;
  return [...(fromEnv ? [fromEnv] : []), join(packageDir, 'build', 'Release', 'etok_native.node')];
}

export function loadBinding(): NativeBinding {
  if (cached) return cached;
  const tried: string[] = [];
  for (const path of candidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      cached = require(path) as NativeBinding;
      return cached;
    } catch (error) {
      tried.push(`${path} (${(error as Error).message})`);
    }
  }
  throw new AddonLoadError(
    `etok's native addon could not be loaded; tried ${tried.join('; ')}. Build it with 'npm run build -w @etok/native' (needs CMake ≥ 3.24 and a C++17 compiler).`,
  );
}
