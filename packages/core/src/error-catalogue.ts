// Every error code etok gives, once: what it ends and what to do. The CLI's exit statuses and `etok bench`'s
// failure policy read this table, so a new code is decided here or nowhere.
//
//   exit   the status when the error ends a command: 2 for what the user gave or this machine cannot do (bad
//          usage), 1 for a measurement that failed
//   scope  in a sweep: `configuration` fails that configuration and the sweep goes on; `run` ends the run (the
//          meter or the device can no longer be trusted, or nothing can be measured)

export type ErrorScope = 'configuration' | 'run';

export interface ErrorEntry {
  exit: 1 | 2;
  scope: ErrorScope;
  /** What to do about it, in one line. */
  hint: string;
}

const usage = (hint: string): ErrorEntry => ({ exit: 2, scope: 'run', hint });
const configuration = (hint: string, exit: 1 | 2 = 1): ErrorEntry => ({ exit, scope: 'configuration', hint });
const fatal = (hint: string): ErrorEntry => ({ exit: 1, scope: 'run', hint });

export const ERROR_CATALOGUE = {
  // What the user gave
  BAD_USAGE: usage('fix the value the message names; every command has --help'),
  BAD_VARIANT: usage('a lever set is dense or mla, sparse and at most one kv-* joined by +'),
  BAD_SHAPE: configuration('the backend cannot run this shape: change the field the message names', 2),
  BAD_RESULTS: usage(
    'the file is not an etok.results/v1 document a reader accepts: the message names the field',
  ),
  TOO_LARGE: usage('lower --batch or --ctx'),
  UNKNOWN_DEVICE: usage('etok devices lists what is here'),
  UNKNOWN_METER: usage('etok devices lists the meters and why one is unavailable'),
  PYTHON_FILE: usage('the Python file raised while it was imported: fix it (the message has the exception)'),
  PYTHON_NOT_FOUND: usage('install Python 3 or set ETOK_PYTHON to an interpreter'),
  ORT_PROVIDER_UNAVAILABLE: usage("ONNX Runtime's CUDA provider is not installed: use --device cpu"),
  // Meters and devices that are not here
  NVML_UNAVAILABLE: usage('no NVIDIA driver here: --meter model, or rapl for the CPU'),
  RAPL_UNAVAILABLE: usage('no readable RAPL counters here: --meter model'),
  RAPL_PERMISSION: usage('the powercap files need read access (run as root, or chmod a+r …/energy_uj)'),
  CUDA_NOT_COMPILED: configuration(
    'this build has no CUDA kernels: build where nvcc is (ETOK_ENABLE_CUDA=ON)',
    2,
  ),
  CUDA_NO_DEVICE: usage('no CUDA device here: --device cpu'),
  CUPTI_UNAVAILABLE: usage(
    'etok profile needs CUPTI from the CUDA toolkit: install it or set its library path',
  ),
  ADDON_NOT_BUILT: usage('the native addon is missing: run npm install (it builds it)'),
  // One configuration fails; the sweep goes on
  KERNEL_CRASHED: configuration(
    'the kernel crashed its measuring process; --stop-on-crash stops the sweep there',
  ),
  KERNEL_HUNG: configuration(
    'a call did not return in time: raise --call-timeout for a kernel that is this slow',
  ),
  CALL_TOO_SLOW: configuration('one call outlasts the timing limit: lower --ctx, --batch or --q-len'),
  CUDA_ERROR: configuration('the CUDA runtime failed a call: the message names it'),
  CUDA_DRIVER_ERROR: configuration(
    'the CUDA driver failed a call while replaying a kernel: the message names it',
  ),
  REPLAY_FAILED: configuration(
    'the kernel could not be replayed: its time-share estimate stands, labelled as such',
  ),
  OUT_OF_MEMORY: configuration('lower --batch or --ctx'),
  PLUGIN_SETUP: configuration("the plugin's setup failed: its message says why"),
  PLUGIN_RUN: configuration("the plugin's run failed: its message says why"),
  PLUGIN_OUTPUT: configuration(
    "the plugin's output could not be read: implement output() or drop the reference",
  ),
  PLUGIN_DEVICE: configuration('the plugin does not run on this device'),
  PLUGIN_LOAD: usage('the library cannot be loaded: check its path and its dependencies (ldd)'),
  PLUGIN_NO_DESCRIPTOR: usage('the library does not export etok_plugin_descriptor'),
  PLUGIN_ABI: usage('rebuild the plugin against this etok (include/etok/plugin.h)'),
  PLUGIN_BAD_DESCRIPTOR: usage("fix the plugin's descriptor: the message names the field"),
  PLUGIN_COST: usage("the plugin's cost() failed or gave impossible figures"),
  PLUGIN_CRASHED: usage('the plugin crashed while loading: its descriptor or a constructor failed'),
  EXECUTOR_EXCEPTION: configuration(
    'the Python or ONNX Runtime code raised: the results file keeps the traceback',
  ),
  EXECUTOR_TIMEOUT: configuration('a call did not return in time: raise --call-timeout'),
  EXECUTOR_CRASHED: configuration(
    'the executor process died (a crash in an extension, an out-of-memory kill)',
  ),
  EXECUTOR_PROTOCOL: configuration('the executor spoke something else than the protocol: report it'),
  EXECUTOR_OUTPUT: configuration('the output has the wrong number of values for the problem'),
  EXECUTOR_UNSUPPORTED: configuration(
    'the implementation declined the problem (listed as skipped, not failed)',
  ),
  EXECUTOR_START: fatal('the executor could not be started: the message names the program'),
  // The run ends
  METER_STALLED: fatal('the energy counter stopped stepping: is the device powered, the machine overloaded?'),
  NVML_COUNTER_BACKWARDS: fatal('the board reset its energy counter: measure again'),
  NVML_GPU_LOST: fatal('the GPU fell off the bus: check the board, then measure again'),
  NVML_ZERO_POWER: fatal('the board reported 0 W, which a powered board never draws: check the driver'),
  RAPL_COUNTER_BACKWARDS: fatal('the package counter went backwards: measure again'),
  RAPL_READ: fatal('a RAPL counter could not be read: check the powercap files'),
  METER_CLOSED: fatal('the meter was closed while measuring: report it'),
  MEASUREMENT_FAILED: fatal('the measurement failed: the message says how'),
  CANCELLED: fatal('stopped by Ctrl-C: what was measured is kept'),
  INTERNAL: fatal('an error etok did not expect: report it with the command you ran'),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The entry of a code; NVML_* and RAPL_* codes not listed (the driver's own return codes) end the run. */
export function errorEntry(code: string): ErrorEntry | undefined {
  const known = (ERROR_CATALOGUE as Record<string, ErrorEntry>)[code];
  if (known) return known;
  if (code.startsWith('NVML_'))
    return fatal('the NVIDIA driver returned this error: the message names the call');
  if (code.startsWith('RAPL_')) return fatal('the powercap interface failed: the message names the file');
  if (code.startsWith('CUPTI_')) return fatal('CUPTI failed: the message names the call');
  return undefined;
}

/** The exit status an error ends a command with: 2 for bad usage, 1 for anything else. */
export function exitStatusOf(error: unknown): 1 | 2 {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? (errorEntry(code)?.exit ?? 1) : 1;
}

/** Whether an error fails one configuration of a sweep (and the sweep goes on). */
export function failsOneConfiguration(code: string): boolean {
  return errorEntry(code)?.scope === 'configuration';
}
