// `etok report RESULTS…`: the energy disclosure (the paper's six dimensions) as markdown, LaTeX, JSON or a
// self-contained HTML page with charts. The report is built and rendered by @etok/core (disclosure/); this file
// parses flags, reads files and writes the output.
import {
  AccountingBoundarySchema,
  buildDisclosure,
  EtokError,
  REPORT_FORMATS,
  renderProfile,
  renderReport,
} from '@etok/core';
import type { CommandIo } from '../io.js';
import {
  type CommandSpec,
  choiceOption,
  flag,
  type ParsedArgs,
  parseNumber,
  stringOption,
} from '../options.js';
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
    {
      name: 'facility-power',
      type: 'string',
      value: 'W',
      description:
        'declared facility power in W (wall-plug, before PUE); enables ρ*, the binding constraint and Q̇',
    },
    {
      name: 'pue',
      type: 'string',
      value: 'X',
      description: 'declared PUE ≥ 1 (default: the results file’s)',
    },
    {
      name: 'boundary',
      type: 'string',
      value: 'B',
      description:
        'declared accounting boundary: chip, server, rack or facility (default: the results file’s)',
    },
    { name: 'util', type: 'string', value: 'U', description: 'declared utilization U in (0, 1]' },
    {
      name: 'theta',
      type: 'string',
      value: 'θ',
      description: 'conversion constant between the boundaries of e_tok and P_facility (default 1)',
    },
    { name: 'quality', type: 'string', value: 'GATE', description: 'q*: rel-error<=X, default or none' },
    { name: 'slo-ms', type: 'string', value: 'MS', description: 's*: ms per call, or decode=MS,prefill=MS' },
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
  const num = (name: string, check: (x: number) => boolean, allowed: string) => {
    const text = stringOption(args, name);
    return text === undefined ? undefined : parseNumber(name, text, check, allowed);
  };
  const boundaryText = stringOption(args, 'boundary');
  const boundary = boundaryText === undefined ? undefined : AccountingBoundarySchema.safeParse(boundaryText);
  if (boundary && !boundary.success)
    throw new EtokError(
      'BAD_USAGE',
      `--boundary '${boundaryText}' is not one of chip, server, rack, facility`,
    );
  const options = {
    facilityPowerW: num('facility-power', (x) => x > 0, 'watts > 0'),
    pue: num('pue', (x) => x >= 1, 'a PUE ≥ 1'),
    boundary: boundary?.data,
    utilization: num('util', (x) => x > 0 && x <= 1, 'a utilization in (0, 1]'),
    theta: num('theta', (x) => x > 0, 'θ > 0'),
    quality: stringOption(args, 'quality'),
    sloMs: stringOption(args, 'slo-ms'),
    variant: stringOption(args, 'variant'),
    baseline: stringOption(args, 'baseline'),
  };
  // A profile (etok profile --out) is rendered as its own report; results files as the disclosure.
  const profile = readProfileIfAny(args.positionals, io.cwd);
  const text = profile
    ? renderProfile(profile, format)
    : renderReport(
        buildDisclosure(
          args.positionals.map((p) => ({ results: readResultsFile(p, io.cwd), source: p })),
          options,
        ),
        format,
      );
  const out = stringOption(args, 'out');
  if (out === undefined) {
    io.stdout.write(text);
    return 0;
  }
  writeTextAtomic(out, io.cwd, text);
  io.stderr.write(`etok: wrote ${format} report to ${out}\n`);
  return 0;
}
