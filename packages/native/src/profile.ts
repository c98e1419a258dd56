// What `etok profile` needs of this build and machine, asked before a program is run: the injection library (built
// next to the addon where CUDA and CUPTI headers exist), the CUDA driver and CUPTI (loaded at run time).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeLibraryProbe } from './binding.js';
import { loadBinding } from './load.js';

export const PROFILE_INJECTION_FILE = 'libetok_profile_inject.so';

/** The injection library: ETOK_PROFILE_INJECTION when set, else the file beside the addon this process loads. */
export function profileInjectionLibrary(): NativeLibraryProbe {
  const forced = process.env.ETOK_PROFILE_INJECTION;
  const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const addon = process.env.ETOK_NATIVE_ADDON ?? join(packageDir, 'build', 'Release', 'etok_native.node');
  const tried = forced ? [forced] : [join(dirname(addon), PROFILE_INJECTION_FILE)];
  const found = tried.find((p) => existsSync(p));
  return found
    ? { ok: true, path: found, reason: '' }
    : {
        ok: false,
        path: '',
        reason: `the profiler's injection library is missing (looked at ${tried.join(', ')}); rebuild etok where nvcc and CUPTI's headers exist`,
      };
}

/** Loads the CUDA driver (cuInit and a device count: ETOK_CUDA_LIBRARY names a stand-in) and CUPTI
    (ETOK_CUPTI_LIBRARY, else the toolkit's, else the loader's path), as the injection library will. */
export function probeProfileLibraries(): { cudaDriver: NativeLibraryProbe; cupti: NativeLibraryProbe } {
  return loadBinding().profileSupport();
}
