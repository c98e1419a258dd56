// Users' kernels as plugins, end to end: the example plugin builds with its own CMake and is measured beside the
// built-in dense kernel; broken plugins give one line and the right exit status, keeping finished measurements.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResults } from '@etok/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { etok, repoRoot, tempDir } from './helpers/run-etok.js';

const FAST = ['--ctx', '256', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--time-budget', '0.4'];
const include = join(repoRoot, 'packages', 'native', 'include');
let examplePlugin = '';
const faulty: Record<string, string> = {};

beforeAll(() => {
  const build = tempDir('etok-plugin-');
  execFileSync(
    'cmake',
    ['-S', join(repoRoot, 'examples', 'plugin-attention'), '-B', build, '-DCMAKE_CUDA_COMPILER=OFF'],
    {
      stdio: 'ignore',
    },
  );
  execFileSync('cmake', ['--build', build, '--target', 'etok_example_attention'], { stdio: 'ignore' });
  examplePlugin = join(build, 'libetok_example_attention.so');
  const kinds = {
    'no-descriptor': 1,
    'wrong-abi': 2,
    'setup-fails': 3,
    'run-fails': 4,
    crashes: 5,
    'descriptor-crashes': 6,
    'constructor-aborts': 7,
    'cost-nan': 8,
    hangs: 9,
  } as const;
  for (const [kind, fault] of Object.entries(kinds)) {
    const out = join(build, `faulty-${kind}.so`);
    execFileSync('cc', [
      '-shared',
      '-fPIC',
      `-DFAULT=${fault}`,
      `-I${include}`,
      join(repoRoot, 'test', 'fixtures', 'plugins', 'faulty_plugin.c'),
      '-o',
      out,
    ]);
    faulty[kind] = out;
  }
}, 120_000);

describe('etok bench --plugin', () => {
  it('measures the example plugin beside dense, checked against the fp64 dense reference', () => {
    const out = join(tempDir(), 'r.json');
    const r = etok(['bench', '--plugin', examplePlugin, '--json', '--out', out, ...FAST]);
    expect(r.status, r.stderr).toBe(0);
    const doc = parseResults(r.stdout, 'stdout');
    expect(doc.measurements.map((m) => m.variant).sort()).toEqual(['dense', 'example-dense']);
    const mine = doc.measurements.find((m) => m.variant === 'example-dense')!;
    expect(mine.quality.relErrorVsDense).not.toBeNull();
    expect(mine.quality.relErrorVsDense!).toBeLessThan(1e-5);
    // The plugin's own cost model: 4·D·B·H·kvLen FLOPs for decode.
    expect(mine.flops).toBe(4 * 32 * 1 * 4 * 256);
    expect(mine.tokens).toBe(1);
    expect((mine as { plugin?: { name: string } }).plugin?.name).toBe('example-dense');
    expect(mine.energy.joulesPerCall).toBeGreaterThan(0);
  });

  it.each([
    ['no-descriptor', /does not export etok_plugin_descriptor/],
    ['wrong-abi', /built for etok plugin ABI 99; this etok speaks ABI 1/],
    ['descriptor-crashes', /crashed while loading \(killed by SIGSEGV\)/],
    ['constructor-aborts', /crashed while loading \(killed by SIGABRT\)/],
    [
      'cost-nan',
      /cost\(\) gave tokens NaN for .*; a call must cost flops ≥ 0 and bytes ≥ 0 and produce tokens > 0/,
    ],
  ])('a plugin with %s is refused with one line and exit 2', (kind, message) => {
    const out = join(tempDir(), 'r.json');
    const r = etok(['bench', '--plugin', faulty[kind]!, '--out', out, ...FAST]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a missing library file is named', () => {
    const r = etok(['bench', '--plugin', '/nonexistent/libmine.so', ...FAST]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot load plugin \/nonexistent\/libmine.so/);
  });

  it.each([
    ['setup-fails', /setup failed \(status 7\): cannot allocate the scratch buffer/],
    ['run-fails', /run failed \(status 9\): kernel launch failed/],
  ])('a plugin whose %s fails its configuration, exit 1, and dense is still measured', (kind, message) => {
    const out = join(tempDir(), 'r.json');
    const r = etok(['bench', '--plugin', faulty[kind]!, '--variants', 'faulty,dense', '--out', out, ...FAST]);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(message);
    const doc = parseResults(readFileSync(out, 'utf8'), out) as ReturnType<typeof parseResults> & {
      failures: { id: string }[];
    };
    expect(doc.measurements.map((m) => m.variant)).toEqual(['dense']);
    expect(doc.failures.map((f) => f.id.split('/')[0])).toEqual(['faulty']);
  });

  it('a plugin that segfaults ends only its own measurement: recorded, the sweep goes on, exit 1', () => {
    const out = join(tempDir(), 'r.json');
    const r = etok([
      'bench',
      '--plugin',
      faulty.crashes!,
      '--variants',
      'faulty,dense',
      '--out',
      out,
      ...FAST,
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/killed by SIGSEGV \(a crash in the kernel\)/);
    const doc = parseResults(readFileSync(out, 'utf8'), out) as ReturnType<typeof parseResults> & {
      failures: { id: string; code: string }[];
    };
    expect(doc.complete).toBe(true);
    expect(doc.measurements.map((m) => m.variant)).toEqual(['dense']);
    expect(doc.failures).toEqual([expect.objectContaining({ code: 'KERNEL_CRASHED' })]);
  });

  it('--stop-on-crash ends the sweep at the crash, keeping what was measured (complete: false)', () => {
    const out = join(tempDir(), 'r.json');
    const r = etok([
      'bench',
      '--plugin',
      faulty.crashes!,
      '--variants',
      'dense,faulty',
      '--no-interleave',
      '--stop-on-crash',
      '--out',
      out,
      ...FAST,
    ]);
    expect(r.status).toBe(1);
    const doc = parseResults(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(false);
    expect(doc.measurements.map((m) => m.variant)).toEqual(['dense']);
  });

  it('a plugin call that never returns is stopped at --call-timeout; dense is still measured; nothing is left running', () => {
    const out = join(tempDir(), 'r.json');
    const started = Date.now();
    const r = etok(
      [
        'bench',
        '--plugin',
        faulty.hangs!,
        '--variants',
        'faulty,dense',
        '--call-timeout',
        '3',
        '--out',
        out,
        ...FAST,
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/did not return within 3 s.*--call-timeout/);
    const doc = parseResults(readFileSync(out, 'utf8'), out) as ReturnType<typeof parseResults> & {
      failures: { id: string; code: string }[];
    };
    expect(doc.measurements.map((m) => m.variant)).toEqual(['dense']);
    expect(doc.failures).toEqual([expect.objectContaining({ code: 'KERNEL_HUNG' })]);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
