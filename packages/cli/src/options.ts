// Options as data: every flag is declared once; parsing and --help are generated from the table.
import { parseArgs } from 'node:util';
import { EtokError, maxOf } from '@etok/core';

export interface OptionSpec {
  name: string;
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in help, e.g. LIST or N. */
  value?: string;
  default?: string;
  short?: string;
  multiple?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** Extra help text (examples, notes). */
  details?: string;
}

export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'json', type: 'boolean', description: 'machine-readable JSON on stdout (nothing else goes there)' },
  { name: 'help', type: 'boolean', short: 'h', description: 'show this help' },
];

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const all = [...spec.options, ...COMMON_OPTIONS];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of all)
    options[o.name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  // `--batch -3` would read as two flags; bind a negative-number value to its option so the value check names it.
  const bound: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      bound.push(...argv.slice(i)); // everything after -- belongs to the wrapped command, untouched
      break;
    }
    const name = argv[i]!.startsWith('--') ? argv[i]!.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      bound.push(`--${name}=${next}`);
      i++;
    } else bound.push(argv[i]!);
  }
  try {
    const parsed = parseArgs({ args: bound, options, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    const message = (error as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional argument.*$/, '');
    throw new EtokError('BAD_USAGE', `${message} (etok ${spec.name}); see 'etok ${spec.name} --help'`);
  }
}

export function renderHelp(spec: CommandSpec): string {
  const rows = [...spec.options, ...COMMON_OPTIONS].map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.default !== undefined ? ` (default: ${o.default})` : '';
    return [flag, `${o.description}${def}`] as const;
  });
  const width = maxOf(rows.map(([f]) => f.length)) + 2;
  const lines = [`etok ${spec.name} — ${spec.summary}`, '', `usage: ${spec.usage}`, '', 'options:'];
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${text}`);
  if (spec.details) lines.push('', spec.details);
  return `${lines.join('\n')}\n`;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return v[v.length - 1];
  return typeof v === 'string' ? v : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A comma-separated list (lists sweep as axes, docs/spec.md §6). */
export function listOption(args: ParsedArgs, name: string): string[] | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new EtokError('BAD_USAGE', `--${name} '${v}' has an empty item; give comma-separated values`);
  return items;
}

/** Positive integers, with k/K (×1024) allowed for sizes such as contexts. */
export function parsePositiveInt(name: string, text: string, allowK = false): number {
  const m = /^(\d+)([kK]?)$/.exec(text.trim());
  const value = m ? Number(m[1]) * (m[2] && allowK ? 1024 : 1) : Number.NaN;
  if (!m || (m[2] && !allowK) || !Number.isSafeInteger(value) || value < 1)
    throw new EtokError(
      'BAD_USAGE',
      `--${name} '${text}' is not a positive integer${allowK ? ' (k = ×1024 allowed)' : ''}`,
    );
  if (value > 2 ** 31 - 1)
    throw new EtokError('BAD_USAGE', `--${name} ${text} is too large (at most ${2 ** 31 - 1})`);
  return value;
}

export function intListOption(args: ParsedArgs, name: string, allowK = false): number[] | undefined {
  return listOption(args, name)?.map((s) => parsePositiveInt(name, s, allowK));
}

export function parseNumber(
  name: string,
  text: string,
  check: (x: number) => boolean,
  allowed: string,
): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || !check(x))
    throw new EtokError('BAD_USAGE', `--${name} '${text}' is not valid; expected ${allowed}`);
  return x;
}

export function choiceOption<T extends string>(
  args: ParsedArgs,
  name: string,
  choices: readonly T[],
): T | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v))
    throw new EtokError('BAD_USAGE', `--${name} '${v}' is not one of ${choices.join(', ')}`);
  return v as T;
}
