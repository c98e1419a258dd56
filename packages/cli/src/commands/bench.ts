// `etok bench`: plan (core) → measure (native, one configuration at a time) → analyse (core) → table and file.
// Each finished measurement is written to the results file at once, so Ctrl-C or a crash keeps it.
import { freemem } from 'node:os';
import { resolve } from 'node:path';
import {
  analyseMeasurement,
  type BenchConfig,
  type BenchPlan,
  type BenchRequest,
  chooseMeter,
  comparisonGroups,
  createResults,
  DEFAULT_PARAMS,
  DTYPES,
  EtokError,
  layoutVariant,
  type Measurement,
  PHASES,
  type PluginVariant,
  PROFILES,
  planBench,
  type Results,
  relErrorText,
  SUITES,
} from '@etok/core';
import {
  capabilities,
  cpuKernelIsa,
  inspectPlugin,
  listDevices,
  listMeters,
  measureGroup,
  measureGroupIsolated,
  type NativeMeasureResult,
  pluginCost,
} from '@etok/native';
import { EXIT_INTERRUPTED, EXIT_MEASUREMENT_FAILED, EXIT_OK, exitCodeFor } from '../exit-codes.js';
import type { CommandIo } from '../io.js';
import { ONNX_BENCH_OPTIONS, requestedPeer } from '../onnx/options.js';
import {
  type CommandSpec,
  choiceOption,
  flag,
  intListOption,
  listOption,
  type ParsedArgs,
  parseNumber,
  parsePositiveInt,
  stringOption,
} from '../options.js';
import { ProgressBar } from '../output/progress.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { renderTable, si } from '../output/table.js';
import { hostInfo, toolCommit, toolVersion } from '../provenance.js';

export const spec: CommandSpec = {
  name: 'bench',
  summary: 'measure time and energy per kernel call and per token',
  usage:
    'etok bench [--suite quick|standard|full] [--device cpu|cuda:N] [--meter auto|model|rapl|nvml:N] [axes…] [--out FILE] [--json]',
  options: [
    { name: 'suite', type: 'string', value: 'NAME', description: `a preset sweep: ${SUITES.join(', ')}` },
    {
      name: 'device',
      type: 'string',
      value: 'ID',
      default: 'cpu',
      description: 'compute device: cpu or cuda:N',
    },
    {
      name: 'meter',
      type: 'string',
      value: 'ID',
      default: 'auto',
      description: 'energy meter: auto, nvml:N, rapl or model (modeled)',
    },
    {
      name: 'variants',
      type: 'string',
      value: 'LIST',
      default: 'dense',
      description: 'lever sets, e.g. dense,mla+kv-int8',
    },
    {
      name: 'levers',
      type: 'string',
      value: 'LIST',
      description: 'measure all 2^n subsets of these levers (for attribution)',
    },
    {
      name: 'plugin',
      type: 'string',
      value: 'FILE',
      multiple: true,
      description:
        "a user's kernel (shared library, include/etok/plugin.h); its name becomes a variant (repeatable)",
    },
    { name: 'phase', type: 'string', value: 'LIST', default: 'decode', description: 'decode and/or prefill' },
    {
      name: 'dtype',
      type: 'string',
      value: 'LIST',
      default: 'f32',
      description: `storage dtype: ${DTYPES.join(', ')}`,
    },
    { name: 'batch', type: 'string', value: 'LIST', default: '1', description: 'sequences per call' },
    {
      name: 'ctx',
      type: 'string',
      value: 'LIST',
      default: '4096',
      description: 'context (KV) length; k = ×1024',
    },
    {
      name: 'q-len',
      type: 'string',
      value: 'LIST',
      description: 'prefill query length (default: the whole context)',
    },
    { name: 'heads', type: 'string', value: 'LIST', default: '32', description: 'query heads' },
    { name: 'kv-heads', type: 'string', value: 'LIST', default: '8', description: 'KV heads (GQA groups)' },
    { name: 'head-dim', type: 'string', value: 'LIST', default: '128', description: 'head dimension' },
    { name: 'rank', type: 'string', value: 'N', default: '512', description: 'MLA latent rank' },
    { name: 'rope-dim', type: 'string', value: 'N', default: '64', description: 'MLA rope dimension' },
    {
      name: 'block-size',
      type: 'string',
      value: 'N',
      default: '64',
      description: 'sparse: tokens per block',
    },
    {
      name: 'top-k',
      type: 'string',
      value: 'N',
      default: '16',
      description: 'sparse: blocks chosen by score',
    },
    {
      name: 'window',
      type: 'string',
      value: 'N',
      default: '512',
      description: 'sparse: local window in tokens',
    },
    {
      name: 'profile',
      type: 'string',
      value: 'NAME',
      default: 'peaked',
      description:
        'synthetic inputs: peaked (planted key blocks aligned with each group of queries, as in trained models) or uniform',
    },
    { name: 'seed', type: 'string', value: 'N', default: '1', description: 'input seed' },
    { name: 'no-quality', type: 'boolean', description: 'skip the fp64 reference comparison' },
    {
      name: 'no-interleave',
      type: 'boolean',
      description:
        'measure each lever set alone instead of interleaving the energy windows of a shape (ABAB…)',
    },
    {
      name: 'stop-on-crash',
      type: 'boolean',
      description:
        'stop the sweep when a kernel crashes its measurement process (default: record it and go on)',
    },
    {
      name: 'in-process',
      type: 'boolean',
      description: 'measure inside the etok process (no crash isolation; for debugging)',
    },
    {
      name: 'quality',
      type: 'string',
      value: 'GATE',
      description: 'quality target recorded with the results, e.g. rel-error<=0.02',
    },
    {
      name: 'slo-ms',
      type: 'string',
      value: 'MS',
      description: 'service target per call recorded with the results',
    },
    {
      name: 'ci-target',
      type: 'string',
      value: 'FRACTION',
      default: '0.03',
      description: 'stop energy trials when the J/call CI half-width is below this',
    },
    {
      name: 'time-budget',
      type: 'string',
      value: 'SECONDS',
      description: 'energy-trial time budget per configuration',
    },
    {
      name: 'model-idle-w',
      type: 'string',
      value: 'W',
      description: 'model meter: idle power (with --model-busy-w)',
    },
    {
      name: 'model-busy-w',
      type: 'string',
      value: 'W',
      description: 'model meter: power added at full utilization',
    },
    {
      name: 'pue',
      type: 'string',
      value: 'X',
      default: '1',
      description: 'facility PUE (≥ 1) recorded for accounting',
    },
    {
      name: 'boundary',
      type: 'string',
      value: 'NAME',
      default: 'chip',
      description: 'accounting boundary: chip, server, rack or facility',
    },
    {
      name: 'out',
      type: 'string',
      value: 'FILE',
      description: 'results file (default: etok-results-<time>.json)',
    },
    ...ONNX_BENCH_OPTIONS,
  ],
  details: [
    'Lists are comma-separated and sweep as axes: --batch 1,8 --ctx 1k,8k measures four shapes.',
    'Energy is measured (nvml, rapl) or MODELED (model); every figure says which, and its boundary.',
    'Example: etok bench --suite quick --out r.json',
  ].join('\n'),
};

