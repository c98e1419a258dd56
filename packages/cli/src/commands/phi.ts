// `etok phi RESULTS`: Φ of every measured lever set against the baseline at the fixed (q*, s*), the attribution
// of the composed set to its levers and the interaction term. All figures come from @etok/core (buildPhiJson);
// this file parses flags and prints.
import {
  buildPhiJson,
  type DeclaredLever,
  EtokError,
  formatQuantity,
  formatRatio,
  type Gates,
  PHASES,
  type PhiCi,
  type PhiReport,
  parseDeclaredLever,
  type Results,
  relErrorText,
  resolveGates,
} from '@etok/core';
import type { CommandIo } from '../io.js';
import { QUALITY_OPTION, SLO_OPTION, withText } from '../option-fragments.js';
import {
  type CommandSpec,
  choiceOption,
  flag,
  type ParsedArgs,
  parsePositiveInt,
  stringOption,
} from '../options.js';
import { renderTable } from '../output/table.js';
import { readResultsFile } from '../results-input.js';

export const spec: CommandSpec = {
  name: 'phi',
  summary: 'Φ per lever set against a baseline, Shapley attribution and interaction',
  usage:
    'etok phi RESULTS [--baseline V] [--family etok|torch|onnx] [--quality rel-error<=X] [--slo-ms MS] [--declare NAME=PHI]… [--compose V] [--json]',
  options: [
    {
      name: 'baseline',
      type: 'string',
      value: 'VARIANT',
      default: 'dense',
      description: 'the lever set Φ is measured against',
    },
    withText(QUALITY_OPTION, {
      description:
        'quality target q*: rel-error<=X (vs fp64 dense), default (per KV format) or none; falls back to what bench recorded',
    }),
    SLO_OPTION,
    {
      name: 'declare',
      type: 'string',
      value: 'NAME=PHI',
      multiple: true,
      description:
        'a lever etok does not measure, as a stated multiplier (labelled declared); repeat or comma-separate',
    },
    {
      name: 'compose',
      type: 'string',
      value: 'VARIANT',
      description: 'the composed set to attribute (default: the largest passing set)',
    },
    { name: 'phase', type: 'string', value: 'PHASE', description: 'only operating points of this phase' },
    {
      name: 'family',
      type: 'string',
      value: 'NAME',
      default: 'etok',
      description:
        "whose lever sets: etok (its own kernels) or a peer family measured with --peer (torch, onnx; each set's best implementation)",
    },
    {
      name: 'seed',
      type: 'string',
      value: 'N',
      default: '24301',
      description: 'bootstrap seed (reruns agree)',
    },
  ],
  details: [
    'Φ_e = e_tok(baseline)/e_tok(set) (energy stave), Φ_c = c_tok(baseline)/c_tok(set) (compute stave), with',
    '95% bootstrap CIs over the energy windows (paired when bench interleaved them). A set that misses q* or s*',
    'gets no Φ and is listed with the reason. Shares of the composed Φ are Shapley values over log Φ_e when every',
    'subset was measured, otherwise a stated path. Example: etok phi r.json --declare adaptive-reasoning=1.6',
  ].join('\n'),
};

function declaredFrom(args: ParsedArgs): DeclaredLever[] {
  const raw = args.values.declare;
  const items = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).flatMap((s) =>
    s.split(','),
  );
  return items.map(parseDeclaredLever);
}

function ciText(ci: PhiCi | null): string {
  return ci ? `${ci.low.toPrecision(3)}…${ci.high.toPrecision(3)}` : '—';
}

function pointText(r: PhiReport): string {
  const s = r.point.shape;
  const q = r.point.phase === 'prefill' ? ` q${s.qLen}` : '';
  return `${r.point.phase} ${r.point.dtype} b${s.batch} ctx${s.kvLen}${q} h${s.heads}`;
}

function gatesText(gates: Gates & { qualitySource: string; serviceSource: string }): string {
  const q =
    gates.quality.kind === 'rel-error'
      ? `rel-error<=${gates.quality.maxRelError}`
      : gates.quality.kind === 'defaults'
        ? 'rel-error per KV format (1e-2 none, 2e-2 kv-int8, 5e-2 kv-fp8, 1e-1 kv-int4)'
        : 'none (not checked)';
  const { decodeMs, prefillMs } = gates.service;
  const s =
    decodeMs === undefined && prefillMs === undefined
      ? 'none'
      : [
          decodeMs !== undefined && `decode ≤ ${decodeMs} ms`,
          prefillMs !== undefined && `prefill ≤ ${prefillMs} ms`,
        ]
          .filter(Boolean)
          .join(', ');
  return `q*: ${q} [${gates.qualitySource}]; s*: ${s} [${gates.serviceSource}]`;
}

