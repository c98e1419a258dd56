// The README's typical session, run as written: its code block is read from README.md, each line run in order (with
// `npx etok` the CLI of this checkout) in a clean directory that sees the repository's examples/, and each step's
// output checked. A README that drifts from what etok does fails here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from './helpers/run-etok.js';

const cli = join(repoRoot, 'packages', 'cli', 'bin', 'etok.mjs');
const numpy =
  spawnSync(process.env.ETOK_PYTHON || 'python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** The lines of the code block under "### Typical session", comments dropped. */
function sessionLines(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Typical session'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

/** Runs one README line: `npx etok ARGS` is this checkout's CLI; arguments are split on spaces (none are quoted). */
function runLine(line: string, cwd: string) {
  const words = line.split(/\s+/);
  expect(words.slice(0, 2), line).toEqual(['npx', 'etok']);
  return spawnSync(process.execPath, [cli, ...words.slice(2)], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe("the README's typical session", () => {
  it('runs as written, each step saying what it should', () => {
    const lines = sessionLines();
    expect(lines).toHaveLength(6);
    const dir = tempDir('etok-readme-');
    symlinkSync(join(repoRoot, 'examples'), join(dir, 'examples'));
    const [bench, phi, tpf, report, python, regions] = lines.map((l) => ({ line: l }));

    const b = runLine(bench!.line, dir);
    expect(b.status, b.stderr).toBe(0);
    const doc = parseResults(readFileSync(join(dir, 'r.json'), 'utf8'), 'r.json');
    expect(doc.measurements.map((m) => m.variant).sort()).toEqual(
      [
        'dense',
        'kv-int8',
        'mla',
        'mla+kv-int8',
        'mla+sparse',
        'mla+sparse+kv-int8',
        'sparse',
        'sparse+kv-int8',
      ].sort(),
    );
    expect(b.stdout).toMatch(/^levers at decode f32 b1 ctx4096 h32\/8 — Φ on J\/token against dense/m);
    expect(b.stdout).toMatch(/^next: etok phi r\.json/m);

    const p = runLine(phi!.line, dir);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/baseline dense/);
    // On a machine busy with other work the baseline can drift between its timing and energy phases; then phi must
    // say so rather than attribute a gain to measurements it does not trust.
    const dense = doc.measurements.find((m) => m.variant === 'dense');
    if (dense?.valid) expect(p.stdout).toMatch(/attribution of .* \((Shapley over log Φ_e|path)/);
    else
      expect(p.stdout).toMatch(/no attribution: baseline dense misses the gate \(invalid measurement: \S+/);

    const t = runLine(tpf!.line, dir);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^measurement: \S+ \(.*the lowest J\/token of the \d+ lever set\(s\)/m);
    expect(t.stdout).toMatch(/K_eff .*× 8 devices/);
    expect(t.stdout).toMatch(/e_tok .*MODELED/);
    expect(t.stdout).toMatch(/^Q̇ = .* \((compute|power)-bound\)$/m);

    const r = runLine(report!.line, dir);
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).toMatch(/MODELED/);

    if (numpy) {
      const py = runLine(python!.line, dir);
      expect(py.status, py.stderr).toBe(0);
      expect(py.stdout).toMatch(/^numpy-dense\s+decode/m);
      expect(py.stdout).toMatch(/^dense\s+decode/m);
    }

    const g = runLine(regions!.line, dir);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/decode-step\s+3\b/);
    const written = readdirSync(dir).filter((f) => f.startsWith('etok-regions-') && f.endsWith('.json'));
    expect(written).toHaveLength(1);
    expect(existsSync(join(dir, written[0]!))).toBe(true);
  }, 600_000);
});
