// `etok profile` as a user runs it, on machines without a GPU: the simulated NVML board meters the program and a
// simulated CUDA driver (packages/native/test/fixtures/sim-cuda) stands in for libcuda, loading etok's injection
// library the way the real driver does. What needs a GPU (traces, replays) runs in bench/gpu/profile_check.sh.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseProfile } from '@etok/core';
import { capabilities } from '@etok/native';
import { describe, expect, it } from 'vitest';
import { simNvmlLibrary } from '../packages/native/test/meters/sim.js';
import { etok, etokAsync, tempDir } from './helpers/run-etok.js';

const release = dirname(simNvmlLibrary());
const simCuda = join(release, 'sim-cuda', 'libcuda.so.1');
const cudaProgram = join(release, 'sim-cuda', 'cuda-program');
const POWER_W = 150;
const env = (extra: Record<string, string> = {}) => ({
  ETOK_NVML_LIBRARY: simNvmlLibrary(),
  ETOK_SIM_NVML_PERIOD_MS: '20',
  ETOK_SIM_NVML_POWER_W: String(POWER_W),
  ETOK_SIM_NVML_SWING_W: '0',
  ETOK_CUDA_LIBRARY: simCuda,
  ...extra,
});
const supported = capabilities().profile;

describe('etok profile: usage', () => {
  it.each([
    [[], /needs a program after '--'/],
    [
      ['--meter', 'rapl', '--', 'true'],
      /--meter 'rapl' is not valid; etok profile meters a GPU board: nvml:N/,
    ],
    [['--top', '0', '--', 'true'], /--top '0'/],
    [['--memory-limit', 'lots', '--', 'true'], /--memory-limit 'lots' is not valid/],
  ])('%j is one line, exit 2', (args, message) => {
    const r = etok(['profile', ...args], { env: env() });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});

describe.skipIf(!supported)('etok profile without a GPU', () => {
  it('names the missing driver and what to do (exit 1)', () => {
    const r = etok(['profile', '--', 'true'], {
      env: env({ ETOK_CUDA_LIBRARY: '/nonexistent/libcuda.so.1' }),
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^etok: no NVIDIA driver: \/nonexistent\/libcuda\.so\.1 cannot be loaded .*install the NVIDIA driver/,
    );
  });

  it('names a driver that sees no device', () => {
    const r = etok(['profile', '--', 'true'], { env: env({ ETOK_SIM_CUDA_DEVICES: '0' }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no CUDA device: cuInit returned 100 .*CUDA_ERROR_NO_DEVICE/);
  });

  it('names missing CUPTI and the fix', () => {
    const r = etok(['profile', '--', 'true'], {
      env: env({ ETOK_CUPTI_LIBRARY: '/nonexistent/libcupti.so' }),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /CUPTI .* cannot be loaded \(tried \/nonexistent\/libcupti\.so: .*set ETOK_CUPTI_LIBRARY/,
    );
  });

  it('profiles a program without CUDA: exit 0, an empty table, the program energy measured', () => {
    const dir = tempDir();
    const out = join(dir, 'p.json');
    const r = etok(
      [
        'profile',
        '--json',
        '--idle',
        '0.3',
        '--out',
        out,
        '--',
        process.execPath,
        '-e',
        'console.log("program output")',
      ],
      {
        env: env(),
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('program output'); // the program's stdout, kept off etok's JSON
    const doc = parseProfile(r.stdout, 'stdout');
    expect(doc).toMatchObject({
      schema: 'etok.profile/v1',
      exitCode: 0,
      complete: true,
      kernels: [],
      closure: 0,
    });
    expect(doc.meter).toMatchObject({
      id: 'nvml:0',
      measured: true,
      method: 'energy-counter',
      boundary: 'board',
    });
    // The simulated board draws a constant POWER_W: the program window's energy and the idle power follow.
    expect(doc.programSeconds).toBeGreaterThan(0.01);
    expect(Math.abs(doc.programJoules / doc.programSeconds - POWER_W) / POWER_W).toBeLessThan(0.03);
    expect(Math.abs(doc.idleW - POWER_W) / POWER_W).toBeLessThan(0.03);
    expect(doc.notes?.join(' ')).toMatch(/made no CUDA calls/);
    expect(parseProfile(readFileSync(out, 'utf8'), out).programJoules).toBe(doc.programJoules);
    const table = etok(['profile', '--idle', '0', '--', 'true'], { env: env() });
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/energy MEASURED by nvml:0/);
    expect(table.stdout).toMatch(/no kernels were traced/);
  });

  it('reports a program that exits non-zero with its code, keeping what was measured (exit 1)', () => {
    const r = etok(['profile', '--json', '--idle', '0', '--', 'sh', '-c', 'exit 3'], { env: env() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the program exited with 3 in the trace pass/);
    const doc = parseProfile(r.stdout, 'stdout');
    expect(doc.exitCode).toBe(3);
    expect(doc.complete).toBe(false);
    expect(doc.programJoules).toBeGreaterThan(0);
  });

  it('loads its injection library into a CUDA program through the driver, which reports why it cannot trace', () => {
    // The simulated driver loads the library as the real one does; CUPTI cannot work against it, and says so.
    const r = etok(['profile', '--idle', '0', '--', cudaProgram], {
      env: env({ LD_LIBRARY_PATH: dirname(simCuda) }),
    });
    expect(r.stdout).toContain('checksum 42'); // the program ran, unharmed
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /the profiler could not start inside the program: cuptiSubscribe returned CUPTI_ERROR/,
    );
  });

  it('keeps what was measured when interrupted (exit 130, complete: false)', async () => {
    const out = join(tempDir(), 'p.json');
    const child = etokAsync(['profile', '--idle', '0', '--out', out, '--', 'sleep', '20'], {
      env: { ...process.env, ...env() },
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('pass 1 of 2') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const doc = parseProfile(readFileSync(out, 'utf8'), out);
    expect(doc.complete).toBe(false);
    expect(doc.programJoules).toBeGreaterThan(0);
  });

  it('is reported by etok report in every format', () => {
    const out = join(tempDir(), 'p.json');
    expect(
      etok(['profile', '--json', '--idle', '0', '--out', out, '--', 'true'], { env: env() }).status,
    ).toBe(0);
    const md = etok(['report', out]);
    expect(md.status, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^# etok profile/);
    expect(md.stdout).toMatch(/MEASURED by nvml:0/);
    const html = etok(['report', out, '--format', 'html']);
    expect(html.stdout).toContain('<h1>etok profile: joules per kernel</h1>');
    expect(JSON.parse(etok(['report', out, '--json']).stdout).schema).toBe('etok.profile/v1');
    expect(etok(['report', out, out]).status).toBe(2);
  });
});

describe.skipIf(supported)('etok profile in a build without CUDA profiling', () => {
  it('says so in one line (exit 2)', () => {
    const r = etok(['profile', '--', 'true'], { env: env() });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^etok: this build has no CUDA profiling support \(.+\)$/);
  });
});
