// `etok fleet collect`: read every task file of a fleet, validate it (schema, one etok version), merge the files
// into one etok.results/v1 document per device model (merge.ts), and write them where `etok compare` and
// `etok report` read them. Bad input (an invalid file, mixed versions, a clash with a file collect did not write)
// stops before anything is written; missing or incomplete tasks are written as `complete: false` and exit 1.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { EtokError, parseResults } from '@etok/core';
import type { CommandIo } from '../io.js';
import { flag, type ParsedArgs, stringOption } from '../options.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { renderTable } from '../output/table.js';
import { readManifest } from './manifest.js';
import { mergeTaskFiles, type TaskFile } from './merge.js';

const TASK_FILE = /^task-(\d+)\.json$/;

/** A path as the user would type it: relative below the working directory, absolute elsewhere. */
function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function previousCollectOutput(path: string): boolean {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { fleet?: unknown };
    return typeof doc.fleet === 'object' && doc.fleet !== null;
  } catch {
    return false;
  }
}

export async function collect(args: ParsedArgs, io: CommandIo, dir: string): Promise<number> {
  const manifest = readManifest(dir);
  const out = resolve(io.cwd, stringOption(args, 'out') ?? join(dir, 'merged'));
  const known = new Set(manifest.tasks.map((t) => t.id));
  const files: TaskFile[] = [];
  const strays: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = TASK_FILE.exec(name);
    if (!m) continue;
    const taskId = Number(m[1]);
    if (!known.has(taskId)) {
      strays.push(name);
      continue;
    }
    const path = join(dir, name);
    files.push({ taskId, file: name, doc: parseResults(readFileSync(path, 'utf8'), path) });
  }
  if (files.length === 0)
    throw new EtokError(
      'MEASUREMENT_FAILED',
      `${dir} holds no task files yet (0 of ${manifest.tasks.length}); see 'etok fleet status --dir ${dir}'`,
    );
  const outcome = mergeTaskFiles(manifest, files, new Date());

  const targets = outcome.groups.map((g) => ({ g, path: join(out, `${g.slug}.json`) }));
  for (const { path } of targets)
    if (existsSync(path) && !previousCollectOutput(path))
      throw new EtokError(
        'BAD_USAGE',
        `${path} exists and was not written by etok fleet collect; choose another --out`,
      );
  try {
    mkdirSync(out, { recursive: true });
  } catch (error) {
    throw new EtokError(
      'BAD_USAGE',
      `--out ${out} is not a writable directory (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  for (const { g, path } of targets) writeJsonAtomic(path, g.doc);

  const problems: string[] = [];
  if (outcome.missingTasks.length > 0)
    problems.push(
      `missing: ${outcome.missingTasks.length} task(s) wrote no results file: ${outcome.missingTasks.join(', ')}`,
    );
  if (outcome.incompleteTasks.length > 0)
    problems.push(`incomplete: task(s) ${outcome.incompleteTasks.join(', ')} say complete: false`);
  if (outcome.missingConfigs.length > 0)
    problems.push(
      `missing: ${outcome.missingConfigs.length} configuration(s) not measured, e.g. ${outcome.missingConfigs[0]!.configId} (task ${outcome.missingConfigs[0]!.task})`,
    );
  const notes: string[] = [];
  for (const d of outcome.duplicates)
    notes.push(
      `duplicate: ${d.configId} on ${d.group} measured by task ${d.kept.task} (${d.kept.node}) and ${d.dropped.map((x) => `task ${x.task} (${x.node})`).join(', ')}; kept task ${d.kept.task}'s, the others are listed as replicas`,
    );
  for (const u of outcome.unexpected)
    notes.push(`unexpected: task ${u.task} measured ${u.configId}, which its slice did not plan`);
  for (const s of strays) notes.push(`ignored: ${s} is not a task of this fleet`);
  const version = files[0]!.doc.tool.version;
  if (version !== manifest.tool.version)
    notes.push(`the tasks ran etok ${version}; the fleet was submitted with ${manifest.tool.version}`);

  if (flag(args, 'json')) {
    io.stdout.write(
      `${JSON.stringify(
        {
          dir,
          out,
          complete: outcome.complete,
          files: targets.map(({ g, path }) => ({
            path,
            device: g.label,
            nodes: g.nodes,
            tasks: g.tasks,
            measurements: g.doc.measurements.length,
            meter: {
              id: g.doc.meter.id,
              kind: g.doc.meter.kind,
              method: g.doc.meter.method,
              boundary: g.doc.meter.boundary,
              measured: g.doc.meter.measured,
            },
            accounting: g.doc.accounting,
            complete: g.doc.complete,
          })),
          missingTasks: outcome.missingTasks,
          incompleteTasks: outcome.incompleteTasks,
          missingConfigs: outcome.missingConfigs,
          duplicates: outcome.duplicates,
          unexpected: outcome.unexpected,
          ignored: strays,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout.write(
      renderTable(
        [
          { header: 'device model' },
          { header: 'nodes' },
          { header: 'tasks', align: 'right' },
          { header: 'configs', align: 'right' },
          { header: 'energy' },
          { header: 'boundary' },
          { header: 'complete' },
          { header: 'file' },
        ],
        targets.map(({ g, path }) => [
          g.label,
          g.nodes.join(','),
          String(g.tasks.length),
          String(g.doc.measurements.length),
          `${g.doc.meter.measured ? 'measured' : 'MODELED'}: ${g.doc.meter.id} ${g.doc.meter.method} (${g.doc.meter.boundary})`,
          `${g.doc.accounting.boundary}, PUE ${g.doc.accounting.pue}`,
          g.doc.complete ? 'yes' : 'no',
          shown(io.cwd, path),
        ]),
      ),
    );
    for (const p of problems) io.stderr.write(`${p}\n`);
    for (const n of notes) io.stderr.write(`note: ${n}\n`);
    const list = targets.map(({ path }) => shown(io.cwd, path)).join(' ');
    io.stderr.write(`compare them: etok compare ${list}\n`);
  }
  return problems.length > 0 ? 1 : 0;
}
