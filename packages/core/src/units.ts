// Units of the production function (docs/spec.md §1) as branded numbers, so that W, J, FLOP, J/PFLOP and tokens/s never
// mix silently: a `Joules` cannot be passed where `Watts` is expected without going through a named constructor.
// Brands exist only for the type checker; at run time (and in JSON) every quantity is a plain number.

declare const unitBrand: unique symbol;

/** A number tagged with its unit at the type level. */
export type Quantity<U extends Unit> = number & { readonly [unitBrand]: U };

/** Every unit etok reports. The string is also the unit's printed symbol. */
export const UNITS = [
  's',
  'W',
  'J',
  'FLOP',
  'FLOP/s',
  'FLOP/token',
  'J/token',
  'J/PFLOP',
  'tokens/s',
  '1',
] as const;
export type Unit = (typeof UNITS)[number];

export type Seconds = Quantity<'s'>;
export type Watts = Quantity<'W'>;
export type Joules = Quantity<'J'>;
export type Flops = Quantity<'FLOP'>;
export type FlopsPerSecond = Quantity<'FLOP/s'>;
export type FlopsPerToken = Quantity<'FLOP/token'>;
export type JoulesPerToken = Quantity<'J/token'>;
export type JoulesPerPetaflop = Quantity<'J/PFLOP'>;
export type TokensPerSecond = Quantity<'tokens/s'>;
/** A dimensionless ratio (PUE, θ, U, Φ). */
export type Ratio = Quantity<'1'>;

export const seconds = (x: number) => x as Seconds;
export const watts = (x: number) => x as Watts;
export const joules = (x: number) => x as Joules;
export const flops = (x: number) => x as Flops;
export const flopsPerSecond = (x: number) => x as FlopsPerSecond;
export const flopsPerToken = (x: number) => x as FlopsPerToken;
export const joulesPerToken = (x: number) => x as JoulesPerToken;
export const joulesPerPetaflop = (x: number) => x as JoulesPerPetaflop;
export const tokensPerSecond = (x: number) => x as TokensPerSecond;
export const ratio = (x: number) => x as Ratio;

/** FLOPs in one PFLOP: ρ and ρ* are computed in J/FLOP and reported in J/PFLOP (docs/spec.md §1). */
export const FLOP_PER_PFLOP = 1e15;

/** J/token ÷ FLOP/token = J/FLOP, returned in J/PFLOP. */
export function energyPerCompute(e: JoulesPerToken, c: FlopsPerToken): JoulesPerPetaflop {
  return joulesPerPetaflop((e / c) * FLOP_PER_PFLOP);
}

/** W ÷ FLOP/s = J/FLOP, returned in J/PFLOP. */
export function powerPerCompute(p: Watts, k: FlopsPerSecond): JoulesPerPetaflop {
  return joulesPerPetaflop((p / k) * FLOP_PER_PFLOP);
}

/** FLOP/s ÷ FLOP/token = tokens/s. */
export function computeRate(k: FlopsPerSecond, c: FlopsPerToken): TokensPerSecond {
  return tokensPerSecond(k / c);
}

/** W ÷ J/token = tokens/s. */
export function powerRate(p: Watts, e: JoulesPerToken): TokensPerSecond {
  return tokensPerSecond(p / e);
}

/** J per call ÷ tokens per call. */
export function perToken(j: Joules, tokens: number): JoulesPerToken {
  return joulesPerToken(j / tokens);
}

const SI_PREFIXES: readonly (readonly [number, string])[] = [
  [1e18, 'E'],
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'µ'],
  [1e-9, 'n'],
  [1e-12, 'p'],
];

/**
 * A number with its unit, for tables: SI prefixes for base units (1.23 mJ, 312 TFLOP/s, 4.1 k tokens/s);
 * J/PFLOP is already scaled and prints without a prefix; ratios print as ×N.
 */
export function formatQuantity(value: number, unit: Unit, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '1') return `×${value.toPrecision(digits)}`;
  if (unit === 'J/PFLOP') return `${value.toPrecision(digits)} J/PFLOP`;
  if (value === 0) return `0 ${unit}`;
  const abs = Math.abs(value);
  const [scale, prefix] = SI_PREFIXES.find(([s]) => abs >= s) ?? SI_PREFIXES[SI_PREFIXES.length - 1]!;
  // "k tokens/s" reads better with a space; "kW", "mJ", "TFLOP/s" take the prefix directly.
  const joined = unit === 'tokens/s' && prefix !== '' ? `${prefix} ${unit}` : `${prefix}${unit}`;
  return `${(value / scale).toPrecision(digits)} ${joined}`;
}

const SUFFIXES: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/**
 * A plain number with an optional SI suffix, as typed on a command line: `20M` (W), `312T` (FLOP/s), `1.5e-3`.
 * Returns null when the text is not such a number. (No `E` suffix: it would read as an exponent.)
 */
export function parseAmount(text: string): number | null {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([kMGTP]?)\s*$/.exec(text);
  return m ? Number(m[1]) * SUFFIXES[m[2]!]! : null;
}

/** A dimensionless multiplier such as Φ: "×1.84". */
export function formatRatio(value: number, digits = 3): string {
  return formatQuantity(value, '1', digits);
}
