// Merging a fleet's task files into one `etok.results/v1` document per device model (pure: parsed documents in,
// documents and findings out). Files measured at different boundaries or with different meter methods are never
// pooled: they become separate documents, each stating its own. A configuration measured twice for one device
// model (two nodes of the same GPU, or a rerun) is kept once — the first task's — and the others are listed as
// replicas, so `etok compare` sees one row per device model and configuration.
import { EtokError, type Measurement, RESULTS_SCHEMA_ID, type Results } from '@etok/core';
import type { FleetManifest } from './manifest.js';

export interface TaskFile {
  taskId: number;
  file: string;
  doc: Results;
}

export interface MergedGroup {
  /** A file-name-safe name of the device model (and meter, where one model was measured two ways). */
  slug: string;
  label: string;
  doc: Results;
  tasks: number[];
  nodes: string[];
}

export interface Duplicate {
  configId: string;
  group: string;
  kept: { task: number; node: string };
  dropped: { task: number; node: string }[];
}

export interface MergeOutcome {
  groups: MergedGroup[];
  duplicates: Duplicate[];
  /** Tasks without a results file. */
  missingTasks: number[];
  /** Configurations a present task should have measured and did not (incomplete file, failed configuration). */
  missingConfigs: { task: number; configId: string }[];
  /** Measurements a task file holds that its slice did not plan. */
  unexpected: { task: number; configId: string }[];
  incompleteTasks: number[];
  complete: boolean;
}

function nodeOf(doc: Results): string {
  const p = doc.provenance as { node?: unknown } | undefined;
  if (p && typeof p.node === 'string' && p.node) return p.node;
  const h = (doc as { host?: { hostname?: unknown } }).host;
  return typeof h?.hostname === 'string' ? h.hostname : 'unknown';
}

function groupKey(doc: Results): string {
  const m = doc.meter;
  const a = doc.accounting;
  return JSON.stringify([
    doc.device.name,
    m.kind,
    m.method,
    m.boundary,
    m.measured,
    a.boundary,
    a.pue,
    a.overhead,
  ]);
}

function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'device'
  );
}

/** Task files must come from one etok and one schema; otherwise the merge would compare unlike things. */
export function checkOneVersion(files: TaskFile[]): void {
  const byVersion = new Map<string, string>();
  for (const f of files) if (!byVersion.has(f.doc.tool.version)) byVersion.set(f.doc.tool.version, f.file);
  if (byVersion.size > 1) {
    const list = [...byVersion].map(([v, file]) => `${v} (${file})`).join(', ');
    throw new EtokError(
      'BAD_RESULTS',
      `task files come from different etok versions: ${list}; rerun the odd tasks with one version before collecting`,
    );
  }
  const schemas = new Set(files.map((f) => f.doc.schema));
  if (schemas.size > 1)
    throw new EtokError('BAD_RESULTS', `task files use different schemas: ${[...schemas].join(', ')}`);
}

