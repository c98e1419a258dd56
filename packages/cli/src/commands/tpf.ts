// `etok tpf`: the energy-to-token production function Q̇ = min(K_eff/c_tok, θ·P_facility/e_tok) × Φ × U at one
// operating point (from a results file and/or flags), the binding stave and ρ − ρ*, optionally scaled to a named
// model and swept over one parameter. All figures come from @etok/core; this file parses flags and prints.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BUILTIN_MODELS,
  chooseForTpf,
  EtokError,
  type FlopsPerSecond,
  type FlopsPerToken,
  familyRows,
  flopsPerSecond,
  flopsPerToken,
  formatQuantity,
  type JoulesPerToken,
  joulesPerToken,
  type Measurement,
  type ModelDescription,
  type ModelScaling,
  modelFileUrl,
  PHASES,
  parseAmount,
  parseModelDescription,
  parseSweep,
  productionFunction,
  type Ratio,
  type Results,
  resolveGates,
  type SweepResult,
  scaleToModel,
  selectMeasurement,
  sweepProductionFunction,
  type TpfInputs,
  type TpfResult,
  tpfFiguresFromMeasurement,
  watts,
} from '@etok/core';
import { canonicalVariant } from '@etok/kernels';
import type { CommandIo } from '../io.js';
import {
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
  name: 'tpf',
  summary: 'the energy-to-token production function: Q̇, both ceilings, the binding stave and ρ − ρ*',
  usage:
    'etok tpf [--results FILE [--variant V] [--model NAME]] [--keff FLOP/s] [--ctok FLOP] [--etok J] --facility-power W [--pue X] [--theta X] [--util X] [--phi X] [--sweep NAME=A:B] [--json]',
  options: [
    {
      name: 'results',
      type: 'string',
      value: 'FILE',
      description: 'take e_tok, c_tok and realized K_eff from a measurement',
    },
    {
      name: 'measurement',
      type: 'string',
      value: 'ID',
      description: 'which measurement of the file (by id)',
    },
    {
      name: 'variant',
      type: 'string',
      value: 'VARIANT',
      description: 'which measurement of the file (by lever set)',
    },
    {
      name: 'phase',
      type: 'string',
      value: 'PHASE',
      description: 'which measurement of the file (by phase)',
    },
    withText(QUALITY_OPTION, {
      description:
        'with several lever sets in --results: q* for choosing the best (default: what bench recorded)',
    }),
    withText(SLO_OPTION, { description: 'with several lever sets in --results: s* for choosing the best' }),
    {
      name: 'model',
      type: 'string',
      value: 'NAME|FILE',
      description: `scale the attention measurement to a model: ${BUILTIN_MODELS.join(', ')} or an etok.model/v1 file`,
    },
    {
      name: 'non-attention-j',
      type: 'string',
      value: 'J',
      description:
        'with --model: joules per token outside attention (then e_tok and c_tok cover the whole model)',
    },
    {
      name: 'keff',
      type: 'string',
      value: 'FLOP/s',
      description: 'effective compute K_eff (suffixes k M G T P allowed)',
    },
    {
      name: 'peak-keff',
      type: 'string',
      value: 'FLOP/s',
      description: 'peak compute, reported beside (labelled peak)',
    },
    {
      name: 'devices',
      type: 'string',
      value: 'N',
      description:
        'devices the facility power feeds: K_eff from the results is one device’s, so it is scaled by N',
    },
    { name: 'ctok', type: 'string', value: 'FLOP', description: 'c_tok, FLOPs per token' },
    { name: 'etok', type: 'string', value: 'J', description: 'e_tok, joules per token' },
    FACILITY_POWER_OPTION,
    withText(PUE_OPTION, { description: 'PUE ≥ 1 (default: the results file’s, else 1)' }),
    withText(THETA_OPTION, { default: '1' }),
    withText(UTIL_OPTION, { default: '1' }),
    {
      name: 'phi',
      type: 'string',
      value: 'X',
      default: '1',
      description: 'Φ_system (e.g. the composed Φ from etok phi)',
    },
    {
      name: 'sweep',
      type: 'string',
      value: 'NAME=RANGE',
      description:
        'what-if: pue, facility-power, phi, theta, util, keff, ctok or etok = A:B, A:B:STEP, A:B/N or A,B,C',
    },
  ],
  details: [
    'ρ = e_tok/c_tok and ρ* = θ·P_facility/K_eff in J/PFLOP: ρ − ρ* > 0 is power-bound, < 0 compute-bound.',
    'Example: etok tpf --results r.json --variant kv-int8 --model llama-3-8b --facility-power 20M --pue 1.2 --sweep pue=1.1:2.0',
  ].join('\n'),
};

