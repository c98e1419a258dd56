// Builds the addon with cmake-js against the Node-API headers of the node-api-headers package (package.json
// declares napi_versions, so nothing is downloaded). ETOK_ENABLE_CUDA=AUTO|ON|OFF (default AUTO: the CUDA kernels
// are compiled where nvcc is found, for sm_80 and sm_90a; CMAKE_CUDA_ARCHITECTURES overrides the list).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');

// ETOK_BUILD_DIR builds elsewhere (parallel work trees); point ETOK_NATIVE_ADDON at <dir>/Release/etok_native.node.
const buildDir = process.env.ETOK_BUILD_DIR ?? join(packageDir, 'build');
const args = [
  cmakeJs,
  'build',
  '--directory',
  packageDir,
  '--out',
  buildDir,
  '--parallel',
  String(cpus().length),
];
args.push(`--CDETOK_ENABLE_CUDA=${process.env.ETOK_ENABLE_CUDA ?? 'AUTO'}`);
if (process.env.CMAKE_CUDA_ARCHITECTURES)
  args.push(`--CDETOK_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES}`);
if (!process.env.CI && !process.env.ETOK_VERBOSE_BUILD) args.push('--log-level', 'warn');

const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: packageDir });
if (result.status !== 0) {
  console.error(
    'etok: building the native addon failed (see the compiler output above). A C++17 compiler and CMake ≥ 3.24 are needed; set ETOK_ENABLE_CUDA=OFF to skip CUDA.',
  );
  process.exit(result.status ?? 1);
}
