// `etok fleet` as a user runs it, against stand-in Slurm commands (test/slurm/fake-slurm.ts) that record their
// arguments and print what Slurm prints: submit, status, resubmit and collect, the Kubernetes manifest, and bad
// input (one line, exit 2 or 1, nothing overwritten). The real-cluster test is fleet-slurm.test.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults, type Results } from '@etok/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { etok, tempDir } from './helpers/run-etok.js';
import { type FakeSlurm, fakeSlurm } from './slurm/fake-slurm.js';

// The sweep of the fixture (a real task file from a Slurm array task): dense and MLA at one small shape.
const SWEEP = [
  '--variants',
  'dense,mla',
  '--ctx',
  '256',
  '--heads',
  '4',
  '--kv-heads',
  '2',
  '--head-dim',
  '32',
];
const MLA = ['--rank', '64', '--rope-dim', '16', '--time-budget', '0.3'];
const fixture = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'fleet-task-slurm.json'), 'utf8'),
) as Results;

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

function manifest(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'etok-fleet.json'), 'utf8'));
}

describe('etok fleet submit', () => {
  let slurm: FakeSlurm;
  beforeAll(() => {
    slurm = fakeSlurm();
  });

  it('queues one array per node, pinned, with the script and manifest in the shared directory', () => {
    const dir = join(tempDir(), 'shared');
    const r = etok(
      [
        'fleet',
        'submit',
        '--dir',
        dir,
        '--partition',
        'gpu',
        '--nodes',
        'node-a,node-b',
        '--gpus-per-task',
        '1',
        ...SWEEP,
        ...MLA,
        '--ctx',
        '256,512',
        '--max-parallel',
        '1',
      ],
      { env: slurm.env },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/submitted job 100 \(node-a\), 101 \(node-b\)/);
    expect(r.stderr).toMatch(
      /4 configuration\(s\) in 2 slice\(s\) × 1 device\(s\) × 2 target\(s\) = 4 task\(s\)/,
    );
    const script = join(dir, 'fleet-job.sh');
    expect(slurm.sbatchCalls()).toEqual([
      ['--parsable', '--array=0-1%1', '--nodelist=node-a', script],
      ['--parsable', '--array=2-3%1', '--nodelist=node-b', script],
    ]);
    const m = manifest(dir);
    expect(m.tasks).toHaveLength(4);
    expect(m.tasks[2]).toMatchObject({ id: 2, slice: 0, node: 'node-b', device: 'cuda:0' });
    expect(m.tasks[2].args).toEqual([
      '--device',
      'cuda:0',
      '--rank',
      '64',
      '--rope-dim',
      '16',
      '--time-budget',
      '0.3',
      '--variants',
      'dense,mla',
      '--phase',
      'decode',
      '--dtype',
      'f32',
      '--batch',
      '1',
      '--ctx',
      '256',
      '--heads',
      '4',
      '--kv-heads',
      '2',
      '--head-dim',
      '32',
    ]);
    expect(m.submissions.map((s: { jobId: string; node: string }) => [s.jobId, s.node])).toEqual([
      ['100', 'node-a'],
      ['101', 'node-b'],
    ]);
    expect(readFileSync(script, 'utf8')).toMatch(/#SBATCH --gres=gpu:1/);
    expect(existsSync(join(dir, 'logs'))).toBe(true);
  });

  it('--dry-run prints the batch script and touches nothing', () => {
    const dir = join(tempDir(), 'shared');
    const before = slurm.sbatchCalls().length;
    const r = etok(['fleet', 'submit', '--dir', dir, '--partition', 'gpu', ...SWEEP, '--dry-run'], {
      env: slurm.env,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash\n/);
    expect(r.stdout).toContain('#SBATCH --partition=gpu');
    expect(r.stdout).toContain('0) args=(--device cpu --variants dense,mla');
    expect(r.stderr).toMatch(/dry run, nothing submitted/);
    expect(r.stderr).toContain(`sbatch --parsable --array=0 ${dir}/fleet-job.sh`);
    expect(existsSync(dir)).toBe(false);
    expect(slurm.sbatchCalls()).toHaveLength(before);
  });

  it('--emit k8s prints Indexed Jobs and needs no Slurm', () => {
    const dir = join(tempDir(), 'shared');
    const r = etok(
      [
        'fleet',
        'submit',
        '--dir',
        dir,
        '--nodes',
        'node-a,node-b',
        '--gpus-per-task',
        '1',
        ...SWEEP,
        '--emit',
        'k8s',
        '--image',
        'etok:0.1.0',
      ],
      { env: { PATH: '/nonexistent' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n---\n')).toHaveLength(3);
    expect(r.stdout).toMatch(/completionMode: Indexed/);
    expect(r.stdout).toContain('image: "etok:0.1.0"');
    expect(r.stdout).toContain('ETOK=(etok)');
    expect(existsSync(dir)).toBe(false);

    // What the pods leave on the volume (the manifest from the ConfigMap, their task files) collects as usual.
    const block = /\n {2}etok-fleet\.json: \|\n((?: {4}.*\n)+)/.exec(r.stdout)![1]!;
    const m = JSON.parse(block.replace(/^ {4}/gm, ''));
    expect(m).toMatchObject({ schema: 'etok.fleet/v1', scheduler: 'kubernetes', dir, submissions: [] });
    mkdirSync(dir);
    writeFileSync(join(dir, 'etok-fleet.json'), JSON.stringify(m));
    writeFileSync(
      join(dir, 'task-0.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA H100 80GB HBM3', 'node-a')),
    );
    const st = etok(['fleet', 'status', '--dir', dir, '--json'], { env: { PATH: '/nonexistent' } });
    expect(st.status).toBe(1);
    const sj = JSON.parse(st.stdout);
    expect(sj.tasks.map((t: { state: string }) => t.state)).toEqual(['done', 'missing']);
    expect(sj.tasks[1].detail).toMatch(/kubectl get pods/);
    const re = etok(['fleet', 'resubmit', '--dir', dir], { env: { PATH: '/nonexistent' } });
    expect(re.status).toBe(2);
    expect(oneLine(re.stderr)).toMatch(/is a Kubernetes fleet; rerun its failed indices with kubectl/);
  });

  it.each([
    ['no sbatch on PATH', [], { PATH: '/nonexistent' }, /^etok: sbatch is not on PATH/],
    [
      'a partition that does not exist',
      ['--partition', 'nope'],
      {},
      /^etok: partition 'nope' does not exist on this cluster; partitions: gpu, debug$/,
    ],
    [
      'a node Slurm does not know',
      ['--nodes', 'node-a,node-z'],
      {},
      /^etok: node\(s\) node-z not known to Slurm/,
    ],
    ['a node named twice', ['--nodes', 'node-a,node-a'], {}, /names a node twice/],
    [
      'a device a task does not get',
      ['--gpus-per-task', '1', '--device', 'cuda:1'],
      {},
      /--device cuda:1 is not among the 1 GPU/,
    ],
    ['an unknown emit format', ['--emit', 'nomad'], {}, /--emit 'nomad' is not supported/],
    ['a bad sweep', ['--heads', '5'], {}, /--heads 5 is not a multiple of --kv-heads 2/],
  ])('%s: one line, exit 2, nothing written', (_name, extra, env, message) => {
    const dir = join(tempDir(), 'shared');
    const before = slurm.sbatchCalls().length;
    const r = etok(['fleet', 'submit', '--dir', dir, ...SWEEP, ...extra], { env: { ...slurm.env, ...env } });
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(message);
    expect(existsSync(dir)).toBe(false);
    expect(slurm.sbatchCalls()).toHaveLength(before);
  });

  it('a shared directory that cannot be written: one line, exit 2', () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'a-file'), 'x');
    const r = etok(['fleet', 'submit', '--dir', join(parent, 'a-file', 'shared'), ...SWEEP], {
      env: slurm.env,
    });
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/is not a writable directory \(ENOTDIR\)/);
  });

  it('a directory that already holds a fleet is not overwritten', () => {
    const dir = join(tempDir(), 'shared');
    expect(etok(['fleet', 'submit', '--dir', dir, ...SWEEP], { env: slurm.env }).status).toBe(0);
    const before = readFileSync(join(dir, 'etok-fleet.json'), 'utf8');
    const r = etok(['fleet', 'submit', '--dir', dir, ...SWEEP, '--ctx', '512'], { env: slurm.env });
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/already holds a fleet/);
    expect(readFileSync(join(dir, 'etok-fleet.json'), 'utf8')).toBe(before);
  });

  it('sbatch refusing the job: exit 1, the reason on one line', () => {
    const dir = join(tempDir(), 'shared');
    const r = etok(['fleet', 'submit', '--dir', dir, ...SWEEP], {
      env: { ...slurm.env, FAKE_SBATCH_FAIL: 'Batch job submission failed: Invalid account' },
    });
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(
      /sbatch refused the fleet job \(sbatch: error: Batch job submission failed: Invalid account\)/,
    );
  });

  it('subcommands and --dir are required', () => {
    const r = etok(['fleet'], { env: slurm.env });
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(
      /etok fleet needs a subcommand; use one of submit, status, resubmit, collect/,
    );
    const s = etok(['fleet', 'status'], { env: slurm.env });
    expect(s.status).toBe(2);
    expect(oneLine(s.stderr)).toMatch(/needs --dir DIR/);
    const n = etok(['fleet', 'status', '--dir', tempDir()], { env: slurm.env });
    expect(n.status).toBe(2);
    expect(oneLine(n.stderr)).toMatch(/holds no fleet/);
  });
});

