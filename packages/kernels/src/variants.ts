// Lever sets (docs/spec.md §3): a variant is a set of levers written with `+`; the empty set is `dense`.
// Parsing canonicalises order so `sparse+mla` and `mla+sparse` name the same measurement.

export const LEVERS = ['mla', 'sparse', 'kv-int8', 'kv-int4', 'kv-fp8'] as const;
export type Lever = (typeof LEVERS)[number];
export type KvLever = Extract<Lever, `kv-${string}`>;

export const PHASES = ['decode', 'prefill'] as const;
export type Phase = (typeof PHASES)[number];

/** Element type of q, the output and (without a kv-* lever) the KV cache. */
export const DTYPES = ['f32', 'bf16', 'f16'] as const;
export type Dtype = (typeof DTYPES)[number];

export interface Variant {
  readonly mla: boolean;
  readonly sparse: boolean;
  readonly kv: KvLever | null;
}

export class VariantError extends Error {
  readonly code = 'BAD_VARIANT';
}

function isLever(word: string): word is Lever {
  return (LEVERS as readonly string[]).includes(word);
}

export function parseVariant(text: string): Variant {
  const trimmed = text.trim();
  if (trimmed === 'dense') return { mla: false, sparse: false, kv: null };
  if (trimmed === '')
    throw new VariantError(`empty variant; use dense or levers joined by + (${LEVERS.join(', ')})`);
  const words = trimmed.split('+');
  const unknown = words.find((w) => w !== 'dense' && !isLever(w));
  if (unknown !== undefined)
    throw new VariantError(
      `unknown lever '${unknown}' in variant '${text}'; levers are ${LEVERS.join(', ')}`,
    );
  if (words.includes('dense'))
    throw new VariantError(
      `variant '${text}' combines dense with levers; dense is the empty set, write the levers alone`,
    );
  const seen = new Set<Lever>();
  let kv: KvLever | null = null;
  for (const word of words) {
    if (!isLever(word)) {
      throw new VariantError(`unknown lever '${word}' in variant '${text}'; levers are ${LEVERS.join(', ')}`);
    }
    if (seen.has(word)) throw new VariantError(`lever '${word}' appears twice in variant '${text}'`);
    seen.add(word);
    if (word.startsWith('kv-')) {
      if (kv !== null)
        throw new VariantError(`variant '${text}' has two KV formats (${kv}, ${word}); use at most one kv-*`);
      kv = word as KvLever;
    }
  }
  return { mla: seen.has('mla'), sparse: seen.has('sparse'), kv };
}

export function variantLevers(variant: Variant): Lever[] {
  const levers: Lever[] = [];
  if (variant.mla) levers.push('mla');
  if (variant.sparse) levers.push('sparse');
  if (variant.kv) levers.push(variant.kv);
  return levers;
}

export function formatVariant(variant: Variant): string {
  const levers = variantLevers(variant);
  return levers.length === 0 ? 'dense' : levers.join('+');
}

/** Canonical spelling of a variant string (throws VariantError on a bad one). */
export function canonicalVariant(text: string): string {
  return formatVariant(parseVariant(text));
}

/** All 2^n subsets of the named levers, as canonical variants, smallest first (`--levers`). */
export function leverPowerSet(levers: readonly string[]): string[] {
  const unique = [...new Set(levers.map((l) => l.trim()))];
  for (const l of unique) {
    if (!isLever(l)) throw new VariantError(`unknown lever '${l}'; levers are ${LEVERS.join(', ')}`);
  }
  const out: string[] = [];
  for (let mask = 0; mask < 1 << unique.length; mask++) {
    const chosen = unique.filter((_, i) => mask & (1 << i));
    const kvCount = chosen.filter((l) => l.startsWith('kv-')).length;
    if (kvCount > 1) continue; // two KV formats cannot be combined; such subsets do not exist
    out.push(chosen.length === 0 ? 'dense' : canonicalVariant(chosen.join('+')));
  }
  return out.sort((a, b) => leverCount(a) - leverCount(b));
}

function leverCount(variant: string): number {
  return variant === 'dense' ? 0 : variant.split('+').length;
}

/** Every valid variant (dense, each lever, every combination). */
export function allVariants(): string[] {
  return leverPowerSet(['mla', 'sparse', 'kv-int8']).concat(
    leverPowerSet(['mla', 'sparse', 'kv-int4']).filter((v) => v.includes('kv-int4')),
    leverPowerSet(['mla', 'sparse', 'kv-fp8']).filter((v) => v.includes('kv-fp8')),
  );
}
