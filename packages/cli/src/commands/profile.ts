// `etok profile -- CMD ARGS…`: joules per kernel in an unmodified CUDA program (docs/spec.md §8). Two runs of the program
// with etok's injection library loaded by the CUDA driver (docs/profile.md):
//   1. trace   every kernel's calls and GPU time (CUPTI), and the program's energy on the board between two meter
//              steps around it, beside the idle power measured before it;
//   2. replay  the program again; at the middle launch of each of the top kernels it is paused, its device memory
//              saved, the kernel relaunched back to back under the engine's rules, the memory restored.
// The table joins them: J/call from replay (measured) or a time-share estimate (labelled), J in the program, and
// the closure against the program's measured energy. This file runs the passes and prints; core builds the report.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildProfile,
  chooseTargets,
  closureLine,
  EtokError,
  energyLine,
  type KernelTrace,
  kernelCells,
  mergeTraces,
  PROFILE_HEADERS,
  type ProfileDocument,
  type ProfilePass,
  type ReplayEvent,
  reasonLines,
  targetsText,
  timeShareLine,
  unionSeconds,
} from '@etok/core';
import {
  capabilities,
  type NativeMeterHandle,
  openMeter,
  probeProfileLibraries,
  profileInjectionLibrary,
} from '@etok/native';
import { EXIT_INTERRUPTED, EXIT_MEASUREMENT_FAILED, EXIT_OK } from '../exit-codes.js';
import type { CommandIo } from '../io.js';
import {
  type CommandSpec,
  flag,
  type ParsedArgs,
  parseNumber,
  parsePositiveInt,
  stringOption,
} from '../options.js';
import { renderTable } from '../output/table.js';
import { writeTextAtomic } from '../output/text-writer.js';
import { readPass } from '../profile/read-pass.js';
import { type PassExit, runPass } from '../profile/run-pass.js';
import { toolVersion } from '../provenance.js';

export const spec: CommandSpec = {
  name: 'profile',
  summary:
    'joules per kernel in an unmodified CUDA program (a trace, then the top kernels replayed in place)',
  usage: 'etok profile [--meter nvml:N] [--top K] [--out FILE] [--json] -- CMD [ARGS…]',
  options: [
    {
      name: 'meter',
      type: 'string',
      value: 'nvml:N',
      default: 'nvml:0',
      description: 'the GPU board to meter',
    },
    {
      name: 'top',
      type: 'string',
      value: 'K',
      default: '10',
      description: 'replay the K replayable kernels (name + launch configuration) with the most GPU time',
    },
    { name: 'out', type: 'string', value: 'FILE', description: 'write the etok.profile/v1 document to FILE' },
    {
      name: 'budget',
      type: 'string',
      value: 'S',
      default: '8',
      description: 'energy-measurement time per replayed kernel, seconds (the engine’s energy budget)',
    },
    {
      name: 'memory-limit',
      type: 'string',
      value: 'BYTES',
      default: '16G',
      description:
        'the most device memory a replay saves and restores (K, M, G, T: binary); above it, no replay',
    },
    {
      name: 'idle',
      type: 'string',
      value: 'S',
      default: '1',
      description: 'seconds of idle power measured before the program',
    },
    {
      name: 'trace-only',
      type: 'boolean',
      description: 'run the trace pass only (every J/call a time-share estimate)',
    },
  ],
  details: [
    "Everything after '--' is the program, run without a shell, twice: a trace, then a replay pass. Its output is",
    'its own (under --json it goes to stderr). A kernel launched only inside CUDA graphs, or whose replay fails, gets',
    'a time-share estimate, labelled as such, with the reason. See docs/profile.md for the method and its limits.',
    '',
    'example: etok profile --meter nvml:0 --top 5 --out p.json -- python3 forward.py',
  ].join('\n'),
};

interface Settings {
  meterId: string;
  top: number;
  budgetS: number;
  memoryLimitBytes: number;
  idleS: number;
  traceOnly: boolean;
  json: boolean;
  out: string | undefined;
}

