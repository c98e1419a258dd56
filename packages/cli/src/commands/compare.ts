// `etok compare A.json B.json …`: matched configurations across runs or devices, as ratios against a baseline file
// with bootstrap CIs and a verdict only where the CI excludes 1 (compareResults in @etok/core); this file parses
// flags, prints the table and turns `--fail-if-worse` regressions into exit status 1.
import { resolve } from 'node:path';
import {
  type CompareEntry,
  type Comparison,
  compareResults,
  EtokError,
  formatQuantity,
  type RatioFigure,
} from '@etok/core';
import { EXIT_MEASUREMENT_FAILED, EXIT_OK } from '../exit-codes.js';
import type { CommandIo } from '../io.js';
import { type CommandSpec, flag, type ParsedArgs, parseNumber, stringOption } from '../options.js';
import { renderTable } from '../output/table.js';
import { readResultsFile } from '../results-input.js';

export const spec: CommandSpec = {
  name: 'compare',
  summary: 'matched configurations across runs or GPUs: J/token and time ratios with CIs',
  usage:
    'etok compare A.json B.json … [--baseline FILE|INDEX] [--fail-if-worse PCT] [--allow-mismatch] [--json]',
  options: [
    {
      name: 'baseline',
      type: 'string',
      value: 'FILE|INDEX',
      default: '1',
      description: 'the reference run: one of the files, or its position (1 = the first)',
    },
    {
      name: 'fail-if-worse',
      type: 'string',
      value: 'PCT',
      description:
        'exit 1 when a configuration is worse than the baseline by more than PCT % (CI excluding it)',
    },
    {
      name: 'allow-mismatch',
      type: 'boolean',
      description: 'compare runs whose meter kind, method or boundary differ (every row is marked)',
    },
    { name: 'seed', type: 'string', value: 'N', description: 'bootstrap seed (reruns agree)' },
  ],
  details: [
    'Ratios are other / baseline: > 1 means more joules (or seconds) per token than the baseline.',
    'CIs resample the energy windows of both runs independently (2000 resamples, 95%); time is seconds per',
    'call over the same windows. A verdict (better/worse on J/token) is given only where the CI excludes 1.',
    'Runs measured with different meter kinds, methods or boundaries are refused unless --allow-mismatch.',
  ].join('\n'),
};

function baselineIndex(text: string | undefined, files: string[], cwd: string): number {
  if (text === undefined) return 0;
  if (/^\d+$/.test(text)) {
    const i = Number(text);
    if (i < 1 || i > files.length)
      throw new EtokError('BAD_USAGE', `--baseline ${text} is not a file position (1–${files.length})`);
    return i - 1;
  }
  const i = files.findIndex((f) => resolve(cwd, f) === resolve(cwd, text));
  if (i < 0) throw new EtokError('BAD_USAGE', `--baseline ${text} is not one of the files compared`);
  return i;
}

function ratioText(f: RatioFigure | null): string {
  if (!f || f.ratio === null) return f?.verdict === 'invalid' ? 'INVALID' : '—';
  const ci = f.ci ? ` [${f.ci.low.toFixed(3)}, ${f.ci.high.toFixed(3)}]` : ' (no CI)';
  return `×${f.ratio.toFixed(3)}${ci}`;
}

function verdictText(e: CompareEntry, mismatch: boolean): string {
  const v = e.energy?.verdict ?? '—';
  const reg = e.energy?.regression || e.time?.regression ? ' REGRESSION' : '';
  return `${v}${reg}${mismatch ? ' (MISMATCHED energy)' : ''}${e.note ? `; ${e.note}` : ''}`;
}

function shapeText(s: Record<string, number>): string {
  return `b${s.batch ?? '?'} ctx ${s.kvLen ?? '?'} h${s.heads ?? '?'}/kv${s.kvHeads ?? '?'} d${s.headDim ?? '?'}`;
}