const BOUNDARIES = ['chip', 'server', 'rack', 'facility'] as const;

/** Errors that fail one configuration (the rest of the sweep goes on); any other error ends the run. */
const PER_CONFIG_FAILURES = new Set([
  'KERNEL_CRASHED',
  'CALL_TOO_SLOW',
  'BAD_SHAPE',
  'CUDA_NOT_COMPILED',
  'PLUGIN_SETUP',
  'PLUGIN_RUN',
  'PLUGIN_OUTPUT',
  'PLUGIN_DEVICE',
]);

function optionalInt(args: ParsedArgs, name: string, fallback: number, min = 1): number {
  const v = stringOption(args, name);
  if (v === undefined) return fallback;
  if (min === 0 && v.trim() === '0') return 0;
  return parsePositiveInt(name, v);
}

function positive(name: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseNumber(name, text, (x) => x > 0, 'a positive number');
}

export function requestFromArgs(
  args: ParsedArgs,
): BenchRequest & { pue: number; boundary: (typeof BOUNDARIES)[number] } {
  const phases = listOption(args, 'phase')?.map((p) => {
    if (!(PHASES as readonly string[]).includes(p))
      throw new EtokError('BAD_USAGE', `--phase '${p}' is not one of ${PHASES.join(', ')}`);
    return p as (typeof PHASES)[number];
  });
  const dtypes = listOption(args, 'dtype')?.map((d) => {
    if (!(DTYPES as readonly string[]).includes(d))
      throw new EtokError('BAD_USAGE', `--dtype '${d}' is not one of ${DTYPES.join(', ')}`);
    return d as (typeof DTYPES)[number];
  });
  const idleW = stringOption(args, 'model-idle-w');
  const busyW = stringOption(args, 'model-busy-w');
  if ((idleW === undefined) !== (busyW === undefined))
    throw new EtokError('BAD_USAGE', '--model-idle-w and --model-busy-w go together; give both');
  const suite = choiceOption(args, 'suite', SUITES);
  const budget = positive('time-budget', stringOption(args, 'time-budget'));
  const ciTarget = stringOption(args, 'ci-target');
  return {
    device: stringOption(args, 'device') ?? 'cpu',
    meter: stringOption(args, 'meter') ?? 'auto',
    ...(suite ? { suite } : {}),
    ...(listOption(args, 'variants') ? { variants: listOption(args, 'variants')! } : {}),
    ...(listOption(args, 'levers') ? { levers: listOption(args, 'levers')! } : {}),
    ...(phases ? { phases } : {}),
    ...(dtypes ? { dtypes } : {}),
    ...(intListOption(args, 'batch') ? { batch: intListOption(args, 'batch')! } : {}),
    ...(intListOption(args, 'ctx', true) ? { ctx: intListOption(args, 'ctx', true)! } : {}),
    ...(intListOption(args, 'q-len', true) ? { qLen: intListOption(args, 'q-len', true)! } : {}),
    ...(intListOption(args, 'heads') ? { heads: intListOption(args, 'heads')! } : {}),
    ...(intListOption(args, 'kv-heads') ? { kvHeads: intListOption(args, 'kv-heads')! } : {}),
    ...(intListOption(args, 'head-dim') ? { headDim: intListOption(args, 'head-dim')! } : {}),
    rank: optionalInt(args, 'rank', 512),
    ropeDim: optionalInt(args, 'rope-dim', 64),
    params: {
      ...DEFAULT_PARAMS,
      blockSize: optionalInt(args, 'block-size', DEFAULT_PARAMS.blockSize),
      topK: optionalInt(args, 'top-k', DEFAULT_PARAMS.topK, 0),
      window: optionalInt(args, 'window', DEFAULT_PARAMS.window, 0),
    },
    profile: choiceOption(args, 'profile', PROFILES) ?? 'peaked',
    seed: optionalInt(args, 'seed', 1),
    quality: !flag(args, 'no-quality'),
    timing: {
      ...(ciTarget !== undefined
        ? {
            energyCiTarget: parseNumber(
              'ci-target',
              ciTarget,
              (x) => x > 0 && x < 1,
              'a fraction between 0 and 1',
            ),
          }
        : {}),
      ...(budget !== undefined ? { energyBudgetS: budget } : {}),
    },
    ...(idleW !== undefined
      ? {
          powerModel: {
            source: 'flags',
            idleW: parseNumber('model-idle-w', idleW, (x) => x >= 0, 'watts ≥ 0'),
            busyW: parseNumber('model-busy-w', busyW!, (x) => x >= 0, 'watts ≥ 0'),
          },
        }
      : {}),
    pue: parseNumber('pue', stringOption(args, 'pue') ?? '1', (x) => x >= 1, 'a PUE ≥ 1'),
    boundary: choiceOption(args, 'boundary', BOUNDARIES) ?? 'chip',
  };
}

