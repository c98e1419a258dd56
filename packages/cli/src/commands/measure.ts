// `etok measure -- CMD ARGS…`: energy, time and average power of any command (a kernel developer's own benchmark
// binary), with --tokens N for J/token. The energy window starts and ends on meter counter steps
// (readAtUpdate), so it spans whole update intervals and holds the command plus at most one update period after
// it; the command's own wall time is reported beside it. NVML runs are cross-checked against integrated instant
// power over the same window.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chooseMeter, EtokError } from '@etok/core';
import {
  listMeters,
  type NativeCrossCheck,
  type NativeDeviceStatus,
  type NativeMeterHandle,
  type NativeOpenMeterDescription,
  openMeter,
} from '@etok/native';
import { usableText } from '../bench/table.js';
import { EXIT_INTERRUPTED, EXIT_MEASUREMENT_FAILED, EXIT_OK } from '../exit-codes.js';
import { checkOutputPath } from '../files/output-file.js';
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
import { runWithRegions } from '../regions/run-with-markers.js';

export const spec: CommandSpec = {
  name: 'measure',
  summary: 'energy, time and average power of any command',
  usage: 'etok measure [--meter auto|nvml:N|rapl|model] [--tokens N] [--idle S] [--json] -- CMD [ARGS…]',
  options: [
    {
      name: 'meter',
      type: 'string',
      value: 'ID',
      default: 'auto',
      description:
        'energy meter: auto (nvml:0 where NVML works, else rapl, else model), nvml:N, rapl or model (modeled)',
    },
    {
      name: 'tokens',
      type: 'string',
      value: 'N',
      description: 'tokens the command produced: also report J/token',
    },
    {
      name: 'idle',
      type: 'string',
      value: 'S',
      default: '0',
      description: 'measure idle power for S seconds first and report the energy above idle',
    },
    {
      name: 'regions',
      type: 'boolean',
      description:
        'measure regions the command marks on the fd in ETOK_MARKER_FD (begin NAME / end NAME calls=N tokens=M)',
    },
    {
      name: 'out',
      type: 'string',
      value: 'FILE',
      description: 'with --regions: the results file (default: etok-regions-<time>.json)',
    },
    {
      name: 'timeline-ms',
      type: 'string',
      value: 'MS',
      description: 'also record a power timeline sampled every MS milliseconds (in --json output)',
    },
  ],
  details:
    "Everything after '--' is the command, run without a shell. Its output goes to stderr under --json.\n" +
    'Example: etok measure --meter nvml:0 --tokens 4096 -- ./my_decode_bench --batch 8',
};

export interface MeasureCommandResult {
  schema: 'etok.measure/v1';
  command: string[];
  exitCode: number | null;
  signal: string | null;
  meter: NativeOpenMeterDescription;
  meterChoice: string;
  device: NativeDeviceStatus;
  time: { seconds: number; startNs: number; endNs: number };
  energy: {
    joules: number;
    t0Ns: number;
    t1Ns: number;
    windowS: number;
    avgPowerW: number;
    idleW?: number;
    dynamicJoules?: number;
    tokens?: number;
    joulesPerToken?: number;
  };
  crossCheck?: NativeCrossCheck;
  timeline?: { periodMs: number; source: string; tNs: number[]; watts: number[] };
}

/** Why `program` cannot be started (not found, not executable), or null when it can (as execvp would find it). */
function unrunnable(program: string): string | null {
  const candidates = program.includes('/')
    ? [program]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, program));
  let found = false;
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      found = true;
      accessSync(c, constants.X_OK);
      return null;
    } catch {
      // not here, or not executable
    }
  }
  return found
    ? 'permission denied (not executable)'
    : program.includes('/')
      ? 'no such file'
      : 'not found on PATH';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const command = args.positionals;
  if (command.length === 0)
    throw new EtokError('BAD_USAGE', "etok measure needs a command after '--', e.g. etok measure -- ./bench");
  const tokensText = stringOption(args, 'tokens');
  const tokens = tokensText === undefined ? undefined : parsePositiveInt('tokens', tokensText);
  const idleS = parseNumber(
    'idle',
    stringOption(args, 'idle') ?? '0',
    (x) => x >= 0 && x <= 600,
    'seconds in 0..600',
  );
  const timelineText = stringOption(args, 'timeline-ms');
  const timelineMs =
    timelineText === undefined
      ? undefined
      : parseNumber('timeline-ms', timelineText, (x) => x >= 1, 'a period ≥ 1 ms');
  const json = flag(args, 'json');
  // A command that cannot be run is bad usage, said before any meter is opened or anything printed.
  const problem = unrunnable(command[0]!);
  if (problem) throw new EtokError('BAD_USAGE', `cannot run '${command[0]}': ${problem}`);

  let meterId = stringOption(args, 'meter') ?? 'auto';
  let meterChoice = `--meter ${meterId}`;
  if (meterId === 'auto') {
    const available = listMeters();
    const nvml = available.find((m) => m.kind === 'nvml');
    const choice = chooseMeter(nvml?.available ? 'cuda:0' : 'cpu', available);
    meterId = choice.meter;
    meterChoice = choice.reason;
  }
  if (!json) io.stderr.write(`etok: meter ${meterId} (${meterChoice})\n`);

  // The wrapped command's CPU time is not etok's: the model meter counts every process's busy time here.
  const meter = openMeter(
    meterId,
    meterId.startsWith('nvml:') ? `cuda:${meterId.slice(5)}` : 'cpu',
    'system-cpu',
  );
  try {
    if (flag(args, 'regions'))
      return await measureRegions(
        meter,
        command,
        { idleS, json, meterChoice, out: stringOption(args, 'out') },
        io,
      );
    return await measureCommand(meter, command, { tokens, idleS, timelineMs, json, meterChoice }, io);
  } finally {
    meter.close();
  }
}