function renderComparison(c: Comparison): string {
  const out: string[] = [];
  if (c.mismatches.length > 0) {
    out.push(
      '!!! MISMATCHED ENERGY: these runs are not like for like; ratios below mix different meters or boundaries',
    );
    for (const m of c.mismatches) out.push(`!!!   ${m}`);
    out.push('');
  }
  out.push(
    renderTable(
      [
        { header: 'run' },
        { header: 'file' },
        { header: 'device' },
        { header: 'meter' },
        { header: 'boundary' },
      ],
      c.runs.map((r) => [
        `${r.index + 1}${r.index === c.baseline ? ' (baseline)' : ''}`,
        r.source,
        `${r.device.name} (${r.device.id})`,
        `${r.meter.id} ${r.meter.measured && r.meter.kind !== 'model' ? `measured, ${r.meter.method}` : 'MODELED'}`,
        r.accounting.boundary,
      ]),
    ),
  );
  const rows: string[][] = [];
  for (const cfg of c.configs)
    for (const e of cfg.others)
      rows.push([
        cfg.variant,
        cfg.phase,
        cfg.dtype,
        shapeText(cfg.shape),
        cfg.baseline.valid ? formatQuantity(cfg.baseline.joulesPerToken, 'J/token') : 'INVALID',
        `${e.run + 1}`,
        e.valid ? formatQuantity(e.joulesPerToken, 'J/token') : 'INVALID',
        ratioText(e.energy),
        ratioText(e.time),
        verdictText(e, c.mismatches.length > 0),
      ]);
  out.push(
    renderTable(
      [
        { header: 'lever set' },
        { header: 'phase' },
        { header: 'dtype' },
        { header: 'shape' },
        { header: 'J/token (baseline)', align: 'right' },
        { header: 'run', align: 'right' },
        { header: 'J/token', align: 'right' },
        { header: 'J/token ÷ baseline [95% CI]' },
        { header: 'time ÷ baseline [CI]' },
        { header: 'verdict (J/token)' },
      ],
      rows,
    ),
  );
  if (c.unmatched.length > 0) {
    const shown = c.unmatched.slice(0, 3).map((u) => `${u.id} (run ${u.run + 1})`);
    const more = c.unmatched.length > 3 ? `, and ${c.unmatched.length - 3} more (--json lists them)` : '';
    out.push(
      `${c.unmatched.length} measurement(s) have no counterpart in the other run(s): ${shown.join(', ')}${more}`,
    );
  }
  for (const n of c.notes) out.push(`note: ${n}`);
  if (c.failIfWorsePct !== null)
    out.push(
      c.regressions.length > 0
        ? `FAIL: ${c.regressions.length} ratio(s) worse than the baseline by more than ${c.failIfWorsePct}% with the CI excluding it`
        : `ok: no configuration is worse than the baseline by more than ${c.failIfWorsePct}% (CI)`,
    );
  return `${out.join('\n').trimEnd()}\n`;
}

export async function run(args: ParsedArgs, io: CommandIo): Promise<number> {
  const files = args.positionals;
  if (files.length < 2)
    throw new EtokError(
      'BAD_USAGE',
      "etok compare needs at least two results files; see 'etok compare --help'",
    );
  const pctText = stringOption(args, 'fail-if-worse');
  const failIfWorsePct =
    pctText === undefined
      ? undefined
      : parseNumber('fail-if-worse', pctText, (x) => x >= 0, 'a percentage ≥ 0');
  const seedText = stringOption(args, 'seed');
  const seed =
    seedText === undefined
      ? undefined
      : parseNumber('seed', seedText, (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0');
  const inputs = files.map((f) => ({ results: readResultsFile(f, io.cwd), source: f }));
  const comparison = compareResults(inputs, {
    baseline: baselineIndex(stringOption(args, 'baseline'), files, io.cwd),
    allowMismatch: flag(args, 'allow-mismatch'),
    ...(failIfWorsePct !== undefined ? { failIfWorsePct } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  if (comparison.mismatches.length > 0)
    io.stderr.write(
      `etok: WARNING: comparing mismatched energy (--allow-mismatch): ${comparison.mismatches.join('; ')}\n`,
    );
  if (flag(args, 'json')) io.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
  else io.stdout.write(renderComparison(comparison));
  return comparison.regressions.length > 0 ? EXIT_MEASUREMENT_FAILED : EXIT_OK;
}
