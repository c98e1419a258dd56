// `etok report RESULTS…`: the energy disclosure (the paper's six dimensions) as markdown, LaTeX, JSON or a
// self-contained HTML page with charts. The report is built and rendered by @etok/core (disclosure/); this file
// parses flags, reads files and writes the output.
import { buildDisclosure, EtokError, REPORT_FORMATS, renderProfile, renderReport } from '@etok/core';
import { canonicalVariant } from '@etok/kernels';
import { checkOutputPath } from '../files/output-file.js';
import type { CommandIo } from '../io.js';
import {
  BOUNDARY_OPTION,
  boundaryOf,
  FACILITY_POWER_OPTION,
  facilityPowerOf,
  PUE_OPTION,
  pueOf,
  QUALITY_OPTION,
  SLO_OPTION,
  THETA_OPTION,
  thetaOf,
  UTIL_OPTION,
  utilOf,
  withText,
} from '../option-fragments.js';
import { type CommandSpec, choiceOption, flag, type ParsedArgs, stringOption } from '../options.js';
import { writeTextAtomic } from '../output/text-writer.js';
import { readProfileIfAny } from '../profile/report-input.js';
import { readResultsFile } from '../results-input.js';

export const spec: CommandSpec = {
  name: 'report',
  summary: 'energy disclosure (six dimensions) as markdown, LaTeX, JSON or HTML with charts',
  usage:
    'etok report RESULTS…|PROFILE [--format md|latex|json|html] [--out FILE] [--facility-power W] [--pue X] …',
  options: [
    {
      name: 'format',
      type: 'string',
      value: 'FORMAT',
      default: 'md',
      description: `output format: ${REPORT_FORMATS.join(', ')}`,
    },
    { name: 'out', type: 'string', value: 'FILE', description: 'write the report to FILE instead of stdout' },
    withText(FACILITY_POWER_OPTION, {
      description:
        'declared facility power (wall-plug, before PUE; suffixes k M G); enables ρ*, the binding constraint and Q̇',
    }),
    withText(PUE_OPTION, { description: 'declared PUE ≥ 1 (default: the results file’s)' }),
    withText(BOUNDARY_OPTION, { description: 'declared accounting boundary (default: the results file’s)' }),
    withText(UTIL_OPTION, { description: 'declared utilization U in (0, 1]' }),
    THETA_OPTION,
    QUALITY_OPTION,
    SLO_OPTION,
    {
      name: 'variant',
      type: 'string',
      value: 'VARIANT',
      description: 'the lever set of the headline figures (default: lowest passing J/token)',
    },
    { name: 'baseline', type: 'string', value: 'VARIANT', default: 'dense', description: 'Φ baseline' },
  ],
  details: [
    'Every figure is labelled measured, MODELED, declared, derived or missing; every joule figure names its meter,',
    'method and boundary. Invalid measurements are shown marked, with their reasons, and enter no derived figure.',
    '--json is --format json. Files from the same device, meter and accounting are reported as one run.',
    'A profile (etok profile --out) is reported on its own: its kernel table, closure and energy-by-kernel chart.',
    '',
    'examples:',
    '  etok report r.json --format html --out r.html',
    '  etok report r.json --format latex --facility-power 700 --pue 1.2 --util 0.6',
  ].join('\n'),
};

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length === 0)
    throw new EtokError('BAD_USAGE', "etok report needs at least one results file; see 'etok report --help'");
  let format = choiceOption(args, 'format', REPORT_FORMATS) ?? 'md';
  if (flag(args, 'json')) {
    if (stringOption(args, 'format') !== undefined && format !== 'json')
      throw new EtokError('BAD_USAGE', `--json conflicts with --format ${format}`);
    format = 'json';
  }
  // The output is checked before anything is read: never one of the inputs, never a device or a FIFO.
  const out = stringOption(args, 'out');
  if (out !== undefined) checkOutputPath(out, io.cwd, '--out', args.positionals);
  const options = {
    facilityPowerW: facilityPowerOf(args),
    pue: pueOf(args),
    boundary: boundaryOf(args),
    utilization: utilOf(args),
    theta: thetaOf(args),
    quality: stringOption(args, 'quality'),
    sloMs: stringOption(args, 'slo-ms'),
    variant: stringOption(args, 'variant'),
    baseline: stringOption(args, 'baseline'),
  };
  // A profile (etok profile --out) is rendered as its own report; results files as the disclosure.
  const profile = readProfileIfAny(args.positionals, io.cwd);
  let text: string;
  if (profile) text = renderProfile(profile, format);
  else {
    const sources = args.positionals.map((p) => ({ results: readResultsFile(p, io.cwd), source: p }));
    if (options.variant !== undefined) {
      // A lever set the results do not hold is a mistake to name, not a "missing" headline.
      const wanted = options.variant;
      const there = [...new Set(sources.flatMap((x) => x.results.measurements.map((m) => m.variant)))];
      const canon = (v: string) => {
        try {
          return canonicalVariant(v);
        } catch {
          return v;
        }
      };
      if (!there.some((v) => canon(v) === canon(wanted)))
        throw new EtokError(
          'BAD_USAGE',
          `--variant ${wanted} is not in the results; variants there: ${there.join(', ') || 'none'}`,
        );
    }
    const report = buildDisclosure(sources, options);
    text = renderReport(report, format);
  }
  if (out === undefined) {
    io.stdout.write(text);
    return 0;
  }
  writeTextAtomic(out, io.cwd, text);
  io.stderr.write(`etok: wrote ${format} report to ${out}\n`);
  return 0;
}