export function mergeTaskFiles(manifest: FleetManifest, files: TaskFile[], createdAt: Date): MergeOutcome {
  checkOneVersion(files);
  const tasksById = new Map(manifest.tasks.map((t) => [t.id, t]));
  const sorted = [...files].sort((a, b) => a.taskId - b.taskId);
  const present = new Set(sorted.map((f) => f.taskId));
  const missingTasks = manifest.tasks.map((t) => t.id).filter((id) => !present.has(id));
  const missingConfigs: MergeOutcome['missingConfigs'] = [];
  const unexpected: MergeOutcome['unexpected'] = [];
  const incompleteTasks: number[] = [];
  const duplicates = new Map<string, Duplicate>();

  interface Building {
    key: string;
    first: TaskFile;
    measurements: Map<string, { m: Measurement; task: number; node: string }>;
    tasks: number[];
    nodes: Set<string>;
    complete: boolean;
  }
  const building = new Map<string, Building>();
  for (const f of sorted) {
    const task = tasksById.get(f.taskId);
    const node = nodeOf(f.doc);
    const planned = new Set(task?.configIds ?? []);
    const seenHere = new Set(f.doc.measurements.map((m) => m.id));
    for (const id of planned) if (!seenHere.has(id)) missingConfigs.push({ task: f.taskId, configId: id });
    if (!f.doc.complete) incompleteTasks.push(f.taskId);
    const key = groupKey(f.doc);
    let g = building.get(key);
    if (!g) {
      g = { key, first: f, measurements: new Map(), tasks: [], nodes: new Set(), complete: true };
      building.set(key, g);
    }
    g.tasks.push(f.taskId);
    g.nodes.add(node);
    if (!f.doc.complete || [...planned].some((id) => !seenHere.has(id))) g.complete = false;
    for (const m of f.doc.measurements) {
      if (task && !planned.has(m.id)) unexpected.push({ task: f.taskId, configId: m.id });
      const kept = g.measurements.get(m.id);
      if (kept) {
        const dupKey = `${key}\u0000${m.id}`;
        const d = duplicates.get(dupKey) ?? {
          configId: m.id,
          group: f.doc.device.name,
          kept: { task: kept.task, node: kept.node },
          dropped: [],
        };
        d.dropped.push({ task: f.taskId, node });
        duplicates.set(dupKey, d);
        continue;
      }
      g.measurements.set(m.id, { m, task: f.taskId, node });
    }
  }

  const fleetComplete = missingTasks.length === 0;
  const slugCount = new Map<string, number>();
  const names = new Map<string, number>();
  for (const g of building.values()) {
    const s = slugify(g.first.doc.device.name);
    names.set(s, (names.get(s) ?? 0) + 1);
  }
  const groups: MergedGroup[] = [];
  for (const g of building.values()) {
    const d = g.first.doc;
    let slug = slugify(d.device.name);
    // One device model measured two ways (two meters or boundaries) gets the way in its name.
    if ((names.get(slug) ?? 0) > 1)
      slug = `${slug}-${slugify(`${d.meter.kind}-${d.meter.method}-${d.accounting.boundary}`)}`;
    const n = (slugCount.get(slug) ?? 0) + 1;
    slugCount.set(slug, n);
    if (n > 1) slug = `${slug}-${n}`;
    const nodes = [...g.nodes].sort();
    const measurements = [...g.measurements.values()].map(({ m, task, node }) => ({
      ...m,
      source: { task, node },
    }));
    const replicas = [...duplicates].filter(([k]) => k.startsWith(`${g.key}\u0000`)).map(([, x]) => x);
    const doc = {
      schema: RESULTS_SCHEMA_ID,
      createdAt: createdAt.toISOString(),
      complete: g.complete && fleetComplete,
      tool: d.tool,
      device: { ...d.device, nodes },
      meter: {
        ...d.meter,
        note: `${typeof d.meter.note === 'string' ? `${d.meter.note}; ` : ''}merged from ${g.tasks.length} fleet task file(s) on ${nodes.length} node(s); idleW is task ${g.first.taskId}'s (${nodeOf(d)})`,
      },
      accounting: d.accounting,
      measurements,
      fleet: {
        manifest: manifest.dir,
        tasks: g.tasks,
        nodes,
        jobs: [...new Set(manifest.submissions.map((s) => s.jobId))],
        replicas,
        ...(fleetComplete ? {} : { missingTasks }),
      },
    } as Results;
    groups.push({ slug, label: d.device.name, doc, tasks: g.tasks, nodes });
  }
  return {
    groups,
    duplicates: [...duplicates.values()],
    missingTasks,
    missingConfigs,
    unexpected,
    incompleteTasks,
    complete:
      fleetComplete &&
      missingConfigs.length === 0 &&
      incompleteTasks.length === 0 &&
      groups.every((g) => g.doc.complete),
  };
}
