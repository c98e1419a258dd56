// What the user asked `etok bench` for, as core's BenchRequest: parsed and checked before anything runs, so bad
// input never half-writes a results file. `etok fleet` builds its tasks' requests with the same function.
import { type BenchRequest, DEFAULT_PARAMS, DTYPES, EtokError, PHASES, PROFILES, SUITES } from '@etok/core';
import { boundaryOf, pueOf } from '../option-fragments.js';
import {
  choiceOption,
  flag,
  intListOption,
  listOption,
  type ParsedArgs,
  parseNumber,
  parsePositiveInt,
  stringOption,
} from '../options.js';

export const BOUNDARIES = ['chip', 'server', 'rack', 'facility'] as const;

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
    pue: pueOf(args) ?? 1,
    boundary: boundaryOf(args) ?? 'chip',
  };
}