describe('etok fleet status and resubmit', () => {
  it('reports pending, running, done, failed and pre-empted tasks, then reruns only the failed ones', () => {
    const slurm = fakeSlurm();
    const dir = join(tempDir(), 'shared');
    const sub = etok(
      ['fleet', 'submit', '--dir', dir, '--nodes', 'node-a,node-b', ...SWEEP, '--ctx', '256,512,1024'],
      { env: slurm.env },
    );
    expect(sub.status, sub.stderr).toBe(0);
    // Tasks 0-2 on node-a (job 100), 3-5 on node-b (job 101).
    slurm.setSqueue(['100_0|RUNNING|node-a|None', '100_1|PENDING||Resources', '101_5|COMPLETED|node-b|None']);
    slurm.setSacct([
      '100_2|COMPLETED|0:0|node-a',
      '101_3|PREEMPTED|0:0|node-b',
      '101_4|FAILED|1:0|node-b',
      '101_5|COMPLETED|0:0|node-b',
    ]);
    // Task 2 finished with a complete file; task 4 left a partial file and exit status 1.
    writeFileSync(join(dir, 'task-2.json'), JSON.stringify({ ...fixture, complete: true }));
    writeFileSync(
      join(dir, 'task-2.exit.json'),
      JSON.stringify({ taskId: 2, exitCode: 0, arrayJobId: '100' }),
    );
    writeFileSync(join(dir, 'task-4.json'), JSON.stringify({ ...fixture, complete: false }));
    writeFileSync(
      join(dir, 'task-4.exit.json'),
      JSON.stringify({ taskId: 4, exitCode: 1, arrayJobId: '101' }),
    );

    const r = etok(['fleet', 'status', '--dir', dir, '--json'], { env: slurm.env });
    expect(r.status).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.tasks.map((t: { state: string }) => t.state)).toEqual([
      'running',
      'pending',
      'done',
      'preempted',
      'failed',
      'failed',
    ]);
    expect(s.tasks[4].detail).toMatch(/etok bench exited 1/);
    expect(s.tasks[5].detail).toMatch(/wrote no results file/);
    expect(s.counts).toMatchObject({ running: 1, pending: 1, done: 1, preempted: 1, failed: 2 });
    const table = etok(['fleet', 'status', '--dir', dir], { env: slurm.env });
    expect(table.status).toBe(1);
    expect(table.stdout).toMatch(/6 task\(s\): 1 done, 1 pending, 1 running, 2 failed, 1 preempted/);
    expect(table.stderr).toMatch(/etok fleet resubmit --dir/);

    const dry = etok(['fleet', 'resubmit', '--dir', dir, '--dry-run'], { env: slurm.env });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout.trim()).toBe(`sbatch --parsable --array=3-5 --nodelist=node-b ${dir}/fleet-job.sh`);
    expect(slurm.sbatchCalls()).toHaveLength(2);

    const re = etok(['fleet', 'resubmit', '--dir', dir], { env: slurm.env });
    expect(re.status, re.stderr).toBe(0);
    expect(re.stdout).toMatch(/resubmitted task\(s\) 3-5 as job 102 on node-b/);
    expect(slurm.sbatchCalls()[2]).toEqual([
      '--parsable',
      '--array=3-5',
      '--nodelist=node-b',
      `${dir}/fleet-job.sh`,
    ]);
    // The failed attempt's files are kept aside, not overwritten.
    expect(readdirSync(join(dir, 'attempts')).sort()).toEqual([
      'task-4.101_4.json',
      'task-4.exit.101_4.json',
    ]);
    expect(
      manifest(dir).submissions.map((x: { jobId: string; kind: string }) => `${x.jobId}:${x.kind}`),
    ).toEqual(['100:submit', '101:submit', '102:resubmit']);

    // The new job is queued: those tasks are pending now, and nothing is left to resubmit.
    slurm.setSqueue(['100_0|RUNNING|node-a|None', '100_1|PENDING||Resources', '102_[3-5]|PENDING||Priority']);
    slurm.setSacct(null);
    const after = etok(['fleet', 'status', '--dir', dir, '--json'], { env: slurm.env });
    expect(after.status).toBe(0);
    expect(JSON.parse(after.stdout).counts).toMatchObject({ running: 1, pending: 4, done: 1 });
    expect(JSON.parse(after.stdout).notes[0]).toMatch(/accounting storage is disabled/);
    const none = etok(['fleet', 'resubmit', '--dir', dir], { env: slurm.env });
    expect(none.status).toBe(0);
    expect(none.stdout).toMatch(/nothing to resubmit/);
  });
});