/** Loads each --plugin once to read its descriptor (name, reference variant, devices); a bad library is bad input. */
function loadPlugins(args: ParsedArgs, cwd: string, device: string): PluginVariant[] {
  const raw = args.values.plugin;
  const paths = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const plugins: PluginVariant[] = [];
  for (const given of paths) {
    const path = resolve(cwd, given);
    let info: ReturnType<typeof inspectPlugin>;
    try {
      info = inspectPlugin(path);
    } catch (error) {
      throw new EtokError('BAD_USAGE', (error as Error).message);
    }
    const onCuda = device.startsWith('cuda:');
    if ((onCuda && !info.cuda) || (!onCuda && !info.cpu))
      throw new EtokError('BAD_USAGE', `plugin '${info.name}' (${path}) does not run on ${device}`);
    if (plugins.some((p) => p.name === info.name) || info.name === 'dense')
      throw new EtokError('BAD_USAGE', `plugin name '${info.name}' (${path}) is already taken`);
    plugins.push({
      name: info.name,
      path,
      description: info.description,
      referenceVariant: info.referenceVariant,
    });
  }
  return plugins;
}

function checkDevice(device: string): { id: string; name: string } & Record<string, unknown> {
  const devices = listDevices();
  const found = devices.find((d) => d.id === device);
  if (found) return { ...found };
  if (/^cuda:\d+$/.test(device)) {
    const caps = capabilities();
    const why = caps.cuda ? caps.cudaRuntimeReason : `this build has no CUDA kernels (${caps.cudaReason})`;
    throw new EtokError('UNKNOWN_DEVICE', `device '${device}' is not available: ${why}`);
  }
  throw new EtokError(
    'UNKNOWN_DEVICE',
    `device '${device}' does not exist; devices here: ${devices.map((d) => d.id).join(', ')}`,
  );
}

