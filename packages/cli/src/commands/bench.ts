// `etok bench`: plan (core) → measure (the engine, one interleaved group per shape) → analyse (core) → table and
// file. The results file is rewritten after every group, so Ctrl-C or a crash keeps what was measured.
import { freemem } from 'node:os';
import { relative } from 'node:path';
import {
  comparisonGroups,
  defaultEnergyCiTarget,
  EtokError,
  type ExternalCostFn,
  type ExternalVariant,
  formatQuantity,
  layoutVariant,
  planBench,
  withPeers,
} from '@etok/core';
import { cpuKernelIsa } from '@etok/native';
import { createBenchDocument, defaultOutPath } from '../bench/document.js';
import { loadPlugins, loadPython, peerDecision, pluginCosts } from '../bench/externals.js';
import { headline } from '../bench/headline.js';
import { measureGroups } from '../bench/measure-groups.js';
import { requestFromArgs } from '../bench/request.js';
import { energySourceLine, measurementRows, peerTable, timeEnergyNotes } from '../bench/table.js';
import { checkDevice, resolveMeter } from '../bench/target.js';
import { EXIT_INTERRUPTED, EXIT_MEASUREMENT_FAILED, EXIT_OK, exitCodeFor } from '../exit-codes.js';
import { checkOutputPath } from '../files/output-file.js';
import type { CommandIo } from '../io.js';
import { requestedPeers } from '../onnx/options.js';
import { flag, type ParsedArgs, parseNumber, stringOption } from '../options.js';
import { ProgressBar } from '../output/progress.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { renderTable } from '../output/table.js';

