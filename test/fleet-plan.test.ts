// `etok fleet` without a cluster: slicing a sweep into tasks, the task script and the Kubernetes manifest it
// generates, Slurm's output formats, the task-state rules and the merge of task files. Pure functions, plus the
// generated script run under bash with a stand-in etok.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planBench, type Results } from '@etok/core';
import { describe, expect, it } from 'vitest';
import { spec as benchSpec, requestFromArgs } from '../packages/cli/src/commands/bench.js';
import { taskScript } from '../packages/cli/src/fleet/batch-script.js';
import { k8sManifest } from '../packages/cli/src/fleet/k8s.js';
import type { FleetManifest, FleetTask } from '../packages/cli/src/fleet/manifest.js';
import { mergeTaskFiles } from '../packages/cli/src/fleet/merge.js';
import { sliceFlags, sliceSweep } from '../packages/cli/src/fleet/slices.js';
import { arraySpec, parseArrayJobId, parseQueueLines } from '../packages/cli/src/fleet/slurm.js';
import { classifyTask } from '../packages/cli/src/fleet/task-state.js';
import { parseCommandArgs } from '../packages/cli/src/options.js';
import { tempDir } from './helpers/run-etok.js';

const MEMORY = 2 ** 40;

function request(argv: string[]) {
  return requestFromArgs(parseCommandArgs(benchSpec, argv));
}

describe('slicing a sweep', () => {
  it.each([
    ['two shapes × two lever sets', ['--variants', 'dense,mla', '--ctx', '256,512'], 2],
    ['every subset of three levers, two batches', ['--levers', 'mla,sparse,kv-int8', '--batch', '1,4'], 2],
    ['GQA axes inside a shape', ['--variants', 'dense,mla', '--kv-heads', '2,4', '--head-dim', '64,128'], 1],
    ['decode and prefill with q-len', ['--phase', 'decode,prefill', '--ctx', '512', '--q-len', '128,256'], 3],
    ['the standard suite', ['--suite', 'standard'], 8],
  ])('%s: slices cover the sweep exactly once and replan to themselves', (_name, argv, slices) => {
    const req = request(argv);
    const plan = planBench(req, MEMORY);
    const out = sliceSweep(req, 'shape');
    expect(out.slices).toHaveLength(slices);
    expect(out.configCount).toBe(plan.configs.length);
    const ids = out.slices.flatMap((s) => s.configIds);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(plan.configs.map((c) => c.id).sort());
    // Each slice's flags, parsed as `etok bench` parses them, plan exactly that slice.
    for (const s of out.slices) {
      const again = planBench(
        request([...argv.filter((a) => a === '--suite' || a === 'standard'), ...sliceFlags(s.axes)]),
        MEMORY,
      );
      expect(again.configs.map((c) => c.id).sort()).toEqual([...s.configIds].sort());
    }
  });

  it('config mode makes one slice per configuration', () => {
    const req = request(['--variants', 'dense,mla+kv-int8', '--ctx', '256,512']);
    const out = sliceSweep(req, 'config');
    expect(out.slices).toHaveLength(4);
    expect(out.slices.every((s) => s.configIds.length === 1 && s.axes.variants.length === 1)).toBe(true);
  });

  it('a bad sweep fails as bench would', () => {
    expect(() => sliceSweep(request(['--heads', '5', '--kv-heads', '2']), 'shape')).toThrow(
      /--heads 5 is not a multiple of --kv-heads 2/,
    );
  });
});

function task(id: number, node: string | null = null, device = 'cpu'): FleetTask {
  return {
    id,
    slice: id,
    node,
    device,
    args: [
      '--device',
      device,
      '--variants',
      'dense,mla',
      '--ctx',
      String(256 * (id + 1)),
      '--quality',
      'rel-error<=0.02',
    ],
    configIds: [`dense/decode/f32/b1/ctx${256 * (id + 1)}/h4kv2d32`],
  };
}

