// Options several commands take, declared once with their one parser: the accounting (--facility-power, --pue,
// --theta, --util, --boundary) and the fixed operating point (--quality, --slo-ms). A value is read the same way
// by every command, and a bad one is named in one line with what is expected.
import { AccountingBoundarySchema, EtokError, parseAmount } from '@etok/core';
import { type OptionSpec, type ParsedArgs, stringOption } from './options.js';

export const FACILITY_POWER_OPTION: OptionSpec = {
  name: 'facility-power',
  type: 'string',
  value: 'W',
  description: 'facility power before PUE, wall-plug (suffixes k M G: 20M)',
};
export const PUE_OPTION: OptionSpec = { name: 'pue', type: 'string', value: 'X', description: 'PUE ≥ 1' };
export const THETA_OPTION: OptionSpec = {
  name: 'theta',
  type: 'string',
  value: 'θ',
  description: 'θ, the accounting conversion constant (> 0; 1 when e_tok and P are at one boundary)',
};
export const UTIL_OPTION: OptionSpec = {
  name: 'util',
  type: 'string',
  value: 'U',
  description: 'utilization U in (0, 1]',
};
export const BOUNDARY_OPTION: OptionSpec = {
  name: 'boundary',
  type: 'string',
  value: 'NAME',
  description: 'accounting boundary: chip, server, rack or facility',
};
export const QUALITY_OPTION: OptionSpec = {
  name: 'quality',
  type: 'string',
  value: 'GATE',
  description: 'quality target q*: rel-error<=X (vs fp64 dense), default (per KV format) or none',
};
export const SLO_OPTION: OptionSpec = {
  name: 'slo-ms',
  type: 'string',
  value: 'MS',
  description: 'service target s*: median ms per call, for both phases or decode=MS,prefill=MS',
};

/** A described option with another default or description for one command (the name and parser stay). */
export function withText(o: OptionSpec, text: { description?: string; default?: string }): OptionSpec {
  return { ...o, ...text };
}

function amountOf(
  args: ParsedArgs,
  name: string,
  check: (x: number) => boolean,
  expected: string,
): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const x = parseAmount(text);
  if (x === null || !Number.isFinite(x) || !check(x))
    throw new EtokError('BAD_USAGE', `--${name} '${text}' is not valid; expected ${expected}`);
  return x;
}

export const facilityPowerOf = (args: ParsedArgs) =>
  amountOf(args, 'facility-power', (x) => x > 0, 'watts > 0 (suffixes k M G, e.g. 20M)');
export const pueOf = (args: ParsedArgs) => amountOf(args, 'pue', (x) => x >= 1, 'a PUE ≥ 1');
export const thetaOf = (args: ParsedArgs) => amountOf(args, 'theta', (x) => x > 0, 'θ > 0');
export const utilOf = (args: ParsedArgs) =>
  amountOf(args, 'util', (x) => x > 0 && x <= 1, 'a utilization in (0, 1]');

export function boundaryOf(args: ParsedArgs): 'chip' | 'server' | 'rack' | 'facility' | undefined {
  const text = stringOption(args, 'boundary');
  if (text === undefined) return undefined;
  const b = AccountingBoundarySchema.safeParse(text);
  if (!b.success)
    throw new EtokError('BAD_USAGE', `--boundary '${text}' is not one of chip, server, rack, facility`);
  return b.data;
}