async function measureCommand(
  meter: NativeMeterHandle,
  command: string[],
  options: { tokens?: number; idleS: number; timelineMs?: number; json: boolean; meterChoice: string },
  io: CommandIo,
): Promise<number> {
  const description = meter.describe();
  let idleW: number | undefined;
  if (options.idleS > 0) {
    const a = meter.readAtUpdate();
    await sleep(options.idleS * 1000);
    const b = meter.readAtUpdate();
    idleW = (b.joules - a.joules) / ((b.tNs - a.tNs) * 1e-9);
  }
  // Every NVML counter run is cross-checked against instant power; a requested timeline serves both.
  const crossCheck =
    description.kind === 'nvml' && description.method === 'energy-counter' && meter.readPower() !== null;
  if (options.timelineMs !== undefined || crossCheck) meter.startTimeline(options.timelineMs ?? 10);

  const e0 = meter.readAtUpdate();
  const startNs = Number(process.hrtime.bigint());
  const exit = await runChild(command, options.json, io);
  const endNs = Number(process.hrtime.bigint());
  const e1 = meter.readAtUpdate();
  meter.stopTimeline();

  const joules = e1.joules - e0.joules;
  const windowS = (e1.tNs - e0.tNs) * 1e-9;
  const result: MeasureCommandResult = {
    schema: 'etok.measure/v1',
    command,
    exitCode: exit.code,
    signal: exit.signal,
    meter: { ...description, idleW: idleW ?? 0 },
    meterChoice: options.meterChoice,
    device: meter.status(),
    time: { seconds: (endNs - startNs) * 1e-9, startNs, endNs },
    energy: {
      joules,
      t0Ns: e0.tNs,
      t1Ns: e1.tNs,
      windowS,
      avgPowerW: windowS > 0 ? joules / windowS : 0,
      ...(idleW !== undefined ? { idleW, dynamicJoules: joules - idleW * windowS } : {}),
      ...(options.tokens !== undefined
        ? { tokens: options.tokens, joulesPerToken: joules / options.tokens }
        : {}),
    },
  };
  if (crossCheck) result.crossCheck = meter.crossCheck(e0.tNs, e1.tNs, joules);
  if (options.timelineMs !== undefined) {
    const tl = meter.timeline();
    result.timeline = { periodMs: tl.periodMs, source: tl.source, tNs: [...tl.tNs], watts: [...tl.watts] };
  }

  if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout.write(render(result));
  if (exit.spawnError) throw new EtokError('BAD_USAGE', `cannot run '${command[0]}': ${exit.spawnError}`);
  if (exit.signal === 'SIGINT' || exit.signal === 'SIGTERM') return EXIT_INTERRUPTED;
  if (exit.code !== 0) {
    io.stderr.write(
      `etok: the command exited with ${exit.signal ?? exit.code}; its measurement is shown above\n`,
    );
    return EXIT_MEASUREMENT_FAILED;
  }
  return EXIT_OK;
}

interface ChildExit {
  code: number | null;
  signal: string | null;
  spawnError?: string;
}

/** Runs the command without a shell; under --json its stdout goes to our stderr so stdout stays JSON. */
function runChild(command: string[], json: boolean, io: CommandIo): Promise<ChildExit> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'],
    });
    if (json) child.stdout?.pipe(io.stderr, { end: false });
    const removeHandler = io.onInterrupt(() => child.kill('SIGINT'));
    child.on('error', (error) => {
      removeHandler();
      resolve({ code: null, signal: null, spawnError: error.message });
    });
    child.on('close', (code, signal) => {
      removeHandler();
      resolve({ code, signal });
    });
  });
}