function relabel(doc: Results, name: string, node: string, version = doc.tool.version): Results {
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
  copy.tool = { ...copy.tool, version };
  copy.provenance = { ...copy.provenance, node };
  return copy;
}

describe('etok fleet collect', () => {
  const slurm = fakeSlurm();
  const dir = join(tempDir(), 'shared');
  const merged = join(dir, 'merged');
  beforeAll(() => {
    const sub = etok(
      ['fleet', 'submit', '--dir', dir, '--nodes', 'node-a,node-b', '--gpus-per-task', '1', ...SWEEP, ...MLA],
      {
        env: slurm.env,
      },
    );
    expect(sub.status, sub.stderr).toBe(0);
  });

  it('with a slice missing: writes what there is as incomplete, names the slice, exit 1', () => {
    writeFileSync(
      join(dir, 'task-0.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA H100 80GB HBM3', 'node-a')),
    );
    const r = etok(['fleet', 'collect', dir, '--json'], { env: slurm.env });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.missingTasks).toEqual([1]);
    expect(out.files).toHaveLength(1);
    expect(parseResults(readFileSync(out.files[0].path, 'utf8'), 'merged').complete).toBe(false);
  });

  it('one file per device model, valid results, read by etok compare', () => {
    writeFileSync(
      join(dir, 'task-1.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA A100-SXM4-40GB', 'node-b')),
    );
    const r = etok(['fleet', 'collect', '--dir', dir], { env: slurm.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /NVIDIA H100 80GB HBM3 +node-a +1 +2 +measured: nvml:0 energy-counter \(board\)/,
    );
    expect(r.stdout).toMatch(/NVIDIA A100-SXM4-40GB +node-b +1 +2/);
    const files = readdirSync(merged).sort();
    expect(files).toEqual(['nvidia-a100-sxm4-40gb.json', 'nvidia-h100-80gb-hbm3.json']);
    for (const f of files) {
      const doc = parseResults(readFileSync(join(merged, f), 'utf8'), f) as Results & {
        fleet: { jobs: string[] };
      };
      expect(doc.complete).toBe(true);
      expect(doc.measurements.map((m) => m.id)).toEqual(fixture.measurements.map((m) => m.id));
      expect(doc.fleet.jobs).toEqual(['100', '101']);
    }
    const cmp = etok([
      'compare',
      join(merged, 'nvidia-h100-80gb-hbm3.json'),
      join(merged, 'nvidia-a100-sxm4-40gb.json'),
      '--json',
    ]);
    expect(cmp.status, cmp.stderr).toBe(0);
    expect(cmp.stdout).toContain('NVIDIA A100-SXM4-40GB');
  });

  it('task files from different etok versions: one line, exit 2, merged files untouched', () => {
    const before = readdirSync(merged).map((f) => readFileSync(join(merged, f), 'utf8'));
    writeFileSync(
      join(dir, 'task-1.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA A100-SXM4-40GB', 'node-b', '0.0.9')),
    );
    const r = etok(['fleet', 'collect', '--dir', dir], { env: slurm.env });
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(
      /task files come from different etok versions: 0\.1\.0 \(task-0\.json\), 0\.0\.9 \(task-1\.json\)/,
    );
    expect(readdirSync(merged).map((f) => readFileSync(join(merged, f), 'utf8'))).toEqual(before);
  });

  it('an invalid task file or a clash with a file collect did not write: exit 2, nothing written', () => {
    writeFileSync(join(dir, 'task-1.json'), JSON.stringify({ ...fixture, device: { id: 'tpu', name: 'x' } }));
    const bad = etok(['fleet', 'collect', '--dir', dir], { env: slurm.env });
    expect(bad.status).toBe(2);
    expect(oneLine(bad.stderr)).toMatch(/task-1\.json: field 'device\.id' must be cpu or cuda:N/);
    writeFileSync(
      join(dir, 'task-1.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA A100-SXM4-40GB', 'node-b')),
    );
    const other = join(tempDir(), 'out');
    mkdirSync(other);
    writeFileSync(join(other, 'nvidia-h100-80gb-hbm3.json'), '{"mine": true}');
    const clash = etok(['fleet', 'collect', '--dir', dir, '--out', other], { env: slurm.env });
    expect(clash.status).toBe(2);
    expect(oneLine(clash.stderr)).toMatch(/exists and was not written by etok fleet collect/);
    expect(readFileSync(join(other, 'nvidia-h100-80gb-hbm3.json'), 'utf8')).toBe('{"mine": true}');
    expect(readdirSync(other)).toEqual(['nvidia-h100-80gb-hbm3.json']);
  });

  it('two nodes of one model: one file, duplicates flagged and kept once', () => {
    renameSync(join(dir, 'task-1.json'), join(dir, 'task-1.bak'));
    writeFileSync(
      join(dir, 'task-1.json'),
      JSON.stringify(relabel(fixture, 'NVIDIA H100 80GB HBM3', 'node-b')),
    );
    const out = join(tempDir(), 'merged');
    const r = etok(['fleet', 'collect', '--dir', dir, '--out', out], { env: slurm.env });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(['nvidia-h100-80gb-hbm3.json']);
    expect(r.stderr).toMatch(
      /note: duplicate: dense\/decode\/f32\/b1\/ctx256\/h4kv2d32 on NVIDIA H100 80GB HBM3 measured by task 0 \(node-a\) and task 1 \(node-b\)/,
    );
    const doc = JSON.parse(readFileSync(join(out, 'nvidia-h100-80gb-hbm3.json'), 'utf8'));
    expect(doc.measurements).toHaveLength(2);
    expect(doc.device.nodes).toEqual(['node-a', 'node-b']);
    expect(doc.fleet.replicas).toHaveLength(2);
  });
});
