// `etok fleet` against a real Slurm: a one-node cluster on this machine (test/slurm/start-cluster.sh: munged,
// slurmctld and slurmd on loopback), a real job array of tiny CPU benchmarks submitted through `etok fleet
// submit`, waited for, a lost slice found by `status` and rerun by `resubmit`, then collected and compared.
// Skips, saying why, where Slurm is not installed or cannot start; ETOK_REQUIRE_SLURM=1 (CI) makes that a failure.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseResults, type Results } from '@etok/core';
import { afterAll, describe, expect, it } from 'vitest';
import { onPath } from '../packages/cli/src/fleet/slurm.js';
import { etok, repoRoot, tempDir } from './helpers/run-etok.js';

const clusterDir = process.env.ETOK_SLURM_DIR ?? '/tmp/etok-slurm';
const scripts = join(repoRoot, 'test', 'slurm');

function startCluster(): { ok: true; startedHere: boolean } | { ok: false; reason: string } {
  const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue'].filter(
    (c) => !onPath(c, `${process.env.PATH}:/usr/sbin:/sbin`),
  );
  if (missing.length > 0)
    return {
      ok: false,
      reason: `Slurm is not installed (${missing.join(', ')} missing; apt-get install -y slurm-wlm munge)`,
    };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the one-node test cluster needs root' };
  const r = spawnSync('bash', [join(scripts, 'start-cluster.sh'), clusterDir], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  if (r.status !== 0)
    return {
      ok: false,
      reason: `the test cluster did not start: ${(r.stderr || r.error?.message || '').trim()}`,
    };
  return { ok: true, startedHere: r.stdout.trim().split('\n').pop()!.startsWith('started') };
}

const cluster = startCluster();
const env = { SLURM_CONF: join(clusterDir, 'slurm.conf') };

afterAll(() => {
  if (cluster.ok && cluster.startedHere)
    spawnSync('bash', [join(scripts, 'stop-cluster.sh'), clusterDir], { timeout: 60_000 });
});

interface StatusJson {
  counts: Record<string, number>;
  tasks: { id: number; state: string; detail: string; node: string | null }[];
}

/** Polls `etok fleet status` until no task is pending or running (bounded). */
async function waitForFleet(dir: string, limitMs: number): Promise<{ status: number | null; s: StatusJson }> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const r = etok(['fleet', 'status', '--dir', dir, '--json'], { env });
    const s = JSON.parse(r.stdout) as StatusJson;
    if ((s.counts.pending ?? 0) + (s.counts.running ?? 0) === 0 || Date.now() > deadline)
      return { status: r.status, s };
    await new Promise((done) => setTimeout(done, 3000));
  }
}

if (!cluster.ok && process.env.ETOK_REQUIRE_SLURM === '1')
  throw new Error(`ETOK_REQUIRE_SLURM=1 but ${cluster.reason}`);