function resolveMeter(requested: string, device: string): { meter: string; choice: string } {
  if (requested === 'auto') {
    const c = chooseMeter(device, listMeters());
    return { meter: c.meter, choice: c.reason };
  }
  if (!/^(model|rapl|nvml:\d+)$/.test(requested))
    throw new EtokError('UNKNOWN_METER', `meter '${requested}' is not one of auto, model, rapl, nvml:N`);
  // Refuse a meter this machine lacks before any results file is written.
  if (requested !== 'model') {
    const m = listMeters().find((x) => x.kind === (requested === 'rapl' ? 'rapl' : 'nvml'));
    if (m && !m.available)
      throw new EtokError(
        'UNKNOWN_METER',
        `meter ${requested} is not available here: ${m.reason ?? 'no reason given'}`,
      );
  }
  return { meter: requested, choice: `requested: ${requested}` };
}

function defaultOutPath(cwd: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return resolve(cwd, `etok-results-${stamp}.json`);
}

function meterHeader(raw: NativeMeasureResult, choice: string): Results['meter'] {
  return {
    id: raw.meter.id,
    kind: raw.meter.kind,
    measured: raw.meter.measured,
    method: raw.meter.method,
    boundary: raw.meter.boundary,
    updatePeriodMs: raw.meter.updatePeriodMs,
    idleW: raw.idleW,
    note: raw.meter.note,
    choice,
  };
}

function placeholderMeter(meter: string, choice: string): Results['meter'] {
  const kind = meter === 'model' ? 'model' : meter === 'rapl' ? 'rapl' : 'nvml';
  return {
    id: meter,
    kind,
    measured: kind !== 'model',
    method: kind === 'model' ? 'model' : 'energy-counter',
    boundary: kind === 'rapl' ? 'package' : kind === 'nvml' ? 'board' : 'modeled',
    updatePeriodMs: 0,
    idleW: 0,
    choice,
  };
}

export function energySourceLine(meter: Results['meter']): string {
  return meter.measured
    ? `energy: MEASURED by ${meter.id} (${meter.method}, boundary: ${meter.boundary}, update period ${meter.updatePeriodMs.toFixed(1)} ms)`
    : `energy: MODELED, not measured — ${meter.id} (${String((meter as { note?: string }).note ?? meter.boundary)})`;
}

export function measurementRows(
  measurements: Measurement[],
  modeled: boolean,
): { columns: Parameters<typeof renderTable>[0]; rows: string[][] } {
  const tag = modeled ? ' (modeled)' : '';
  const columns = [
    { header: 'variant' },
    { header: 'phase' },
    { header: 'shape' },
    { header: 'time/call', align: 'right' as const },
    { header: `J/call${tag}`, align: 'right' as const },
    { header: 'J/call 95% CI', align: 'right' as const },
    { header: `J/token${tag}`, align: 'right' as const },
    { header: 'avg W', align: 'right' as const },
    { header: 'err vs dense', align: 'right' as const },
    { header: 'valid' },
  ];
  const rows = measurements.map((m) => {
    const e = m.energy;
    const s = m.shape as Record<string, number>;
    const validity = (m as { validity?: string[] }).validity ?? [];
    return [
      m.variant,
      m.phase,
      `b${s.batch} ctx${s.kvLen}${m.phase === 'prefill' ? ` q${s.qLen}` : ''} ${m.dtype}`,
      si(m.time.medianS, 's'),
      si(e.joulesPerCall, 'J'),
      e.ciLowJoulesPerCall !== undefined
        ? `${si(e.ciLowJoulesPerCall, 'J')}…${si(e.ciHighJoulesPerCall ?? Number.NaN, 'J')}`
        : '—',
      si(e.joulesPerToken, 'J'),
      si(e.avgPowerW, 'W'),
      relErrorText(m.quality.relErrorVsDense, m.quality.sample, '—'),
      validity.length === 0 ? 'yes' : `no: ${validity.join(', ')}`,
    ];
  });
  return { columns, rows };
}

