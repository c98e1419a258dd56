#!/usr/bin/env node
// The first minute of a new user: `etok bench --suite quick` as the README's first command runs it, timed from start
// to exit, and what it told: how many lever sets are usable, and the largest saving against dense (Φ on J/token with
// its interval, from `etok phi`). Prints a table; writes bench/results/quick-suite-<date-time>.json with device,
// date and commit. Needs the build (npm run build). Usage: node bench/quick-suite.mjs [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages', 'cli', 'bin', 'etok.mjs');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;

function etok(args, cwd) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`etok ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const rows = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'etok-quick-'));
  const t0 = process.hrtime.bigint();
  const table = etok(['bench', '--suite', 'quick', '--out', 'r.json'], dir);
  const seconds = Number(process.hrtime.bigint() - t0) * 1e-9;
  const doc = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  const phi = JSON.parse(etok(['phi', 'r.json', '--json'], dir));
  const usable = doc.measurements.filter((m) => m.valid !== false).length;
  const best = phi.sets
    .filter((s) => s.pass && s.phiEnergy !== null && s.variant !== phi.baseline)
    .reduce((b, s) => (!b || s.phiEnergy > b.phiEnergy ? s : b), null);
  rows.push({
    seconds,
    sets: doc.measurements.length,
    usable,
    imprecise: doc.measurements.filter((m) => (m.warnings ?? []).includes('ci-not-reached')).length,
    best: best && { variant: best.variant, phiEnergy: best.phiEnergy, ci: best.ci },
    headline: table.split('\n').filter((l) => l.startsWith('levers at') || l.startsWith('  ')),
    meter: doc.meter,
  });
  const b = rows.at(-1);
  console.log(
    `run ${i + 1}: ${b.seconds.toFixed(1)} s, ${b.usable}/${b.sets} usable (${b.imprecise} with a CI wider than the target), ${b.best ? `best ${b.best.variant} ×${b.best.phiEnergy.toFixed(2)} [${b.best.ci?.low.toFixed(2)}, ${b.best.ci?.high.toFixed(2)}]` : 'no set passed the gate (see etok phi)'} on J/token (${doc.meter.measured ? 'measured' : 'MODELED'})`,
  );
}

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root }).toString().trim();
  if (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root }).toString().trim())
    commit += '-dirty';
} catch {}
const date = new Date().toISOString();
const out = join(root, 'bench', 'results', `quick-suite-${date.slice(0, 19).replace(/:/g, '')}.json`);
mkdirSync(dirname(out), { recursive: true });
const cpu = JSON.parse(etok(['devices', '--json'], root)).devices.find((d) => d.id === 'cpu');
writeFileSync(
  out,
  `${JSON.stringify({ bench: 'quick-suite', date, commit, device: { ...cpu, logicalCores: cpus().length }, runs: rows }, null, 2)}\n`,
);
console.error(`results: ${out}`);