function render(r: MeasureCommandResult): string {
  const e = r.energy;
  const rows: string[][] = [
    ['command', `${r.command.join(' ')} (${r.signal ? `signal ${r.signal}` : `exit ${r.exitCode}`})`],
    [
      'meter',
      `${r.meter.id}: ${r.meter.measured ? 'measured' : 'MODELED'}, ${r.meter.method}, ${r.meter.boundary}, updates every ${r.meter.updatePeriodMs.toFixed(r.meter.updatePeriodMs < 10 ? 2 : 1)} ms`,
    ],
    ...(r.device.name
      ? [
          [
            'device',
            r.device.name + (r.device.throttled ? ` (throttled: ${r.device.clockEvents.join(', ')})` : ''),
          ],
        ]
      : []),
    ['time', `${r.time.seconds.toFixed(3)} s`],
    ['energy', `${e.joules.toFixed(3)} J over a ${e.windowS.toFixed(3)} s window aligned to meter updates`],
    ['power', `${e.avgPowerW.toFixed(2)} W average`],
  ];
  if (e.idleW !== undefined && e.dynamicJoules !== undefined)
    rows.push(['above idle', `${e.dynamicJoules.toFixed(3)} J (idle ${e.idleW.toFixed(2)} W)`]);
  if (e.tokens !== undefined && e.joulesPerToken !== undefined)
    rows.push(['per token', `${e.joulesPerToken.toPrecision(4)} J/token (${e.tokens} tokens)`]);
  if (r.crossCheck && r.crossCheck.sampledJ !== null && r.crossCheck.relativeGap !== null)
    rows.push([
      'cross-check',
      `counter ${r.crossCheck.counterJ.toFixed(3)} J vs integrated instant power ${r.crossCheck.sampledJ.toFixed(3)} J (${(100 * r.crossCheck.relativeGap).toFixed(2)}%)`,
    ]);
  if (r.meter.averagingWindowMs > 0)
    rows.push([
      'warning',
      `the power source is a ${r.meter.averagingWindowMs} ms trailing average: short commands are smeared`,
    ]);
  return renderTable([{ header: 'quantity' }, { header: 'value' }], rows);
}

async function measureRegions(
  meter: NativeMeterHandle,
  command: string[],
  options: { idleS: number; json: boolean; meterChoice: string; out: string | undefined },
  io: CommandIo,
): Promise<number> {
  let idleW = 0;
  if (options.idleS > 0) {
    const a = meter.readAtUpdate();
    await sleep(options.idleS * 1000);
    const b = meter.readAtUpdate();
    idleW = (b.joules - a.joules) / ((b.tNs - a.tNs) * 1e-9);
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const outPath = checkOutputPath(
    options.out ?? `etok-regions-${stamp}.json`,
    io.cwd,
    '--out',
    command.slice(0, 1),
  );
  const run = await runWithRegions(
    command,
    meter,
    { outPath, json: options.json, idleW, meterChoice: options.meterChoice },
    io,
  );
  if (options.json) io.stdout.write(`${JSON.stringify(run.document, null, 2)}\n`);
  else {
    const rows = run.document.measurements.map((m) => {
      const e = m.energy;

      return [
        m.variant.slice('region:'.length),
        String(e.windows.length),
        `${(m.time.medianS * 1e3).toPrecision(4)} ms`,
        `${e.joulesPerCall.toPrecision(4)} J`,
        `${e.joulesPerToken.toPrecision(4)} J`,
        usableText(m),
      ];
    });
    const d = run.document.meter;
    io.stdout.write(
      `energy: ${d.measured ? 'MEASURED' : 'MODELED, not measured'} by ${d.id} (${d.method}, boundary: ${d.boundary})\n`,
    );
    io.stdout.write(
      renderTable(
        [
          { header: 'region' },
          { header: 'windows' },
          { header: 'time/call' },
          { header: d.measured ? 'J/call' : 'J/call (modeled)' },
          { header: d.measured ? 'J/token' : 'J/token (modeled)' },
          { header: 'usable' },
        ],
        rows,
      ),
    );
    io.stderr.write(`results: ${outPath}\n`);
  }
  if (run.interrupted) {
    io.stderr.write(
      `etok: interrupted; ${run.document.measurements.length} region(s) kept in ${outPath} (complete: false)\n`,
    );
    return EXIT_INTERRUPTED;
  }
  if (run.protocolError)
    throw new EtokError(
      'BAD_USAGE',
      `${run.protocolError}; ${run.document.measurements.length} region(s) kept in ${outPath}`,
    );
  if (run.signal === 'SIGINT' || run.signal === 'SIGTERM') return EXIT_INTERRUPTED;
  if (run.exitCode !== 0) {
    io.stderr.write(
      `etok: the command exited with ${run.signal ?? run.exitCode}; its regions are in ${outPath}\n`,
    );
    return EXIT_MEASUREMENT_FAILED;
  }
  return EXIT_OK;
}