export { spec } from '../bench/options.js';
export { requestFromArgs } from '../bench/request.js';

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length > 0)
    throw new EtokError(
      'BAD_USAGE',
      `etok bench takes no positional arguments (got '${args.positionals[0]}')`,
    );
  if (stringOption(args, 'onnx') !== undefined)
    return (await import('../onnx/bench-hook.js')).runOnnxModelCommand(args, io);
  const request = requestFromArgs(args);
  const json = flag(args, 'json');
  const device = checkDevice(request.device);
  const taken = new Set<string>();
  const externals = [...loadPlugins(args, io.cwd, request.device, taken), ...loadPython(args, io.cwd, taken)];
  // Plugins' costs are asked of the plugins in a child process: a first planning pass collects the calls, one child
  // per plugin answers them all, the second pass uses the answers.
  const asked: Parameters<typeof pluginCosts>[0] = [];
  const requestOf = (external: ExternalVariant, config: Parameters<ExternalCostFn>[1]) => ({
    variant: layoutVariant(config.variant, [external]),
    phase: config.phase,
    dtype: config.dtype,
    shape: config.shape,
    params: { ...config.params, scale: config.params.scale ?? undefined },
  });
  const keyOf = (external: ExternalVariant, config: Parameters<ExternalCostFn>[1]) =>
    `${external.path}|${JSON.stringify(requestOf(external, config))}`;
  planBench({ ...request, externals }, freemem(), (external, config) => {
    const s = config.shape;
    const label = `${config.phase} ${config.dtype} b${s.batch} ctx${s.kvLen} h${s.heads}/${s.kvHeads} d${s.headDim}`;
    asked.push({ external, request: requestOf(external, config), id: keyOf(external, config), label });
    return { flops: 0, bytes: 0, tokens: 1 };
  });
  const costs = pluginCosts(asked);
  const planned = planBench(
    { ...request, externals },
    freemem(),
    (external, config) => costs.get(keyOf(external, config))!,
  );
  const families = requestedPeers(args);
  const { plan, noPeers } =
    families.length > 0 ? withPeers(planned, await peerDecision(families)) : { plan: planned, noPeers: [] };
  const { meter, choice } = resolveMeter(request.meter, request.device);
  // Each meter's own reachable precision, unless --ci-target says otherwise.
  if (stringOption(args, 'ci-target') === undefined)
    plan.timing.energyCiTarget = defaultEnergyCiTarget(
      meter === 'model' ? 'model' : meter === 'rapl' ? 'rapl' : 'nvml',
    );
  const callTimeout = stringOption(args, 'call-timeout');
  const callTimeoutS =
    callTimeout === undefined
      ? undefined
      : parseNumber('call-timeout', callTimeout, (x) => x > 0, 'seconds > 0');
  // The CPU kernels' vector path, asked before anything is printed or written: a bad ETOK_CPU_ISA is bad usage.
  const cpuIsa = plan.device === 'cpu' ? cpuKernelIsa() : null;
  // Never over the command's own inputs (a plugin, a Python file), never over a device or a FIFO.
  const outPath = checkOutputPath(
    stringOption(args, 'out') ?? defaultOutPath(io.cwd),
    io.cwd,
    '--out',
    externals.map((e) => e.path).filter((p) => p !== ''),
  );
  const say = (line: string) => {
    if (!json) io.stderr.write(`${line}\n`);
  };
  say(
    `etok bench: ${plan.configs.length} configuration(s) on ${device.id} (${device.name}); meter ${meter} — ${choice}`,
  );

  const doc = createBenchDocument({
    device,
    meter,
    meterChoice: choice,
    boundary: request.boundary,
    pue: request.pue,
    plan,
    suite: request.suite ?? null,
    quality: stringOption(args, 'quality') ?? null,
    sloMs: stringOption(args, 'slo-ms') ?? null,
    cpuIsa,
    noPeers,
  });
  writeJsonAtomic(outPath, doc);

  const groups = comparisonGroups(plan.configs, freemem(), !flag(args, 'no-interleave'));
  const progress = new ProgressBar(io.stderr, plan.configs.length, !json);
  let interrupted = false;
  let current: { cancel(): void; kill?(): void } | undefined;
  let callS: number | undefined;
  const removeInterrupt = io.onInterrupt(() => {
    if (interrupted) {
      // Second Ctrl-C: everything finished is already on disk; the measuring process goes now, in mid-call.
      current?.kill?.();
      io.stderr.write(`\netok bench: stopped; results so far are in ${outPath}\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    interrupted = true;
    current?.cancel();
    // Say at once what happens next: the engine stops between calls, and a call may be long.
    progress.clear();
    const wait =
      callS === undefined
        ? 'the current call (its length is not known yet)'
        : `the current call (about ${callS < 1 ? `${Math.max(1, Math.round(callS * 1000))} ms` : `${callS.toFixed(1)} s`})`;
    io.stderr.write(`etok bench: stopping after ${wait}; Ctrl-C again to stop at once\n`);
  });
  let outcome: Awaited<ReturnType<typeof measureGroups>>;
  try {
    outcome = await measureGroups(groups, {
      plan,
      meter,
      meterChoice: choice,
      powerModel: request.powerModel,
      isolated: !flag(args, 'in-process'),
      stopOnCrash: flag(args, 'stop-on-crash'),
      ...(callTimeoutS !== undefined ? { callTimeoutS } : {}),
      doc,
      outPath,
      progress,
      say: (line) => {
        progress.clear();
        say(line);
      },
      interrupted: () => interrupted,
      setCurrent: (h) => {
        current = h;
      },
      noteCallS: (s) => {
        callS = s;
      },
    });
  } finally {
    removeInterrupt();
    progress.clear();
  }
  const { fatal } = outcome;
  doc.complete = !interrupted && fatal === undefined;
  writeJsonAtomic(outPath, doc);

  if (json) io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else {
    const own = doc.measurements.filter((m) => !m.peer);
    const { columns, rows } = measurementRows(own, !doc.meter.measured, plan.timing.energyCiTarget);
    io.stdout.write(
      `${energySourceLine(doc.meter)}; idle ${formatQuantity(doc.meter.idleW, 'W')}; accounting boundary ${doc.accounting.boundary}, PUE ${doc.accounting.pue}\n`,
    );
    io.stdout.write(renderTable(columns, rows));
    for (const line of timeEnergyNotes(own)) io.stdout.write(`${line}\n`);
    for (const f of doc.failures) io.stdout.write(`failed: ${f.id}: ${f.message}\n`);
    io.stdout.write(peerTable(doc));
    if (fatal === undefined && !interrupted) {
      const shown = relative(io.cwd, outPath);
      for (const line of headline(doc, shown.startsWith('..') ? outPath : shown))
        io.stdout.write(`${line}\n`);
    }
  }
  if (fatal !== undefined) {
    io.stderr.write(
      `etok bench: measurement failed: ${fatal.message} (${String(fatal.code ?? '')}); ${doc.measurements.length} finished measurement(s) kept in ${outPath}\n`,
    );
    return exitCodeFor(fatal);
  }
  if (interrupted) {
    io.stderr.write(
      `etok bench: interrupted; ${doc.measurements.length} measurement(s) kept in ${outPath} (complete: false)\n`,
    );
    return EXIT_INTERRUPTED;
  }
  say(`results: ${outPath}`);
  return doc.failures.length > 0 ? EXIT_MEASUREMENT_FAILED : EXIT_OK;
}