describe('the task script', () => {
  const dir = tempDir('etok-fleet-script-');
  const script = taskScript({
    dir,
    toolVersion: '0.1.0',
    createdAt: '2026-01-01T00:00:00Z',
    etokCommand: [join(dir, 'fake-etok.sh')],
    jobName: 'etok-fleet',
    partition: 'gpu',
    gpusPerTask: 2,
    time: '00:30:00',
    tasks: [task(0), task(1)],
  });

  it('asks Slurm for what was requested and names every task', () => {
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    for (const line of [
      '#SBATCH --partition=gpu',
      '#SBATCH --gres=gpu:2',
      '#SBATCH --time=00:30:00',
      `#SBATCH --output=${dir}/logs/task-%a.job-%A.out`,
    ])
      expect(script).toContain(line);
    expect(script).toContain(
      "0) args=(--device cpu --variants dense,mla --ctx 256 --quality 'rel-error<=0.02') ;;",
    );
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
  });

  it('runs bench on its slice with the scheduler ids as provenance, and leaves an exit sidecar', () => {
    // A stand-in etok: records its arguments and the provenance it was handed, and writes a minimal results file.
    const fake = join(dir, 'fake-etok.sh');
    writeFileSync(
      fake,
      [
        '#!/bin/bash',
        `printf '%s\\n' "$@" > ${dir}/args.txt`,
        `printf '%s' "$ETOK_PROVENANCE_JSON" > ${dir}/env-provenance.json`,
        'exit 3',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    writeFileSync(join(dir, 'job.sh'), script);
    const r = spawnSync('bash', [join(dir, 'job.sh')], {
      env: {
        PATH: process.env.PATH,
        SLURM_ARRAY_TASK_ID: '1',
        SLURM_JOB_ID: '43',
        SLURM_ARRAY_JOB_ID: '42',
        SLURMD_NODENAME: 'gpu-node"7',
        SLURM_JOB_PARTITION: 'gpu',
        SLURM_CLUSTER_NAME: 'c1',
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(3);
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n');
    expect(args).toEqual([
      'bench',
      '--device',
      'cpu',
      '--variants',
      'dense,mla',
      '--ctx',
      '512',
      '--quality',
      'rel-error<=0.02',
      '--out',
      join(dir, 'task-1.json'),
    ]);
    const provenance = JSON.parse(readFileSync(join(dir, 'env-provenance.json'), 'utf8'));
    expect(provenance).toMatchObject({
      scheduler: 'slurm',
      jobId: '43',
      arrayJobId: '42',
      arrayTaskId: 1,
      node: 'gpu-node"7',
      partition: 'gpu',
      cluster: 'c1',
      fleet: { taskId: 1, dir },
    });
    expect(JSON.parse(readFileSync(join(dir, 'task-1.provenance.json'), 'utf8'))).toEqual(provenance);
    expect(JSON.parse(readFileSync(join(dir, 'task-1.exit.json'), 'utf8'))).toMatchObject({
      taskId: 1,
      exitCode: 3,
      arrayJobId: '42',
      node: 'gpu-node"7',
    });
  });

  it('refuses an index outside the fleet, and runs a Kubernetes index with its offset', () => {
    const bad = spawnSync('bash', [join(dir, 'job.sh')], {
      env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '9' },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/task 9 is not in this fleet \(tasks 0-1\)/);
    const k8s = spawnSync('bash', [join(dir, 'job.sh')], {
      env: {
        PATH: process.env.PATH,
        JOB_COMPLETION_INDEX: '0',
        ETOK_FLEET_TASK_OFFSET: '1',
        NODE_NAME: 'k8s-node',
      },
      encoding: 'utf8',
    });
    expect(k8s.status).toBe(3);
    expect(JSON.parse(readFileSync(join(dir, 'env-provenance.json'), 'utf8'))).toMatchObject({
      scheduler: 'kubernetes',
      arrayTaskId: 1,
      node: 'k8s-node',
    });
    expect(existsSync(join(dir, 'task-1.exit.json'))).toBe(true);
  });

  it('in a Kubernetes pod, puts the fleet manifest beside the results once', () => {
    const source = join(dir, 'configmap-manifest.json');
    writeFileSync(source, '{"schema":"etok.fleet/v1"}\n');
    const run = () =>
      spawnSync('bash', [join(dir, 'job.sh')], {
        env: { PATH: process.env.PATH, JOB_COMPLETION_INDEX: '0', ETOK_FLEET_MANIFEST: source },
        encoding: 'utf8',
      });
    expect(run().status).toBe(3);
    expect(readFileSync(join(dir, 'etok-fleet.json'), 'utf8')).toBe('{"schema":"etok.fleet/v1"}\n');
    writeFileSync(source, '{"changed":true}\n');
    expect(run().status).toBe(3);
    expect(readFileSync(join(dir, 'etok-fleet.json'), 'utf8')).toBe('{"schema":"etok.fleet/v1"}\n');
  });
});

describe('the Kubernetes manifest', () => {
  it('has the script in a ConfigMap and one Indexed Job per pinned node with its offset', () => {
    const tasks = [task(0, 'node-a'), task(1, 'node-a'), task(2, 'Node_B'), task(3, 'Node_B')];
    const yaml = k8sManifest({
      name: 'etok-fleet',
      dir: '/shared/etok',
      script: '#!/bin/bash\necho hi\n',
      image: 'registry.example/etok:0.1.0',
      pvc: 'etok-results',
      manifest: '{\n  "schema": "etok.fleet/v1"\n}\n',
      gpusPerTask: 1,
      tasks,
    });
    const docs = yaml.split('\n---\n');
    expect(docs).toHaveLength(3);
    expect(docs[0]).toMatch(/kind: ConfigMap/);
    expect(docs[0]).toContain(
      '  fleet-job.sh: |\n    #!/bin/bash\n    echo hi\n  etok-fleet.json: |\n    {\n      "schema"',
    );
    for (const [doc, node, offset] of [
      [docs[1]!, 'node-a', '0'],
      [docs[2]!, 'Node_B', '2'],
    ] as const) {
      expect(doc).toMatch(/kind: Job/);
      expect(doc).toMatch(/completionMode: Indexed/);
      expect(doc).toMatch(/completions: 2\n/);
      expect(doc).toContain(`kubernetes.io/hostname: "${node}"`);
      expect(doc).toContain(`- name: ETOK_FLEET_TASK_OFFSET\n              value: "${offset}"`);
      expect(doc).toContain('nvidia.com/gpu: 1');
      expect(doc).toContain('mountPath: "/shared/etok"');
    }
    expect(docs[2]).toContain('name: "etok-fleet-node-b"');
    // Tabs are not YAML indentation.
    expect(yaml).not.toMatch(/\t/);
  });
});

describe("Slurm's output", () => {
  it('array specs and array job ids', () => {
    expect(arraySpec([0, 1, 2, 3])).toBe('0-3');
    expect(arraySpec([7, 1, 2, 3, 9, 5], 2)).toBe('1-3,5,7,9%2');
    expect(parseArrayJobId('12_3')).toEqual({ jobId: '12', indices: [3] });
    expect(parseArrayJobId('12_[4-6,9%2]')).toEqual({ jobId: '12', indices: [4, 5, 6, 9] });
    expect(parseArrayJobId('12')).toEqual({ jobId: '12', indices: [] });
    expect(parseArrayJobId('garbage')).toBeUndefined();
  });

  it('squeue and sacct lines', () => {
    const sq = parseQueueLines('12_0|RUNNING|node1|None\n12_[1-2]|PENDING||Resources\n', 'squeue');
    expect(sq.get('12_0')).toEqual({ state: 'RUNNING', node: 'node1', reason: 'None' });
    expect(sq.get('12_2')).toEqual({ state: 'PENDING', node: '', reason: 'Resources' });
    const sa = parseQueueLines('12_0|CANCELLED by 0|0:15|node1\n12_1|PREEMPTED|0:0|node2\n', 'sacct');
    expect(sa.get('12_0')).toMatchObject({ state: 'CANCELLED', exitCode: '0:15' });
    expect(sa.get('12_1')?.state).toBe('PREEMPTED');
  });
});

describe('task states', () => {
  const submission = { jobId: '12', arrayIndices: [0], node: null, submittedAt: '', kind: 'submit' as const };
  const t = task(0);
  it.each([
    [{ queue: { state: 'PENDING', node: '', reason: 'Priority' } }, 'pending', /pending \(Priority\)/],
    [{ queue: { state: 'RUNNING', node: 'n1', reason: '' } }, 'running', /running on n1/],
    [{ queue: { state: 'PREEMPTED', node: 'n1', reason: '' } }, 'preempted', /preempted/],
    [{ queue: { state: 'TIMEOUT', node: 'n1', reason: '' } }, 'failed', /TIMEOUT/],
    [
      { queue: { state: 'COMPLETED', node: 'n1', reason: '' }, exit: { exitCode: 1, arrayJobId: '12' } },
      'failed',
      /exited 1/,
    ],
    [{ exit: { exitCode: 143, arrayJobId: '12' } }, 'failed', /signal/],
    [
      { exit: { exitCode: 0, arrayJobId: '12' }, results: { complete: true, measurements: 2 } },
      'done',
      /2 measurement/,
    ],
    [{ results: { complete: false, measurements: 1 } }, 'failed', /incomplete/],
    [{ queue: { state: 'COMPLETED', node: 'n1', reason: '' } }, 'failed', /no results file/],
    [{}, 'missing', /neither the queue nor the directory/],
    // A sidecar from an earlier job does not count for the resubmitted one.
    [
      { exit: { exitCode: 1, arrayJobId: '11' }, results: { complete: true, measurements: 2 } },
      'done',
      /2 measurement/,
    ],
  ])('%j → %s', (evidence, state, detail) => {
    const s = classifyTask({ task: t, submission, ...evidence });
    expect(s.state).toBe(state);
    expect(s.detail).toMatch(detail);
  });
});

// A real task file (written by `etok bench` inside a Slurm array task), re-labelled as other devices and nodes.
const fixture = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'fleet-task-slurm.json'), 'utf8'),
) as Results;

function asDevice(doc: Results, name: string, node: string, changes: Partial<Results> = {}): Results {
  const copy = structuredClone(doc) as Results & { provenance: Record<string, unknown> };
  copy.device = { ...copy.device, id: 'cuda:0', name };
  copy.meter = {
    ...copy.meter,
    id: 'nvml:0',
    kind: 'nvml',
    measured: true,
    method: 'energy-counter',
    boundary: 'board',
  };
  copy.provenance = { ...copy.provenance, node };
  return { ...copy, ...changes };
}

function manifestFor(tasks: FleetTask[]): FleetManifest {
  return {
    schema: 'etok.fleet/v1',
    createdAt: '2026-01-01T00:00:00Z',
    tool: { name: 'etok', version: fixture.tool.version },
    dir: '/shared',
    command: [],
    partition: null,
    nodes: ['a', 'b', 'c'],
    gpusPerTask: 1,
    sliceMode: 'shape',
    script: 'fleet-job.sh',
    configCount: 2,
    tasks,
    submissions: [
      { jobId: '5', arrayIndices: tasks.map((x) => x.id), node: null, submittedAt: '', kind: 'submit' },
    ],
  };
}

describe('merging task files', () => {
  const ids = fixture.measurements.map((m) => m.id);
  const tasks = [0, 1, 2, 3].map((id) => ({ ...task(id), configIds: ids }));

  it('one document per device model, duplicates kept once, missing tasks flagged', () => {
    const files = [
      { taskId: 0, file: 'task-0.json', doc: asDevice(fixture, 'NVIDIA H100 80GB HBM3', 'a') },
      { taskId: 1, file: 'task-1.json', doc: asDevice(fixture, 'NVIDIA H100 80GB HBM3', 'b') },
      { taskId: 2, file: 'task-2.json', doc: asDevice(fixture, 'NVIDIA A100-SXM4-40GB', 'c') },
    ];
    const out = mergeTaskFiles(manifestFor(tasks), files, new Date('2026-01-02T00:00:00Z'));
    expect(out.groups.map((g) => g.slug)).toEqual(['nvidia-h100-80gb-hbm3', 'nvidia-a100-sxm4-40gb']);
    const h100 = out.groups[0]!;
    expect(h100.nodes).toEqual(['a', 'b']);
    expect(h100.doc.measurements.map((m) => m.id)).toEqual(ids);
    expect(out.duplicates).toHaveLength(ids.length);
    expect(out.duplicates[0]).toMatchObject({
      kept: { task: 0, node: 'a' },
      dropped: [{ task: 1, node: 'b' }],
    });
    expect(out.missingTasks).toEqual([3]);
    expect(out.complete).toBe(false);
    expect(h100.doc.complete).toBe(false);
    expect((h100.doc as { fleet: { missingTasks: number[] } }).fleet.missingTasks).toEqual([3]);
  });

  it('never pools two meter methods or boundaries of one device model', () => {
    const files = [
      { taskId: 0, file: 'task-0.json', doc: asDevice(fixture, 'NVIDIA H100', 'a') },
      {
        taskId: 1,
        file: 'task-1.json',
        doc: asDevice(fixture, 'NVIDIA H100', 'b', {
          meter: { ...asDevice(fixture, 'x', 'b').meter, method: 'power-sampling' },
        }),
      },
    ];
    const out = mergeTaskFiles(manifestFor(tasks.slice(0, 2)), files, new Date());
    expect(out.groups).toHaveLength(2);
    expect(out.groups.map((g) => g.doc.meter.method).sort()).toEqual(['energy-counter', 'power-sampling']);
    expect(new Set(out.groups.map((g) => g.slug)).size).toBe(2);
    expect(out.duplicates).toHaveLength(0);
    expect(out.complete).toBe(true);
  });

  it('refuses task files from different etok versions', () => {
    const other = { ...fixture, tool: { ...fixture.tool, version: '9.9.9' } };
    expect(() =>
      mergeTaskFiles(
        manifestFor(tasks.slice(0, 2)),
        [
          { taskId: 0, file: 'task-0.json', doc: fixture },
          { taskId: 1, file: 'task-1.json', doc: other },
        ],
        new Date(),
      ),
    ).toThrow(/different etok versions: 0\.1\.0 \(task-0\.json\), 9\.9\.9 \(task-1\.json\)/);
  });
});
