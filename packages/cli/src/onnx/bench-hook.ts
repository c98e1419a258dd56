// `etok bench --onnx FILE --tokens-per-run N [--input name=SHAPE|FILE.npy …]`: a user's model, measured by the
// engine through the ONNX Runtime executor, written as its own results document and printed as J/run and J/token.
import { resolve } from 'node:path';
import {
  EtokError,
  formatQuantity,
  type Measurement,
  type Results,
  SUITE_DEFINITIONS,
  SUITES,
  type Suite,
  type TimingSettings,
} from '@etok/core';
import { checkOutputPath } from '../files/output-file.js';
import type { CommandIo } from '../io.js';
import { boundaryOf, pueOf } from '../option-fragments.js';
import { type ParsedArgs, parseNumber, parsePositiveInt, stringOption } from '../options.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { renderTable } from '../output/table.js';
import { benchOnnxModel } from './model-bench.js';

/** Options that sweep etok's own kernels. */
const KERNEL_SWEEP_OPTIONS = [
  'variants',
  'levers',
  'plugin',
  'python',
  'dtype',
  'batch',
  'ctx',
  'q-len',
  'heads',
  'kv-heads',
  'head-dim',
  'rank',
  'rope-dim',
  'block-size',
  'top-k',
  'window',
  'profile',
  'no-quality',
  'no-interleave',
] as const;

function allValues(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** The suite's harness settings when --suite is given (quick: a short energy budget), then the explicit flags. */
function timingFromArgs(args: ParsedArgs): Partial<TimingSettings> {
  const suite = stringOption(args, 'suite');
  if (suite !== undefined && !(SUITES as readonly string[]).includes(suite))
    throw new EtokError('BAD_USAGE', `--suite '${suite}' is not one of ${SUITES.join(', ')}`);
  const base = suite ? SUITE_DEFINITIONS[suite as Suite].timing : {};
  const budget = stringOption(args, 'time-budget');
  const ci = stringOption(args, 'ci-target');
  return {
    ...base,
    ...(budget !== undefined
      ? { energyBudgetS: parseNumber('time-budget', budget, (x) => x > 0, 'seconds > 0') }
      : {}),
    ...(ci !== undefined
      ? { energyCiTarget: parseNumber('ci-target', ci, (x) => x > 0 && x < 1, 'a fraction between 0 and 1') }
      : {}),
  };
}

function defaultOut(cwd: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return resolve(cwd, `etok-results-${stamp}.json`);
}

/** `etok bench --onnx FILE …`: measures the model, writes the results file, prints a table or the JSON. */
export async function runOnnxModelCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const file = stringOption(args, 'onnx')!;
  const tokensText = stringOption(args, 'tokens-per-run');
  if (tokensText === undefined)
    throw new EtokError(
      'BAD_USAGE',
      '--onnx needs --tokens-per-run N (tokens one run of the model produces)',
    );
  if (stringOption(args, 'peer') !== undefined)
    throw new EtokError('BAD_USAGE', '--peer compares etok kernels with a peer; it does not apply to --onnx');
  // The sweep of etok's kernels has no meaning for a user's model: refused, not ignored.
  for (const name of KERNEL_SWEEP_OPTIONS)
    if (args.values[name] !== undefined)
      throw new EtokError(
        'BAD_USAGE',
        `--${name} sweeps etok's kernels; it has no effect with --onnx (the model has its own shapes)`,
      );
  const tokensPerRun = parsePositiveInt('tokens-per-run', tokensText);
  const phaseText = stringOption(args, 'phase') ?? 'decode';
  if (phaseText !== 'decode' && phaseText !== 'prefill')
    throw new EtokError('BAD_USAGE', `--phase '${phaseText}' with --onnx is one of decode, prefill`);
  const boundary = boundaryOf(args) ?? 'chip';
  const json = args.values.json === true;
  const outPath = checkOutputPath(stringOption(args, 'out') ?? defaultOut(io.cwd), io.cwd, '--out', [file]);
  let interrupted = false;
  const removeInterrupt = io.onInterrupt(() => {
    interrupted = true;
  });
  try {
    const device = stringOption(args, 'device');
    const seed = stringOption(args, 'seed');
    const result = await benchOnnxModel({
      file,
      tokensPerRun,
      inputs: allValues(args, 'input'),
      ...(device !== undefined ? { device } : {}),
      meter: stringOption(args, 'meter') ?? 'auto',
      timing: timingFromArgs(args),
      phase: phaseText,
      ...(seed !== undefined ? { seed: parsePositiveInt('seed', seed) } : {}),
      cwd: io.cwd,
      pue: pueOf(args) ?? 1,
      boundary,
      commandLine: ['etok', 'bench', ...process.argv.slice(3)],
      cancelled: () => interrupted,
      ...(json ? {} : { onProgress: (stage: string) => io.stderr.write(`\r${file}: ${stage}…`.padEnd(60)) }),
    });
    if (!json) io.stderr.write(`${'\r'.padEnd(61)}\r`);
    writeJsonAtomic(outPath, result.document);
    if (json) io.stdout.write(`${JSON.stringify(result.document, null, 2)}\n`);
    else io.stdout.write(renderModelTable(result.document, result.measurement));
    if (!json) io.stderr.write(`results: ${outPath}\n`);
    return interrupted ? 130 : 0;
  } finally {
    removeInterrupt();
  }
}

function renderModelTable(doc: Results, m: Measurement): string {
  const meter = doc.meter;
  const measured = m.energy.windows.length > 0;
  const tag = meter.measured ? '' : ' (modeled)';
  const info = (m as { onnx?: { executionProvider: string; providerReason: string; ortVersion: string } })
    .onnx;
  const head =
    `${m.variant}: ONNX Runtime ${info?.ortVersion} ${info?.executionProvider} execution provider (${info?.providerReason})\n` +
    (measured
      ? `energy: ${meter.measured ? 'MEASURED' : 'MODELED, not measured'} by ${meter.id} (${meter.boundary})\n`
      : 'energy: NOT measured (no meter could be opened)\n');
  const e = m.energy;
  return (
    head +
    renderTable(
      [
        { header: 'model' },
        { header: 'time/run', align: 'right' },
        { header: `J/run${tag}`, align: 'right' },
        { header: 'J/run 95% CI', align: 'right' },
        { header: `J/token${tag}`, align: 'right' },
        { header: 'avg W', align: 'right' },
        { header: 'windows', align: 'right' },
      ],
      [
        [
          m.variant,
          formatQuantity(m.time.medianS, 's'),
          measured ? formatQuantity(e.joulesPerCall, 'J') : '—',
          measured && e.ciLowJoulesPerCall !== undefined
            ? `${formatQuantity(e.ciLowJoulesPerCall, 'J')}…${formatQuantity(e.ciHighJoulesPerCall ?? Number.NaN, 'J')}`
            : '—',
          measured ? formatQuantity(e.joulesPerToken, 'J') : '—',
          measured ? formatQuantity(e.avgPowerW, 'W') : '—',
          String(e.windows.length),
        ],
      ],
    )
  );
}