describe.runIf(cluster.ok)('etok fleet on a one-node Slurm cluster', () => {
  // Tiny shapes, a short energy budget, the stated power model: two tasks of about 10-30 s on a small machine.
  const SWEEP = [
    '--variants',
    'dense,mla',
    '--ctx',
    '128,256',
    '--heads',
    '4',
    '--kv-heads',
    '2',
    '--head-dim',
    '32',
  ];
  const FAST = ['--rank', '64', '--rope-dim', '16', '--time-budget', '0.2', '--meter', 'model'];

  it('submits a real array, finds and reruns a lost slice, collects and compares', async () => {
    const dir = join(tempDir('etok-fleet-slurm-'), 'shared');
    const sub = etok(
      ['fleet', 'submit', '--dir', dir, '--partition', 'debug', '--cpus-per-task', '1', ...SWEEP, ...FAST],
      {
        env,
      },
    );
    expect(sub.status, sub.stderr).toBe(0);
    const jobId = /submitted job (\d+)/.exec(sub.stdout)![1]!;

    const first = await waitForFleet(dir, 240_000);
    expect(
      first.s.tasks.map((t) => t.state),
      JSON.stringify(first.s.tasks),
    ).toEqual(['done', 'done']);
    expect(first.status).toBe(0);
    const node = hostname().split('.')[0]!;
    for (const id of [0, 1]) {
      const doc = parseResults(
        readFileSync(join(dir, `task-${id}.json`), 'utf8'),
        `task-${id}`,
      ) as Results & {
        provenance: Record<string, unknown>;
      };
      expect(doc.complete).toBe(true);
      expect(doc.measurements).toHaveLength(2);
      expect(doc.provenance).toMatchObject({
        scheduler: 'slurm',
        arrayJobId: jobId,
        arrayTaskId: id,
        node,
        partition: 'debug',
        fleet: { taskId: id, dir },
      });
    }

    // A slice lost after the job ended (its file deleted): status says so, resubmit reruns that slice alone.
    rmSync(join(dir, 'task-1.json'));
    const lost = etok(['fleet', 'status', '--dir', dir, '--json'], { env });
    expect(lost.status).toBe(1);
    const lostTasks = (JSON.parse(lost.stdout) as StatusJson).tasks;
    expect(lostTasks.map((t) => t.state)).toEqual(['done', 'failed']);
    expect(lostTasks[1]!.detail).toMatch(/wrote no results file/);
    const re = etok(['fleet', 'resubmit', '--dir', dir], { env });
    expect(re.status, re.stderr).toBe(0);
    const rerunJob = /resubmitted task\(s\) 1 as job (\d+)/.exec(re.stdout)![1]!;
    expect(rerunJob).not.toBe(jobId);
    const second = await waitForFleet(dir, 180_000);
    expect(
      second.s.tasks.map((t) => t.state),
      JSON.stringify(second.s.tasks),
    ).toEqual(['done', 'done']);
    const rerun = JSON.parse(readFileSync(join(dir, 'task-1.json'), 'utf8'));
    expect(rerun.provenance.arrayJobId).toBe(rerunJob);

    const col = etok(['fleet', 'collect', '--dir', dir, '--json'], { env });
    expect(col.status, col.stderr).toBe(0);
    const out = JSON.parse(col.stdout);
    expect(out.complete).toBe(true);
    expect(out.files).toHaveLength(1);
    const merged = parseResults(readFileSync(out.files[0].path, 'utf8'), 'merged') as Results & {
      fleet: { jobs: string[]; nodes: string[] };
    };
    expect(merged.measurements.map((m) => m.id).sort()).toEqual(
      [
        'dense/decode/f32/b1/ctx128/h4kv2d32',
        'dense/decode/f32/b1/ctx256/h4kv2d32',
        'mla/decode/f32/b1/ctx128/h4r64p16',
        'mla/decode/f32/b1/ctx256/h4r64p16',
      ].sort(),
    );
    expect(merged.fleet.jobs).toEqual([jobId, rerunJob]);
    expect(merged.fleet.nodes).toEqual([node]);
    expect(readdirSync(join(dir, 'logs')).length).toBeGreaterThanOrEqual(3);

    // The merged file is ordinary results input: compare it with the first task's own file.
    const cmp = etok(['compare', out.files[0].path, join(dir, 'task-0.json'), '--json']);
    expect(cmp.status, cmp.stderr).toBe(0);
    expect(cmp.stdout).toContain('dense/decode/f32/b1/ctx128/h4kv2d32');
  }, 480_000);
});

if (!cluster.ok) {
  // Said where a person reads it, not only in the skipped test's name.
  console.warn(`fleet-slurm.test.ts: skipped: ${cluster.reason}`);
}
if (!cluster.ok)
  describe('etok fleet on a one-node Slurm cluster', () => {
    it.skip(`skipped: ${cluster.reason}`, () => {});
  });
