// Attribution of a composed lever set's gain to its levers (docs/spec.md §1). The value of a subset T of levers is
// v(T) = log Φ_e(T); Shapley values of v sum to v(N) = log Φ_e(N), so the per-lever multipliers exp(φ_i)
// multiply back to the composed Φ exactly. When some subsets were not measured (or missed a gate), Shapley
// values are not defined; we then say which subsets are missing and fall back to a path decomposition: add the
// levers one at a time in a stated order along measured subsets, each lever's share being the ratio it adds.
// Shares along a path also multiply back to the composed Φ exactly, but depend on the order (which we print).

/** Subsets are bit masks over the n levers: bit i set = lever i present. */
export type SubsetValue = (mask: number) => number;

function factorial(k: number): number {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return f;
}

function popcount(mask: number): number {
  let c = 0;
  for (let m = mask; m; m &= m - 1) c++;
  return c;
}

/** Shapley values φ_i of the game v over n players (v(0) is subtracted, so v need not vanish on ∅). */
export function shapleyValues(n: number, v: SubsetValue): number[] {
  const full = (1 << n) - 1;
  const nf = factorial(n);
  const phi = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    for (let t = 0; t <= full; t++) {
      if (t & bit) continue;
      const s = popcount(t);
      const weight = (factorial(s) * factorial(n - s - 1)) / nf;
      phi[i]! += weight * (v(t | bit) - v(t));
    }
  }
  return phi;
}

/** Marginal contribution of each lever when added in `order` (a permutation of 0..n-1), starting from ∅. */
export function pathShares(order: readonly number[], v: SubsetValue): number[] {
  const shares = new Array<number>(order.length).fill(0);
  let mask = 0;
  for (const i of order) {
    const next = mask | (1 << i);
    shares[i] = v(next) - v(mask);
    mask = next;
  }
  return shares;
}

function permutations(items: readonly number[]): number[][] {
  if (items.length <= 1) return [[...items]];
  const out: number[][] = [];
  for (const [k, first] of items.entries()) {
    const rest = items.filter((_, j) => j !== k);
    for (const p of permutations(rest)) out.push([first, ...p]);
  }
  return out;
}

/**
 * The first order (lexicographic over lever indices, i.e. the stated lever order first) whose every prefix
 * subset is available, or null when no chain of available subsets leads from ∅ to the full set.
 */
export function findPath(
  n: number,
  available: (mask: number) => boolean,
  preferred?: readonly number[],
): number[] | null {
  const base = preferred ?? Array.from({ length: n }, (_, i) => i);
  for (const order of permutations(base)) {
    let mask = 0;
    let ok = true;
    for (const i of order) {
      mask |= 1 << i;
      if (!available(mask)) {
        ok = false;
        break;
      }
    }
    if (ok) return order;
  }
  return null;
}

/** Lever names of a subset mask, joined as in a variant string (`∅` for the empty set). */
export function maskLevers(levers: readonly string[], mask: number): string[] {
  return levers.filter((_, i) => mask & (1 << i));
}