function renderReport(r: PhiReport, modeled: boolean): string {
  const tag = modeled ? ' (modeled)' : '';
  const out: string[] = [
    `point: ${pointText(r)} — baseline ${r.baseline} (${r.baselineId})${r.family === 'etok' ? '' : `; family ${r.family}: each set's best implementation`}`,
  ];
  out.push(
    renderTable(
      [
        { header: 'set' },
        { header: 'gate' },
        { header: `Φ_e${tag}`, align: 'right' },
        { header: 'Φ_e 95% CI', align: 'right' },
        { header: 'Φ_c', align: 'right' },
        { header: 'speedup (Φ_t)', align: 'right' },
        { header: `J/token${tag}`, align: 'right' },
        { header: 'FLOP/token', align: 'right' },
        { header: 'err vs dense', align: 'right' },
        { header: 'note' },
      ],
      r.sets.map((s) => [
        s.variant,
        s.pass ? 'pass' : 'FAIL',
        s.phiEnergy === null ? '—' : formatRatio(s.phiEnergy),
        ciText(s.ci),
        s.phiCompute === null ? '—' : formatRatio(s.phiCompute),
        s.speedup === null ? '—' : formatRatio(s.speedup),
        formatQuantity(s.joulesPerToken, 'J/token'),
        formatQuantity(s.flopsPerToken, 'FLOP/token'),
        relErrorText(s.relErrorVsDense, s.qualitySample, '—'),
        [s.implementation, s.reason, ...s.warnings].filter(Boolean).join('; '),
      ]),
    ),
  );
  if (r.attribution.length > 0) {
    const how =
      r.attributionMethod === 'shapley'
        ? 'Shapley over log Φ_e'
        : r.attributionMethod === 'path'
          ? `path ${['∅', ...(r.path ?? [])].join(' → ')}`
          : 'none';
    out.push(`attribution of ${r.composedVariant ?? '(no measured set)'} (${how}):`);
    out.push(
      renderTable(
        [
          { header: 'lever' },
          { header: 'Φ_e share', align: 'right' },
          { header: '95% CI', align: 'right' },
          { header: 'Φ_c share', align: 'right' },
          { header: 'source' },
        ],
        r.attribution.map((a) => [
          a.lever,
          a.phi === null ? '—' : formatRatio(a.phi),
          ciText(a.ci),
          a.phiCompute === null ? '—' : formatRatio(a.phiCompute),
          a.declared ? 'DECLARED (stated, not measured)' : `measured${tag}`,
        ]),
      ),
    );
  }
  out.push(
    `composed Φ${r.attribution.some((a) => a.declared) ? ` (Φ_e of ${r.composedVariant ?? 'the baseline'} × declared)` : '_e'}: ${r.composed === null ? '—' : formatRatio(r.composed)}${r.composedCi ? ` (95% CI ${ciText(r.composedCi)})` : ''}` +
      `; interaction Φ(S)/ΠΦ({i}): ${r.interaction === null ? '—' : formatRatio(r.interaction)}${r.interactionCi ? ` (95% CI ${ciText(r.interactionCi)})` : ''}`,
  );
  for (const m of r.missing) out.push(`missing subset ${m.variant}: ${m.reason}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return `${out.join('\n')}\n`;
}

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length !== 1)
    throw new EtokError(
      'BAD_USAGE',
      args.positionals.length === 0
        ? "etok phi needs a results file (etok phi RESULTS); see 'etok phi --help'"
        : `etok phi takes one results file, got ${args.positionals.length}`,
    );
  const path = args.positionals[0]!;
  const seedText = stringOption(args, 'seed');
  const phase = choiceOption(args, 'phase', PHASES);
  const declared = declaredFrom(args);
  const doc: Results = readResultsFile(path, io.cwd);
  const gates = resolveGates(
    { quality: stringOption(args, 'quality'), sloMs: stringOption(args, 'slo-ms') },
    doc,
  );
  const compose = stringOption(args, 'compose');
  const json = buildPhiJson(doc, {
    baseline: stringOption(args, 'baseline') ?? 'dense',
    family: stringOption(args, 'family') ?? 'etok',
    gates,
    declared,
    ...(compose !== undefined ? { compose } : {}),
    ...(phase !== undefined ? { phase } : {}),
    ...(seedText !== undefined ? { seed: parsePositiveInt('seed', seedText) } : {}),
  });
  if (flag(args, 'json')) {
    io.stdout.write(
      `${JSON.stringify({ ...json, gates: { quality: gates.quality, service: gates.service } }, null, 2)}\n`,
    );
    return 0;
  }
  const modeled = !doc.meter.measured;
  const header = [
    `energy: ${modeled ? `MODELED, not measured (${doc.meter.id})` : `measured by ${doc.meter.id} (boundary ${doc.meter.boundary})`}; ${path}`,
    gatesText(gates),
    '',
  ];
  io.stdout.write(`${header.join('\n')}${json.points.map((r) => renderReport(r, modeled)).join('\n')}`);
  return 0;
}