/** "16G", "512M", "1.5GiB", "1073741824": bytes, with binary multiples. */
export function parseBytes(name: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  const scale: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  if (!m)
    throw new EtokError('BAD_USAGE', `--${name} '${text}' is not valid; expected bytes, e.g. 16G or 512M`);
  const bytes = Number(m[1]) * scale[m[2]!.toUpperCase()]!;
  if (!(bytes > 0))
    throw new EtokError('BAD_USAGE', `--${name} '${text}' is not valid; expected more than 0 bytes`);
  return Math.floor(bytes);
}

function settingsOf(args: ParsedArgs): Settings {
  const meterId = stringOption(args, 'meter') ?? 'nvml:0';
  if (!/^nvml:\d+$/.test(meterId))
    throw new EtokError(
      'BAD_USAGE',
      `--meter '${meterId}' is not valid; etok profile meters a GPU board: nvml:N`,
    );
  return {
    meterId,
    top: parsePositiveInt('top', stringOption(args, 'top') ?? '10'),
    budgetS: parseNumber(
      'budget',
      stringOption(args, 'budget') ?? '8',
      (x) => x > 0 && x <= 600,
      'seconds in (0, 600]',
    ),
    memoryLimitBytes: parseBytes('memory-limit', stringOption(args, 'memory-limit') ?? '16G'),
    idleS: parseNumber(
      'idle',
      stringOption(args, 'idle') ?? '1',
      (x) => x >= 0 && x <= 60,
      'seconds in 0..60',
    ),
    traceOnly: flag(args, 'trace-only'),
    json: flag(args, 'json'),
    out: stringOption(args, 'out'),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors the injection library reports that mean nothing could be traced (the driver or CUPTI unusable). */
const FATAL_PASS_ERRORS = new Set(['CUDA_DRIVER', 'CUPTI_UNAVAILABLE', 'CUPTI_SUBSCRIBE', 'CUPTI_ACTIVITY']);

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const command = args.positionals;
  const settings = settingsOf(args);
  if (command.length === 0)
    throw new EtokError(
      'BAD_USAGE',
      "etok profile needs a program after '--', e.g. etok profile -- ./my_app",
    );
  const caps = capabilities();
  if (!caps.profile)
    throw new EtokError('BAD_USAGE', `this build has no CUDA profiling support (${caps.profileReason})`);
  const injection = profileInjectionLibrary();
  if (!injection.ok) throw new EtokError('MEASUREMENT_FAILED', injection.reason);
  const libraries = probeProfileLibraries();
  if (!libraries.cudaDriver.ok) throw new EtokError('MEASUREMENT_FAILED', libraries.cudaDriver.reason);
  if (!libraries.cupti.ok) throw new EtokError('MEASUREMENT_FAILED', libraries.cupti.reason);

  const meter = openMeter(settings.meterId, `cuda:${settings.meterId.slice(5)}`);
  const work = mkdtempSync(join(tmpdir(), 'etok-profile-'));
  try {
    return await profile(command, settings, meter, injection.path, libraries.cupti.path, work, io);
  } finally {
    meter.close();
    rmSync(work, { recursive: true, force: true });
  }
}

async function profile(
  command: string[],
  settings: Settings,
  meter: NativeMeterHandle,
  injectionPath: string,
  cuptiPath: string,
  work: string,
  io: CommandIo,
): Promise<number> {
  const say = (line: string) => {
    if (!settings.json) io.stderr.write(`etok: ${line}\n`);
  };
  const description = meter.describe();
  const device = meter.status() as unknown as Record<string, unknown>;
  const boardUuid = typeof device.uuid === 'string' && device.uuid !== '' ? device.uuid : null;

  let idleW = 0;
  if (settings.idleS > 0) {
    say(`idle power over ${settings.idleS} s`);
    const a = meter.readAtUpdate();
    await sleep(settings.idleS * 1000);
    const b = meter.readAtUpdate();
    idleW = (b.joules - a.joules) / ((b.tNs - a.tNs) * 1e-9);
  }

  const baseEnv = {
    ...process.env,
    CUDA_INJECTION64_PATH: injectionPath,
    ETOK_CUPTI_LIBRARY: cuptiPath,
  };
  // Pass 1: the trace, and the program's energy between two counter steps around it.
  const traceDir = join(work, 'trace');
  mkdirSync(traceDir); // a folder per pass: the injection library names its files by process id only
  say(`pass 1 of 2: tracing ${command.join(' ')}`);
  const e0 = meter.readAtUpdate();
  const traceExit = await runPass(
    command,
    { ...baseEnv, ETOK_PROFILE_DIR: traceDir, ETOK_PROFILE_MODE: 'trace' },
    traceDir,
    settings.json,
    io,
  );
  const e1 = traceExit.interrupted ? meter.read() : meter.readAtUpdate();
  if (traceExit.spawnError)
    throw new EtokError('BAD_USAGE', `cannot run '${command[0]}': ${traceExit.spawnError}`);
  const programJoules = e1.joules - e0.joules;
  const programSeconds = (e1.tNs - e0.tNs) * 1e-9;

  const trace = readPass(traceDir, true);
  const merged = mergeTraces(trace.summaries, boardUuid);
  const busySeconds = trace.intervals.length > 0 ? unionSeconds(trace.intervals, e0.tNs, e1.tNs) : null;
  const notes: string[] = [];
  const passes: ProfilePass[] = [passOf('trace', traceExit)];
  const fatal = trace.errors.find((e) => FATAL_PASS_ERRORS.has(e.code));
  for (const e of trace.errors)
    if (e !== fatal) notes.push(`trace pass, process ${e.pid}: ${e.code}: ${e.message}`);
  if (trace.processes === 0)
    notes.push('the program made no CUDA calls (the driver never loaded the profiler): no kernels');
  if (merged.droppedRecords > 0)
    notes.push(`CUPTI dropped ${merged.droppedRecords} kernel records: the trace is short of them`);
  if (merged.intervalsTruncated)
    notes.push('the busy time counts the first kernels only (too many kernel intervals to keep)');
  if (merged.otherDevices.kernels > 0)
    notes.push(
      `${merged.otherDevices.calls} calls of ${merged.otherDevices.kernels} kernel configuration(s) ran on another GPU than the metered board; they are left out`,
    );

  const assemble = (
    kernels: readonly KernelTrace[],
    reasons: Map<string, string>,
    replays: ReplayEvent[],
    complete: boolean,
  ) =>
    buildProfile({
      createdAt: new Date().toISOString(),
      tool: { name: 'etok', version: toolVersion() },
      meter: { ...description, idleW },
      device,
      command,
      exitCode: traceExit.code,
      signal: traceExit.signal,
      complete,
      programJoules,
      programSeconds,
      idleW,
      busySeconds,
      kernels,
      reasons,
      replays,
      passes,
      notes,
      otherDevices: merged.otherDevices,
      settings: { top: settings.top, budgetS: settings.budgetS, memoryLimitBytes: settings.memoryLimitBytes },
    });

  const { targets, reasons } = chooseTargets(merged.kernels, settings.top);
  const stopWith = (why: string) => {
    for (const k of merged.kernels) if (!reasons.has(k.key)) reasons.set(k.key, why);
  };
  if (fatal) {
    const doc = assemble(merged.kernels, reasons, [], false);
    finish(doc, settings, io);
    throw new EtokError(
      'MEASUREMENT_FAILED',
      `the profiler could not start inside the program: ${fatal.message}`,
    );
  }
  if (traceExit.interrupted) {
    stopWith('not replayed: the run was interrupted');
    finish(assemble(merged.kernels, reasons, [], false), settings, io);
    return EXIT_INTERRUPTED;
  }
  const traceFailed = traceExit.code !== 0;
  if (traceFailed)
    stopWith(`not replayed: the program exited with ${traceExit.signal ?? traceExit.code} in the trace pass`);
  else if (settings.traceOnly) stopWith('not replayed: --trace-only');
  if (traceFailed || settings.traceOnly || targets.length === 0) {
    const doc = assemble(merged.kernels, reasons, [], !traceFailed);
    finish(doc, settings, io);
    return programExit(traceExit, 'trace', io);
  }
  // Partial results first: an interrupted or crashed replay pass leaves the trace's table.
  if (settings.out)
    writeTextAtomic(
      settings.out,
      io.cwd,
      `${JSON.stringify(assemble(merged.kernels, reasons, [], false), null, 2)}\n`,
    );

  // Pass 2: the program again; at each target's chosen launch, a replay.
  const replayDir = join(work, 'replay');
  mkdirSync(replayDir);
  const targetsFile = join(work, 'targets.tsv');
  writeFileSync(targetsFile, targetsText(targets));
  say(`pass 2 of 2: replaying ${targets.length} kernel(s) in a second run of the program`);
  const replayExit = await runPass(
    command,
    {
      ...baseEnv,
      ETOK_PROFILE_DIR: replayDir,
      ETOK_PROFILE_MODE: 'replay',
      ETOK_PROFILE_TARGETS: targetsFile,
      ETOK_PROFILE_METER: settings.meterId,
      ETOK_PROFILE_BOARD_UUID: boardUuid ?? '',
      ETOK_PROFILE_BUDGET_S: String(settings.budgetS),
      ETOK_PROFILE_MEMORY_LIMIT: String(settings.memoryLimitBytes),
    },
    replayDir,
    settings.json,
    io,
  );
  passes.push(passOf('replay', replayExit));
  const replay = readPass(replayDir, false);
  for (const e of replay.errors) notes.push(`replay pass, process ${e.pid}: ${e.code}: ${e.message}`);
  for (const r of replay.replays)
    if (r.restoreError) {
      notes.push(
        `the program's device memory could not be restored after a replay (${r.restoreError}): its output in the replay pass cannot be trusted`,
      );
      io.stderr.write(`etok: WARNING: device memory not restored after a replay: ${r.restoreError}\n`);
    }
  if (replayExit.interrupted) stopWith('not replayed: the run was interrupted');
  else if (replayExit.code !== 0)
    notes.push(
      `the program exited with ${replayExit.signal ?? replayExit.code} in the replay pass; the replays finished before are kept`,
    );
  const doc = assemble(
    merged.kernels,
    reasons,
    replay.replays,
    !replayExit.interrupted && replayExit.code === 0,
  );
  finish(doc, settings, io);
  if (replayExit.interrupted) return EXIT_INTERRUPTED;
  return programExit(replayExit, 'replay', io);
}

function passOf(pass: 'trace' | 'replay', exit: PassExit): ProfilePass {
  return { pass, exitCode: exit.code, signal: exit.signal, wallSeconds: (exit.endNs - exit.startNs) * 1e-9 };
}

function programExit(exit: PassExit, pass: string, io: CommandIo): number {
  if (exit.code === 0) return EXIT_OK;
  io.stderr.write(
    `etok: the program exited with ${exit.signal ?? exit.code} in the ${pass} pass; what was measured is shown\n`,
  );
  return EXIT_MEASUREMENT_FAILED;
}

/** Writes --out (atomically) and prints the table or the JSON. */
function finish(doc: ProfileDocument, settings: Settings, io: CommandIo): void {
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  if (settings.out) writeTextAtomic(settings.out, io.cwd, json);
  if (settings.json) {
    io.stdout.write(json);
    return;
  }
  io.stdout.write(renderText(doc));
  if (settings.out) io.stderr.write(`etok: wrote ${settings.out}\n`);
}

export function renderText(doc: ProfileDocument): string {
  const out = [energyLine(doc)];
  if (doc.kernels.length === 0) out.push('no kernels were traced');
  out.push(
    renderTable(
      PROFILE_HEADERS.map((header, i) => ({
        header,
        align: i < 10 ? ('right' as const) : ('left' as const),
      })),
      doc.kernels.map((k) => kernelCells(doc, k)),
    ).trimEnd(),
  );
  out.push(closureLine(doc));
  const ts = timeShareLine(doc);
  if (ts) out.push(ts);
  for (const l of reasonLines(doc)) out.push(`  ${l}`);
  for (const n of doc.notes ?? []) out.push(`note: ${n}`);
  return `${out.join('\n')}\n`;
}