/** A number with an optional SI suffix (k M G T P): `20M`, `312T`, `1.5e-3`. Range checks are core's. */
function amount(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const x = parseAmount(text);
  if (x === null)
    throw new EtokError('BAD_USAGE', `--${name} '${text}' is not a number (suffixes k, M, G, T, P allowed)`);
  return x;
}

function loadModel(ref: string, cwd: string): ModelDescription {
  if ((BUILTIN_MODELS as readonly string[]).includes(ref))
    return parseModelDescription(readFileSync(modelFileUrl(ref), 'utf8'), `model ${ref}`);
  const path = resolve(cwd, ref);
  if (!existsSync(path))
    throw new EtokError(
      'BAD_USAGE',
      `--model '${ref}' is neither a shipped model (${BUILTIN_MODELS.join(', ')}) nor a model description file`,
    );
  return parseModelDescription(readFileSync(path, 'utf8'), ref);
}

interface TpfOutput extends TpfResult {
  energy?: string;
  model?: ModelScaling;
  sweep?: SweepResult;
  /** The measurement read when the file holds several and none was named, and why it. */
  selected?: { id: string; reason: string };
  warnings?: string[];
}

function buildInputs(
  args: ParsedArgs,
  io: CommandIo,
): {
  inputs: TpfInputs;
  doc?: Results;
  model?: ModelScaling;
  selected?: { id: string; reason: string };
  warnings: string[];
} {
  const resultsPath = stringOption(args, 'results');
  const modelRef = stringOption(args, 'model');
  const naJ = amount(args, 'non-attention-j');
  if (resultsPath === undefined) {
    for (const name of ['measurement', 'variant', 'phase', 'model'])
      if (stringOption(args, name) !== undefined)
        throw new EtokError('BAD_USAGE', `--${name} needs --results FILE (it picks or scales a measurement)`);
  } else if (naJ !== undefined && modelRef === undefined)
    throw new EtokError('BAD_USAGE', '--non-attention-j needs --model');

  let measured: Partial<Pick<TpfInputs, 'kEff' | 'cTok' | 'eTok'>> = {};
  let sources: NonNullable<TpfInputs['sources']> = {};
  let doc: Results | undefined;
  let model: ModelScaling | undefined;
  let selected: { id: string; reason: string } | undefined;
  let deviceW: number | undefined;
  if (resultsPath !== undefined) {
    doc = readResultsFile(resultsPath, io.cwd);
    const variant = stringOption(args, 'variant');
    const id = stringOption(args, 'measurement');
    const phase = choiceOption(args, 'phase', PHASES);
    const canonical = doc.measurements.map((m) => {
      try {
        return { ...m, variant: canonicalVariant(m.variant) };
      } catch {
        return m;
      }
    });
    let m: Measurement;
    if (id === undefined && variant === undefined && familyRows(canonical).length > 1) {
      // Several lever sets and none named: the best that meets (q*, s*), said plainly.
      const gates = resolveGates(
        { quality: stringOption(args, 'quality'), sloMs: stringOption(args, 'slo-ms') },
        doc,
      );
      const chosen = chooseForTpf(
        canonical.filter((x) => phase === undefined || x.phase === phase),
        gates,
      );
      m = chosen.measurement;
      selected = { id: m.id, reason: chosen.reason };
    } else {
      m = selectMeasurement(canonical, {
        ...(id !== undefined ? { id } : {}),
        ...(variant !== undefined ? { variant: canonicalVariant(variant) } : {}),
        ...(phase !== undefined ? { phase } : {}),
      });
    }
    deviceW = m.energy.avgPowerW;
    const f = tpfFiguresFromMeasurement(m, !doc.meter.measured);
    measured = f;
    sources = { ...f.sources };
    if (modelRef !== undefined) {
      model = scaleToModel(
        m,
        loadModel(modelRef, io.cwd),
        naJ !== undefined ? { nonAttentionJoulesPerToken: naJ } : {},
      );
      const label = `${model.model} (${model.scope}) from ${m.id}`;
      measured = { eTok: model.eTok, cTok: model.cTok, kEff: model.kEff };
      sources = { eTok: `${label}`, cTok: `${label}`, kEff: `realized by the attention kernel: ${m.id}` };
    }
  }
  const pick = <T extends number>(
    name: 'keff' | 'ctok' | 'etok',
    fromResults: T | undefined,
    key: 'kEff' | 'cTok' | 'eTok',
  ) => {
    const given = amount(args, name);
    if (given !== undefined) {
      sources[key] = 'flag';
      return given as T;
    }
    if (fromResults === undefined)
      throw new EtokError('BAD_USAGE', `--${name} is required without --results (or give --results FILE)`);
    return fromResults;
  };
  const devicesText = stringOption(args, 'devices');
  const devices = devicesText === undefined ? 1 : parsePositiveInt('devices', devicesText);
  if (devices > 1 && measured.kEff !== undefined) {
    measured.kEff = flopsPerSecond(measured.kEff * devices);
    sources.kEff = `${sources.kEff} × ${devices} devices`;
  }
  const kEff = pick<FlopsPerSecond>('keff', measured.kEff, 'kEff');
  const cTok = pick<FlopsPerToken>('ctok', measured.cTok, 'cTok');
  const eTok = pick<JoulesPerToken>('etok', measured.eTok, 'eTok');
  const facility = facilityPowerOf(args);
  if (facility === undefined)
    throw new EtokError(
      'BAD_USAGE',
      '--facility-power W is required (the facility power budget, before PUE; e.g. 20M)',
    );
  const pue = pueOf(args) ?? doc?.accounting.pue ?? 1;
  const warnings: string[] = [];
  // One device's realised rate against a facility's power: the compute ceiling would be one device's, not the
  // facility's (the power ceiling feeds thousands of them).
  if (
    sources.kEff !== 'flag' &&
    devices === 1 &&
    deviceW !== undefined &&
    deviceW > 0 &&
    facility > 50 * deviceW
  )
    warnings.push(
      `K_eff is one device's realised rate (${formatQuantity(measured.kEff ?? 0, 'FLOP/s')}) while the facility power (${formatQuantity(facility, 'W')}) feeds about ${Math.round(facility / deviceW)} devices of its ${formatQuantity(deviceW, 'W')}: scale with --devices N or give --keff`,
    );
  const peak = amount(args, 'peak-keff');
  if (peak !== undefined) sources.peakKEff = 'flag (peak)';
  return {
    inputs: {
      kEff: flopsPerSecond(kEff),
      cTok: flopsPerToken(cTok),
      eTok: joulesPerToken(eTok),
      facilityPower: watts(facility),
      pue: pue as Ratio,
      theta: (thetaOf(args) ?? 1) as Ratio,
      utilization: (utilOf(args) ?? 1) as Ratio,
      phi: (amount(args, 'phi') ?? 1) as Ratio,
      ...(peak !== undefined ? { peakKEff: flopsPerSecond(peak) } : {}),
      sources,
    },
    ...(doc ? { doc } : {}),
    ...(model ? { model } : {}),
    ...(selected ? { selected } : {}),
    warnings,
  };
}

