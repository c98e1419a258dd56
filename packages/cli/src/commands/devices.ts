// `etok devices`: the build (CUDA compiled or not), every compute device, and every meter with its availability.
import { EtokError } from '@etok/core';
import { capabilities, cpuKernelIsa, listDevices, listMeters } from '@etok/native';
import type { CommandIo } from '../io.js';
import { type CommandSpec, flag, type ParsedArgs } from '../options.js';
import { renderTable } from '../output/table.js';

export const spec: CommandSpec = {
  name: 'devices',
  summary: 'compute devices, meters and what this build compiled in',
  usage: 'etok devices [--json]',
  options: [],
};

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length > 0)
    throw new EtokError(
      'BAD_USAGE',
      `etok devices takes no positional arguments (got '${args.positionals[0]}')`,
    );
  const caps = capabilities();
  const devices = listDevices();
  const meters = listMeters();
  const build = {
    cuda: caps.cuda,
    ...(caps.cuda
      ? { cudaVersion: caps.cudaVersion, cudaArchitectures: caps.cudaArchitectures.split(';') }
      : {}),
    ...(caps.cuda ? {} : { reason: caps.cudaReason }),
    profile: caps.profile,
    ...(caps.profile ? {} : { profileReason: caps.profileReason }),
  };
  const cudaRuntime = devices.some((d) => d.kind === 'cuda') ? undefined : caps.cudaRuntimeReason;
  // The vector path the CPU kernels run (the CPU may support more: simd), or why ETOK_CPU_ISA cannot be honoured.
  let cpuKernels: string;
  try {
    cpuKernels = cpuKernelIsa();
  } catch (error) {
    cpuKernels = `none: ${(error as Error).message}`;
  }
  if (flag(args, 'json')) {
    const json = {
      build,
      cpuKernels,
      devices,
      meters,
      ...(cudaRuntime ? { cudaUnavailable: cudaRuntime } : {}),
    };
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(
    caps.cuda
      ? `build: CUDA ${caps.cudaVersion} kernels for ${caps.cudaArchitectures.replaceAll(';', ', ')}`
      : `build: CPU only (${caps.cudaReason})`,
  );
  out.push(
    `profile: ${caps.profile ? 'etok profile can trace and replay CUDA programs' : `no (${caps.profileReason})`}`,
  );
  if (cudaRuntime) out.push(`cuda: ${cudaRuntime}`);
  out.push('');
  out.push(
    renderTable(
      [{ header: 'device' }, { header: 'name' }, { header: 'details' }],
      devices.map((d) =>
        d.kind === 'cpu'
          ? [d.id, d.name, `${d.cores} logical cores, ${d.simd}; kernels ${cpuKernels}`]
          : [
              d.id,
              d.name,
              `${d.multiprocessors} SMs, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, sm_${d.computeCapability.replace('.', '')}`,
            ],
      ),
    ),
  );
  out.push(
    renderTable(
      [{ header: 'meter' }, { header: 'kind' }, { header: 'available' }, { header: 'note' }],
      meters.map((m) => [
        m.id,
        m.kind === 'model' ? 'model (MODELED energy)' : `${m.kind} (measured)`,
        m.available ? 'yes' : 'no',
        m.reason ?? '',
      ]),
    ),
  );
  io.stdout.write(`${out.join('\n')}`);
  return 0;
}