function nativePlan(
  plan: BenchPlan,
  config: BenchConfig,
  meter: string,
  powerModel: BenchRequest['powerModel'],
) {
  return {
    variant: config.plugin ? layoutVariant(config.variant, [config.plugin]) : config.variant,
    ...(config.plugin ? { plugin: config.plugin.path } : {}),
    phase: config.phase,
    dtype: config.dtype,
    device: plan.device,
    meter,
    shape: config.shape,
    params: { ...config.params, scale: config.params.scale ?? undefined },
    profile: plan.profile,
    seed: plan.seed,
    quality: plan.quality,
    timing: plan.timing,
    ...(powerModel ? { powerModel } : {}),
  };
}

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length > 0)
    throw new EtokError(
      'BAD_USAGE',
      `etok bench takes no positional arguments (got '${args.positionals[0]}')`,
    );
  if (stringOption(args, 'onnx') !== undefined)
    return (await import('../onnx/bench-hook.js')).runOnnxModelCommand(args, io);
  const peer = requestedPeer(args);
  let peerTable = '';
  const request = requestFromArgs(args);
  const json = flag(args, 'json');
  const device = checkDevice(request.device);
  const plugins = loadPlugins(args, io.cwd, request.device);
  const plan = planBench({ ...request, plugins }, freemem(), (plugin, config) =>
    pluginCost(plugin.path, {
      variant: layoutVariant(config.variant, [plugin]),
      phase: config.phase,
      dtype: config.dtype,
      shape: config.shape,
      params: { ...config.params, scale: config.params.scale ?? undefined },
    }),
  );
  const { meter, choice } = resolveMeter(request.meter, request.device);
  // The CPU kernels' vector path, asked before anything is printed or written: a bad ETOK_CPU_ISA is bad usage.
  const cpuIsa = plan.device === 'cpu' ? cpuKernelIsa() : null;
  const outPath = resolve(io.cwd, stringOption(args, 'out') ?? defaultOutPath(io.cwd));
  if (!json)
    io.stderr.write(
      `etok bench: ${plan.configs.length} configuration(s) on ${device.id} (${device.name}); meter ${meter} — ${choice}\n`,
    );

  const doc = createResults({
    toolVersion: toolVersion(),
    commit: toolCommit(),
    commandLine: ['etok', 'bench', ...process.argv.slice(3)],
    device,
    meter: placeholderMeter(meter, choice),
    accounting: { boundary: request.boundary, pue: request.pue, overhead: 0 },
    host: hostInfo(),
  }) as Results & { failures: { id: string; code: string; message: string }[]; plan?: unknown };
  // Schedulers (etok fleet, CI) add their own provenance: job ids, node names. It must be a JSON object.
  const extra = process.env.ETOK_PROVENANCE_JSON;
  if (extra) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(extra);
    } catch {
      parsed = undefined;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new EtokError('BAD_USAGE', 'ETOK_PROVENANCE_JSON must hold a JSON object');
    (doc as unknown as { provenance: unknown }).provenance = parsed;
  }
  doc.plan = {
    suite: request.suite ?? null,
    profile: plan.profile,
    seed: plan.seed,
    timing: plan.timing,
    quality: stringOption(args, 'quality') ?? null,
    sloMs: stringOption(args, 'slo-ms') ?? null,
    // The vector path the CPU kernels ran (ETOK_CPU_ISA may choose it), and the opt-in AVX2 int8 path in 16-bit
    // integers, which rounds queries and softmax weights (kernels README, "Tolerances"): a result must say both.
    ...(cpuIsa ? { cpuIsa } : {}),
    cpuInt8Dot: process.env.ETOK_CPU_INT8_DOT === '1',
  };
  writeJsonAtomic(outPath, doc);

  const groups = comparisonGroups(plan.configs, freemem(), !flag(args, 'no-interleave'));
  const progress = new ProgressBar(io.stderr, plan.configs.length);
  let interrupted = false;
  let current: { cancel(): void } | undefined;
  let fatal: unknown;
  const removeInterrupt = io.onInterrupt(() => {
    if (interrupted) {
      // Second Ctrl-C: everything finished is already on disk; leave now.
      io.stderr.write(`\netok bench: stopped; results so far are in ${outPath}\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    interrupted = true;
    current?.cancel();
  });

  let done = 0;
  try {
    for (const [g, group] of groups.entries()) {
      if (interrupted) break;
      const label =
        group.length === 1
          ? group[0]!.id
          : `${group.length} lever sets of ${group[0]!.id.slice(group[0]!.variant.length + 1)}`;
      progress.update(done, 0, label);
      const measureFn = flag(args, 'in-process') ? measureGroup : measureGroupIsolated;
      const handle = measureFn(
        group.map((config) => nativePlan(plan, config, meter, request.powerModel)),
        (stage, fraction) => progress.update(done, fraction * group.length, `${label}: ${stage}`),
      );
      current = handle;
      let raws: NativeMeasureResult[];
      try {
        raws = await handle.result;
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? 'INTERNAL');
        if (code === 'CANCELLED' && interrupted) break; // Ctrl-C arrived before this group started
        const perConfig =
          PER_CONFIG_FAILURES.has(code) && !(code === 'KERNEL_CRASHED' && flag(args, 'stop-on-crash'));
        // A shape or variant this backend cannot run fails that configuration; measure the rest of its group
        // alone. A meter or device failure ends the run (the board is gone, or later numbers would be wrong).
        if (perConfig && group.length > 1) {
          groups.splice(g + 1, 0, ...group.map((c) => [c]));
          continue;
        }
        if (perConfig) {
          doc.failures.push({ id: group[0]!.id, code, message: (error as Error).message });
          writeJsonAtomic(outPath, doc);
          done += 1;
          if (!json) {
            progress.clear();
            io.stderr.write(`etok bench: ${group[0]!.id}: ${(error as Error).message}\n`);
          }
          continue;
        }
        for (const c of group) doc.failures.push({ id: c.id, code, message: (error as Error).message });
        fatal = error;
        break;
      } finally {
        current = undefined;
      }
      if (doc.measurements.length === 0 && raws[0]) doc.meter = meterHeader(raws[0], choice);
      // Power over time for reports (same clock as the windows); one timeline per group, appended.
      const timeline = raws[0]?.timeline;
      if (timeline && timeline.length > 0) {
        const withTimeline = doc as { timeline?: { tNs: number; watts: number }[] };
        withTimeline.timeline = [...(withTimeline.timeline ?? []), ...timeline];
      }
      for (const [i, raw] of raws.entries()) {
        if (raw.windows.length === 0 && raw.cancelled) continue;
        const config = group[i]!;
        const measurement = analyseMeasurement(config, raw, {
          timing: plan.timing,
          interleaved: group.length > 1,
          ...(group.length > 1 ? { group: `g${g}` } : {}),
        });
        if (config.plugin) (measurement as Record<string, unknown>).plugin = config.plugin;
        doc.measurements.push(measurement);
      }
      done += group.length;
      writeJsonAtomic(outPath, doc);
    }
    if (peer === 'onnx' && !interrupted && fatal === undefined) {
      const { runPeerMeasurements } = await import('../onnx/bench-hook.js');
      peerTable = await runPeerMeasurements(plan, meter, doc, {
        onProgress: (label) => progress.update(done, 0, label),
        cancelled: () => interrupted,
      });
      writeJsonAtomic(outPath, doc);
    }
  } finally {
    removeInterrupt();
    progress.clear();
  }

  doc.complete = !interrupted && fatal === undefined;
  writeJsonAtomic(outPath, doc);

  if (json) io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else {
    const { columns, rows } = measurementRows(doc.measurements, !doc.meter.measured);
    io.stdout.write(
      `${energySourceLine(doc.meter)}; idle ${si(doc.meter.idleW, 'W')}; accounting boundary ${doc.accounting.boundary}, PUE ${doc.accounting.pue}\n`,
    );
    io.stdout.write(renderTable(columns, rows));
    for (const f of doc.failures) io.stdout.write(`failed: ${f.id}: ${f.message}\n`);
    if (peerTable) io.stdout.write(peerTable);
  }
  if (fatal !== undefined) {
    io.stderr.write(
      `etok bench: measurement failed: ${(fatal as Error).message} (${String((fatal as { code?: unknown }).code ?? '')}); ${doc.measurements.length} finished measurement(s) kept in ${outPath}\n`,
    );
    return exitCodeFor(fatal) === 2 ? 2 : EXIT_MEASUREMENT_FAILED;
  }
  if (interrupted) {
    io.stderr.write(
      `etok bench: interrupted; ${doc.measurements.length} measurement(s) kept in ${outPath} (complete: false)\n`,
    );
    return EXIT_INTERRUPTED;
  }
  if (!json) io.stderr.write(`results: ${outPath}\n`);
  return doc.failures.length > 0 ? EXIT_MEASUREMENT_FAILED : EXIT_OK;
}