const q = formatQuantity;

/** A swept value in its unit; dimensionless ones plainly (PUE 1.3, not ×1.30). */
function sweptValue(x: number, unit: SweepResult['unit']): string {
  return unit === '1' ? String(Number(x.toPrecision(4))) : q(x, unit, 4);
}

function renderResult(out: TpfOutput): string {
  const i = out.inputs;
  const s = i.sources;
  const lines = [
    'Q̇ = min(K_eff/c_tok, θ·P_facility/e_tok) × Φ × U',
    ...(out.energy ? [`energy: ${out.energy}`] : []),
    ...(out.selected ? [`measurement: ${out.selected.id} (${out.selected.reason})`] : []),
    ...(out.warnings ?? []).map((w) => `warning: ${w}`),
    ...(out.model
      ? [
          `model: ${out.model.model}, ${out.model.scope} (attention ${q(out.model.attention.joulesPerToken, 'J/token')}, ${q(out.model.attention.flopsPerToken, 'FLOP/token')}; non-attention ${out.model.nonAttention.flopsPerToken === null ? '—' : q(out.model.nonAttention.flopsPerToken, 'FLOP/token')}, ${out.model.nonAttention.joulesPerToken === null ? 'J unknown' : q(out.model.nonAttention.joulesPerToken, 'J/token')}) at ${out.model.at.phase} batch ${out.model.at.batch} ctx ${out.model.at.kvLen}`,
        ]
      : []),
    '',
    renderTable(
      [{ header: 'input' }, { header: 'value', align: 'right' }, { header: 'source' }],
      [
        ['K_eff', q(i.kEffFlopsPerS, 'FLOP/s'), s.kEff ?? 'flag'],
        ['c_tok', q(i.cTokFlopsPerToken, 'FLOP/token'), s.cTok ?? 'flag'],
        ['e_tok', q(i.eTokJoulesPerToken, 'J/token'), s.eTok ?? 'flag'],
        ['facility power', q(i.facilityPowerW, 'W'), 'flag'],
        ['PUE', i.pue.toPrecision(3), ''],
        ['P_facility = power/PUE', q(out.itPowerW, 'W'), ''],
        ['θ', String(i.theta), ''],
        ['U', String(i.utilization), ''],
        ['Φ', String(i.phi), ''],
      ],
    ),
    renderTable(
      [{ header: 'stave' }, { header: 'ceiling', align: 'right' }, { header: '' }],
      [
        [
          'compute  K_eff/c_tok',
          q(out.computeCeiling, 'tokens/s'),
          out.binding === 'compute' ? '← binding' : '',
        ],
        [
          'power    θ·P_facility/e_tok',
          q(out.powerCeiling, 'tokens/s'),
          out.binding === 'power' ? '← binding' : '',
        ],
      ],
    ),
    `Q̇ = ${q(out.qdot, 'tokens/s')} (${out.binding}-bound)`,
    `ρ = ${q(out.rho, 'J/PFLOP')}, ρ* = ${q(out.rhoStar, 'J/PFLOP')}, ρ − ρ* = ${q(out.rhoMinusRhoStar, 'J/PFLOP')}`,
  ];
  if (out.atPeak)
    lines.push(
      `at PEAK K_eff ${q(out.atPeak.kEffFlopsPerS, 'FLOP/s')} (a ceiling, not the operating point): Q̇ = ${q(out.atPeak.qdot, 'tokens/s')} (${out.atPeak.binding}-bound), ρ* = ${q(out.atPeak.rhoStar, 'J/PFLOP')}`,
    );
  if (out.sweep) {
    const sw = out.sweep;
    lines.push('', `sweep of ${sw.parameter}:`);
    lines.push(
      renderTable(
        [
          { header: sw.parameter, align: 'right' },
          { header: 'Q̇', align: 'right' },
          { header: 'compute ceiling', align: 'right' },
          { header: 'power ceiling', align: 'right' },
          { header: 'binding' },
          { header: 'ρ − ρ*', align: 'right' },
        ],
        sw.rows.map((r) => [
          sweptValue(r.value, sw.unit),
          q(r.qdot, 'tokens/s'),
          q(r.computeCeiling, 'tokens/s'),
          q(r.powerCeiling, 'tokens/s'),
          r.binding,
          q(r.rhoMinusRhoStar, 'J/PFLOP'),
        ]),
      ).trimEnd(),
    );
    if (sw.crossover !== null)
      lines.push(
        `the binding stave flips at ${sw.parameter} = ${sweptValue(sw.crossover, sw.unit)} (ρ = ρ*)`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  if (args.positionals.length > 0)
    throw new EtokError(
      'BAD_USAGE',
      `etok tpf takes no positional arguments (got '${args.positionals[0]}'); use --results FILE`,
    );
  const sweepText = stringOption(args, 'sweep');
  const sweepSpec = sweepText === undefined ? undefined : parseSweep(sweepText);
  const { inputs, doc, model, selected, warnings } = buildInputs(args, io);
  const result = productionFunction(inputs);
  const out: TpfOutput = {
    ...result,
    ...(doc
      ? {
          energy: doc.meter.measured
            ? `measured (${doc.meter.id}, ${doc.meter.boundary})`
            : `MODELED (${doc.meter.id})`,
        }
      : {}),
    ...(model ? { model } : {}),
    ...(sweepSpec ? { sweep: sweepProductionFunction(inputs, sweepSpec) } : {}),
    ...(selected ? { selected } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  if (flag(args, 'json')) io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else io.stdout.write(renderResult(out));
  return 0;
}
