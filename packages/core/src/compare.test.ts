// compareResults: matched configurations, ratios with window-bootstrap CIs, verdicts only where the CI excludes 1,
// the mismatch guard and --fail-if-worse regressions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareResults } from './compare.js';
import { parseResults } from './results-file.js';
import type { Results } from './schemas.js';

const fixture = join(fileURLToPath(import.meta.url), '../../../../test/fixtures/report-levers.json');
const load = (): Results => parseResults(readFileSync(fixture, 'utf8'), 'report-levers.json');
const FAST = { resamples: 300 };

/** The same run with every window's joules scaled (a kernel that costs `factor` × the energy). */
function scaled(factor: number, only?: (id: string) => boolean): Results {
  const r = load();
  for (const m of r.measurements) {
    if (only && !only(m.id)) continue;
    for (const w of m.energy.windows) w.joules *= factor;
    m.energy.joulesPerCall *= factor;
    m.energy.joulesPerToken *= factor;
  }
  return r;
}

describe('compareResults', () => {
  it('matches every configuration and finds no difference against itself', () => {
    const c = compareResults(
      [
        { results: load(), source: 'a' },
        { results: load(), source: 'b' },
      ],
      FAST,
    );
    expect(c.configs).toHaveLength(24);
    expect(c.unmatched).toEqual([]);
    for (const cfg of c.configs) {
      const e = cfg.others[0]!;
      if (!cfg.baseline.id.startsWith('mla+sparse/') || cfg.shape.kvLen !== 16384) {
        expect(e.energy!.ratio).toBeCloseTo(1, 12);
        expect(e.energy!.verdict).toBe('no clear difference');
      }
    }
  });

  it('a 20% energy increase is worse with the CI above 1; --fail-if-worse 10 flags it, 30 does not', () => {
    const inputs = [
      { results: load(), source: 'v1' },
      { results: scaled(1.2), source: 'v2' },
    ];
    const c = compareResults(inputs, { ...FAST, failIfWorsePct: 10 });
    const dense = c.configs.find((x) => x.baseline.id === 'dense/decode/f32/b1/ctx1024/h32kv8d128')!;
    expect(dense.others[0]!.energy!.ratio).toBeCloseTo(1.2, 6);
    expect(dense.others[0]!.energy!.verdict).toBe('worse');
    expect(dense.others[0]!.energy!.ci!.low).toBeGreaterThan(1.1);
    expect(c.regressions.filter((r) => r.metric === 'energy').length).toBe(23); // all valid configurations
    expect(compareResults(inputs, { ...FAST, failIfWorsePct: 30 }).regressions).toEqual([]);
    // The other way round it is better, and never a regression.
    const back = compareResults([inputs[1]!, inputs[0]!], { ...FAST, failIfWorsePct: 0 });
    expect(back.configs[0]!.others[0]!.energy!.verdict).toBe('better');
    expect(back.regressions.filter((r) => r.metric === 'energy')).toEqual([]);
  });

  it('gives no verdict for an invalid measurement on either side', () => {
    const c = compareResults(
      [
        { results: load(), source: 'a' },
        { results: load(), source: 'b' },
      ],
      FAST,
    );
    const bad = c.configs.find((x) => x.baseline.id === 'mla+sparse/decode/f32/b1/ctx16384/h32kv8d128')!;
    expect(bad.others[0]!.energy!.verdict).toBe('invalid');
    expect(bad.others[0]!.energy!.ratio).toBeNull();
    // Drift makes it invalid; the file's older 'ci-not-reached' is a precision warning, not a reason.
    expect(bad.others[0]!.note).toMatch(/invalid \(drift\)/);
  });

  it('refuses different boundaries, meters or methods unless allowed, then lists the mismatch', () => {
    const other = load();
    other.accounting = { ...other.accounting, boundary: 'server' };
    other.device = { ...other.device, name: 'another GPU' };
    const inputs = [
      { results: load(), source: 'a.json' },
      { results: other, source: 'b.json' },
    ];
    expect(() => compareResults(inputs, FAST)).toThrow(/accounting boundary differs \(server vs chip\)/);
    const c = compareResults(inputs, { ...FAST, allowMismatch: true });
    expect(c.mismatches).toHaveLength(1);
    const rapl = load();
    rapl.meter = { ...rapl.meter, id: 'rapl', kind: 'rapl', boundary: 'package' };
    expect(() =>
      compareResults(
        [
          { results: load(), source: 'a' },
          { results: rapl, source: 'r' },
        ],
        FAST,
      ),
    ).toThrow(/meter kind differs/);
  });

  it('lists configurations with no counterpart and refuses when nothing matches', () => {
    const few = load();
    few.measurements = few.measurements.filter((m) => m.shape.kvLen === 1024);
    const c = compareResults(
      [
        { results: load(), source: 'all' },
        { results: few, source: 'few' },
      ],
      FAST,
    );
    expect(c.configs).toHaveLength(8);
    expect(c.unmatched).toHaveLength(16);
    const none = load();
    none.measurements = none.measurements.map((m) => ({ ...m, dtype: 'bf16' }));
    expect(() =>
      compareResults(
        [
          { results: few, source: 'few' },
          { results: none, source: 'none' },
        ],
        FAST,
      ),
    ).toThrow(/no configuration/);
  });

  it('uses the chosen baseline', () => {
    const c = compareResults(
      [
        { results: scaled(1.5), source: 'slow' },
        { results: load(), source: 'fast' },
      ],
      { ...FAST, baseline: 1 },
    );
    expect(c.baseline).toBe(1);
    expect(c.configs[0]!.others[0]!.energy!.ratio).toBeCloseTo(1.5, 6);
    expect(() => compareResults([{ results: load(), source: 'a' }], FAST)).toThrow(/at least two/);
  });
});
