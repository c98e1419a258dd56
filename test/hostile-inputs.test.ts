// Hostile input to every command: unknown flags, missing values, absurd numbers, shapes past 32-bit sizes
// and past memory, damaged or foreign results files, directories, unreadable files, symlink loops, devices and
// meters that do not exist. Each must end in ONE line on stderr (no stack trace, no "internal error"), exit 2 for
// bad usage or 1 for a failed measurement, and never hang. A second table feeds device names holding LaTeX, HTML
// and terminal escapes to the commands that print them: the output must be inert. docs/reliability.md lists what
// each case printed.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { etok, etokBin, repoRoot, tempDir } from './helpers/run-etok.js';

const FIXTURE = join(repoRoot, 'test', 'fixtures', 'report-levers.json');
const TPF_FIXTURE = join(repoRoot, 'test', 'fixtures', 'tpf-dense-modeled.json');
const SIM_NVML = join(repoRoot, 'packages', 'native', 'build', 'Release', 'libetok_sim_nvml.so');
/** The smallest bench shape; cases that get as far as measuring stay well under a second. */
const TINY = ['--ctx', '256', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--time-budget', '0.3'];
const EVIL_NAME =
  '\\input{/etc/passwd} <script>alert(1)</script> \u001b[2J\u001b[31mRED\u001b[0m\u0007 $x$ & 100% #1 a_b ~c ^d';

/** Root reads every file whatever its mode, so the unreadable-file case runs etok as root without the capabilities
 *  that bypass file modes (setpriv keeps the uid, so the checkout stays reachable wherever it lives), else as
 *  `nobody` (which needs a world-readable checkout). */
const WRAP = existsSync('/usr/bin/setpriv')
  ? [
      '/usr/bin/setpriv',
      '--bounding-set',
      '-dac_override,-dac_read_search',
      '--inh-caps',
      '-dac_override,-dac_read_search',
    ]
  : existsSync('/usr/sbin/runuser')
    ? ['/usr/sbin/runuser', '-u', 'nobody', '--']
    : undefined;
const IS_ROOT = process.getuid?.() === 0;

function runBoundByFileModes(args: string[], cwd: string) {
  const [cmd, ...pre] = IS_ROOT ? WRAP! : [process.execPath];
  const argv = IS_ROOT ? [...pre, process.execPath, etokBin, ...args] : [etokBin, ...args];
  const r = spawnSync(cmd!, argv, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Case {
  name: string;
  args: (dir: string) => string[];
  exit: 1 | 2;
  /** What the one line on stderr must say. */
  says: RegExp;
  env?: NodeJS.ProcessEnv;
  boundByFileModes?: boolean;
}

const CASES: Case[] = [
  // devices
  {
    name: 'devices: unknown flag',
    args: () => ['devices', '--bogus'],
    exit: 2,
    says: /Unknown option '--bogus'/,
  },
  {
    name: 'devices: stray argument',
    args: () => ['devices', 'extra'],
    exit: 2,
    says: /no positional arguments/,
  },
  {
    name: 'devices: value given to a boolean flag',
    args: () => ['devices', '--json=yes'],
    exit: 2,
    says: /'--json' does not take an argument/,
  },
  // bench: parsing and axis values
  { name: 'bench: unknown flag', args: () => ['bench', '--frobnicate'], exit: 2, says: /Unknown option/ },
  {
    name: 'bench: missing value',
    args: () => ['bench', '--ctx'],
    exit: 2,
    says: /'--ctx <value>' argument missing/,
  },
  { name: 'bench: stray argument', args: () => ['bench', 'dense'], exit: 2, says: /no positional arguments/ },
  {
    name: 'bench: negative ctx',
    args: () => ['bench', '--ctx', '-5'],
    exit: 2,
    says: /--ctx '-5' is not a positive/,
  },
  { name: 'bench: NaN batch', args: () => ['bench', '--batch', 'NaN'], exit: 2, says: /--batch 'NaN'/ },
  {
    name: 'bench: Infinity heads',
    args: () => ['bench', '--heads', 'Infinity'],
    exit: 2,
    says: /--heads 'Infinity'/,
  },
  { name: 'bench: zero head-dim', args: () => ['bench', '--head-dim', '0'], exit: 2, says: /--head-dim '0'/ },
  { name: 'bench: hex ctx', args: () => ['bench', '--ctx', '0x10'], exit: 2, says: /--ctx '0x10'/ },
  { name: 'bench: empty list item', args: () => ['bench', '--ctx', '256,,512'], exit: 2, says: /empty item/ },
  {
    name: 'bench: ctx beyond int32',
    args: () => ['bench', '--ctx', '99999999999'],
    exit: 2,
    says: /--ctx 99999999999 is too large \(at most 2147483647\)/,
  },
  {
    name: 'bench: tensor of more than 2^32 elements',
    args: () => [
      'bench',
      '--batch',
      '65536',
      '--ctx',
      '65536',
      '--heads',
      '64',
      '--kv-heads',
      '64',
      '--head-dim',
      '128',
    ],
    exit: 2,
    says: /needs about [\d.]+ GiB of host memory/,
  },
  {
    name: 'bench: every axis at int32 max',
    args: () => [
      'bench',
      ...['--batch', '2147483647', '--ctx', '2147483647', '--heads', '2147483647'],
      ...['--kv-heads', '1', '--head-dim', '2147483647'],
    ],
    exit: 2,
    says: /GiB of host memory; this machine has/,
  },
  {
    name: 'bench: a shape beyond memory',
    args: () => ['bench', '--ctx', '2147483647', '--heads', '8', '--kv-heads', '8', '--head-dim', '1024'],
    exit: 2,
    says: /Lower --batch or --ctx/,
  },
  {
    name: 'bench: PUE below 1',
    args: () => ['bench', '--pue', '0.5'],
    exit: 2,
    says: /--pue '0.5'.*PUE ≥ 1/,
  },
  { name: 'bench: NaN PUE', args: () => ['bench', '--pue', 'NaN'], exit: 2, says: /--pue 'NaN'/ },
  {
    name: 'bench: negative time budget',
    args: () => ['bench', '--time-budget', '-1'],
    exit: 2,
    says: /--time-budget '-1'/,
  },
  {
    name: 'bench: CI target of 150%',
    args: () => ['bench', '--ci-target', '1.5'],
    exit: 2,
    says: /--ci-target/,
  },
  {
    name: 'bench: unknown variant',
    args: () => ['bench', '--variants', 'dense,warp'],
    exit: 2,
    says: /'warp'/,
  },
  {
    name: 'bench: two KV formats',
    args: () => ['bench', '--variants', 'kv-int8+kv-int4'],
    exit: 2,
    says: /two KV formats/,
  },
  {
    name: 'bench: heads not a multiple of kv-heads',
    args: () => ['bench', '--heads', '5', '--kv-heads', '2'],
    exit: 2,
    says: /not a multiple of --kv-heads/,
  },
  { name: 'bench: unknown dtype', args: () => ['bench', '--dtype', 'f64'], exit: 2, says: /--dtype 'f64'/ },
  { name: 'bench: unknown suite', args: () => ['bench', '--suite', 'huge'], exit: 2, says: /--suite 'huge'/ },
  // bench: devices, meters, files
  {
    name: 'bench: device that does not exist',
    args: () => ['bench', '--device', 'gpu:7'],
    exit: 2,
    says: /device 'gpu:7' does not exist/,
  },
  {
    name: 'bench: CUDA device that is not here',
    args: () => ['bench', '--device', 'cuda:99'],
    exit: 2,
    says: /device 'cuda:99' is not available/,
  },
  { name: 'bench: unknown meter', args: () => ['bench', '--meter', 'watts'], exit: 2, says: /meter 'watts'/ },
  {
    name: 'bench: NVML board that does not exist (simulated NVML)',
    args: (d) => ['bench', '--json', '--meter', 'nvml:7', '--out', join(d, 'nvml7.json'), ...TINY],
    env: { ETOK_NVML_LIBRARY: SIM_NVML },
    exit: 2,
    says: /meter nvml:7 does not exist; NVML sees 1 GPU\(s\) \(UNKNOWN_METER\)/,
  },
  {
    name: 'bench: NVML meter without an NVML library',
    args: (d) => ['bench', '--json', '--meter', 'nvml:0', '--out', join(d, 'nonvml.json'), ...TINY],
    env: { ETOK_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' },
    exit: 2,
    says: /meter nvml:0 is not available here: NVML is unavailable: cannot load \/nonexistent\/libnvidia-ml.so.1/,
  },
  {
    name: 'bench: RAPL meter without a powercap tree',
    args: (d) => ['bench', '--json', '--meter', 'rapl', '--out', join(d, 'norapl.json'), ...TINY],
    env: { ETOK_POWERCAP_ROOT: '/nonexistent/powercap' },
    exit: 2,
    says: /meter rapl is not available here: no powercap tree at \/nonexistent\/powercap/,
  },
  {
    name: 'bench: --out is a directory',
    args: (d) => ['bench', '--json', '--out', join(d, 'dir.json'), ...TINY],
    exit: 2,
    says: /--out .*dir\.json is a directory; etok writes its output to a regular file/,
  },
  {
    name: 'bench: --out in a missing directory',
    args: () => ['bench', '--json', '--out', '/nonexistent/dir/r.json', ...TINY],
    exit: 2,
    says: /cannot write results file \/nonexistent\/dir\/r\.json: no such directory/,
  },
  {
    name: 'bench: plugin that is not a shared library',
    args: (d) => ['bench', '--plugin', join(d, 'empty.json')],
    exit: 2,
    says: /cannot load plugin/,
  },
  {
    name: 'bench: plugin path that is a symlink loop',
    args: (d) => ['bench', '--plugin', join(d, 'loopA')],
    exit: 2,
    says: /cannot load plugin .*symbolic links/,
  },
  // measure
  { name: 'measure: no command', args: () => ['measure'], exit: 2, says: /needs a command after '--'/ },
  {
    name: 'measure: command that does not exist',
    args: () => ['measure', '--json', '--', '/nonexistent/cmd'],
    exit: 2,
    says: /cannot run '\/nonexistent\/cmd'/,
  },
  {
    name: 'measure: unknown meter',
    args: () => ['measure', '--json', '--meter', 'bogus', '--', 'true'],
    exit: 2,
    says: /meter 'bogus'/,
  },
  {
    name: 'measure: negative tokens',
    args: () => ['measure', '--json', '--tokens', '-3', '--', 'true'],
    exit: 2,
    says: /--tokens '-3'/,
  },
  {
    name: 'measure: Infinity idle',
    args: () => ['measure', '--json', '--idle', 'Infinity', '--', 'true'],
    exit: 2,
    says: /--idle 'Infinity'/,
  },
  {
    name: 'measure: RAPL without a powercap tree',
    args: () => ['measure', '--json', '--meter', 'rapl', '--', 'true'],
    env: { ETOK_POWERCAP_ROOT: '/nonexistent/powercap' },
    exit: 2,
    says: /meter rapl is unavailable/,
  },
  {
    name: 'measure: --regions --out is a directory',
    args: (d) => ['measure', '--json', '--regions', '--out', join(d, 'dir.json'), '--', 'true'],
    exit: 2,
    says: /--out .*dir\.json is a directory; etok writes its output to a regular file/,
  },
  {
    name: 'measure: the command crashes (failed measurement)',
    args: () => ['measure', '--json', '--', 'sh', '-c', 'kill -SEGV $$'],
    exit: 1,
    says: /the command exited with SIGSEGV/,
  },
  // phi: results files
  { name: 'phi: no results file', args: () => ['phi'], exit: 2, says: /needs a results file/ },
  {
    name: 'phi: missing file',
    args: () => ['phi', 'missing.json'],
    exit: 2,
    says: /missing\.json: no such file/,
  },
  {
    name: 'phi: empty file',
    args: () => ['phi', 'empty.json'],
    exit: 2,
    says: /empty\.json: the file is empty/,
  },
  {
    name: 'phi: truncated file',
    args: () => ['phi', 'truncated.json'],
    exit: 2,
    says: /truncated\.json: not JSON/,
  },
  {
    name: 'phi: not JSON at all',
    args: () => ['phi', 'garbage.json'],
    exit: 2,
    says: /garbage\.json: not JSON/,
  },
  {
    name: 'phi: future schema version',
    args: () => ['phi', 'v2.json'],
    exit: 2,
    says: /schema 'etok\.results\/v2' is not supported; this etok reads etok\.results\/v1/,
  },
  {
    name: 'phi: JSON array',
    args: () => ['phi', 'array.json'],
    exit: 2,
    says: /expected object, received array/,
  },
  {
    name: 'phi: measurements of the wrong type',
    args: () => ['phi', 'wrong-type.json'],
    exit: 2,
    says: /field 'measurements'/,
  },
  {
    name: 'phi: a directory',
    args: () => ['phi', 'dir.json'],
    exit: 2,
    says: /dir\.json: it is a directory/,
  },
  {
    name: 'phi: symlink loop',
    args: () => ['phi', 'loopA'],
    exit: 2,
    says: /loopA: a loop of symbolic links/,
  },
  {
    name: 'phi: unreadable file (chmod 000)',
    args: () => ['phi', 'unreadable.json'],
    boundByFileModes: true,
    exit: 2,
    says: /unreadable\.json: permission denied/,
  },
  {
    name: 'phi: file name with terminal escapes',
    args: () => ['phi', '\u001b[2Jevil\u0007.json'],
    exit: 2,
    says: /cannot read results file evil\.json: no such file/,
  },
  {
    name: 'phi: missing --baseline value',
    args: () => ['phi', FIXTURE, '--baseline'],
    exit: 2,
    says: /'--baseline <value>' argument missing/,
  },
  // tpf
  {
    name: 'tpf: NaN facility power',
    args: () => ['tpf', '--results', TPF_FIXTURE, '--facility-power', 'NaN'],
    exit: 2,
    says: /--facility-power 'NaN'/,
  },
  {
    name: 'tpf: negative facility power',
    args: () => ['tpf', '--results', TPF_FIXTURE, '--facility-power', '-5'],
    exit: 2,
    says: /--facility-power '-5' is not valid; expected watts > 0/,
  },
  {
    name: 'tpf: facility power that overflows a double',
    args: () => ['tpf', '--results', TPF_FIXTURE, '--facility-power', '1e400'],
    exit: 2,
    says: /--facility-power '1e400' is not valid; expected watts > 0/,
  },
  {
    name: 'tpf: zero utilization',
    args: () => ['tpf', '--results', TPF_FIXTURE, '--facility-power', '20M', '--util', '0'],
    exit: 2,
    says: /--util '0' is not valid; expected a utilization in \(0, 1\]/,
  },
  {
    name: 'tpf: truncated results file',
    args: () => ['tpf', '--results', 'truncated.json', '--facility-power', '20M'],
    exit: 2,
    says: /not JSON/,
  },
  {
    name: 'tpf: a sweep of 10^24 points',
    args: () =>
      ['tpf', ...['--keff', '1e15', '--ctok', '1e9', '--etok', '1', '--facility-power', '20M']].concat([
        '--sweep',
        'pue=1:1e12:1e-12',
      ]),
    exit: 2,
    says: /points is more than 10000/,
  },
  { name: 'tpf: nothing to compute', args: () => ['tpf'], exit: 2, says: /--keff is required/ },
  // report
  {
    name: 'report: no results file',
    args: () => ['report'],
    exit: 2,
    says: /needs at least one results file/,
  },
  {
    name: 'report: unknown format',
    args: () => ['report', FIXTURE, '--format', 'pdf'],
    exit: 2,
    says: /'pdf'/,
  },
  { name: 'report: future schema', args: () => ['report', 'v2.json'], exit: 2, says: /etok\.results\/v2/ },
  {
    name: 'report: --out is a directory',
    args: () => ['report', FIXTURE, '--out', 'dir.json'],
    exit: 2,
    says: /--out dir\.json is a directory; etok writes its output to a regular file/,
  },
  {
    name: 'report: PUE below 1',
    args: () => ['report', FIXTURE, '--pue', '0.2'],
    exit: 2,
    says: /--pue '0.2'/,
  },
  // compare
  {
    name: 'compare: one file',
    args: () => ['compare', FIXTURE],
    exit: 2,
    says: /at least two results files/,
  },
  {
    name: 'compare: a truncated file',
    args: () => ['compare', FIXTURE, 'truncated.json'],
    exit: 2,
    says: /truncated\.json: not JSON/,
  },
  {
    name: 'compare: NaN threshold',
    args: () => ['compare', FIXTURE, FIXTURE, '--fail-if-worse', 'NaN'],
    exit: 2,
    says: /--fail-if-worse 'NaN'/,
  },
  {
    name: 'compare: baseline position out of range',
    args: () => ['compare', FIXTURE, FIXTURE, '--baseline', '7'],
    exit: 2,
    says: /--baseline 7 is not a file position/,
  },
  // fleet
  { name: 'fleet: no subcommand', args: () => ['fleet'], exit: 2, says: /needs a subcommand/ },
  { name: 'fleet: unknown subcommand', args: () => ['fleet', 'launch'], exit: 2, says: /'launch'/ },
  {
    name: 'fleet: status of a directory without a fleet',
    args: () => ['fleet', 'status', '--dir', '/nonexistent'],
    exit: 2,
    says: /holds no fleet/,
  },
  {
    name: 'fleet: damaged manifest',
    args: () => ['fleet', 'status', '--dir', 'fleet-bad'],
    exit: 2,
    says: /etok-fleet\.json: not JSON/,
  },
  {
    name: 'fleet: manifest is a directory',
    args: () => ['fleet', 'collect', '--dir', 'fleet-dir'],
    exit: 2,
    says: /etok-fleet\.json: it is a directory/,
  },
  {
    name: 'fleet: negative axis in submit',
    args: (d) => ['fleet', 'submit', '--dir', join(d, 'fleet-new'), '--ctx', '-1', '--dry-run'],
    exit: 2,
    says: /--ctx '-1'/,
  },
];

let dir = '';
beforeAll(() => {
  dir = tempDir('etok-hostile-');
  chmodSync(dir, 0o755); // a `nobody` child (no setpriv) must reach its file
  const doc = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  const text = JSON.stringify(doc);
  writeFileSync(join(dir, 'empty.json'), '');
  writeFileSync(join(dir, 'truncated.json'), text.slice(0, Math.floor(text.length / 2)));
  writeFileSync(join(dir, 'garbage.json'), '\u0000\u0001binary\u00ff');
  writeFileSync(join(dir, 'v2.json'), JSON.stringify({ ...doc, schema: 'etok.results/v2' }));
  writeFileSync(join(dir, 'array.json'), '[]');
  writeFileSync(join(dir, 'wrong-type.json'), JSON.stringify({ ...doc, measurements: 'lots' }));
  writeFileSync(join(dir, 'unreadable.json'), text);
  chmodSync(join(dir, 'unreadable.json'), 0o000);
  mkdirSync(join(dir, 'dir.json'));
  symlinkSync('loopB', join(dir, 'loopA'));
  symlinkSync('loopA', join(dir, 'loopB'));
  mkdirSync(join(dir, 'fleet-bad'));
  writeFileSync(join(dir, 'fleet-bad', 'etok-fleet.json'), '{"schema": "etok.fleet/v1", "tasks": [');
  mkdirSync(join(dir, 'fleet-dir', 'etok-fleet.json'), { recursive: true });
  const evil = { ...doc, device: { ...(doc.device as object), name: EVIL_NAME } };
  writeFileSync(join(dir, 'evil.json'), JSON.stringify(evil));
});

describe('hostile input: one line, exit 2 (or 1), no stack trace, no hang', () => {
  it('has at least 40 cases across every command', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    const commands = new Set(CASES.map((c) => c.args(dir)[0]));
    for (const c of ['devices', 'bench', 'measure', 'phi', 'tpf', 'report', 'compare', 'fleet'])
      expect(commands).toContain(c);
  });

  it.each(CASES)('$name', (c) => {
    if (c.boundByFileModes && IS_ROOT && !WRAP) {
      // Root reads a chmod-000 file, so without setpriv or runuser the case cannot be set up.
      console.warn(`skipped '${c.name}': running as root without setpriv or runuser`);
      return;
    }
    const r = c.boundByFileModes
      ? runBoundByFileModes(c.args(dir), dir)
      : etok(c.args(dir), { cwd: dir, env: c.env ?? {}, timeoutMs: 30_000 });
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const context = `stderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(0, 400)}`;
    expect(r.status, context).toBe(c.exit); // null would mean killed by the timeout: a hang
    expect(lines, context).toHaveLength(1);
    expect(lines[0], context).toMatch(c.says);
    expect(lines[0]).toMatch(/^etok/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });
});

/** Device names from a driver reach reports and tables verbatim; every format must render them inert. */
const RENDER_CASES: { name: string; args: string[]; check: (out: string) => void }[] = [
  {
    name: 'report --format latex escapes LaTeX and drops escapes',
    args: ['report', 'evil.json', '--format', 'latex'],
    check: (out) => {
      expect(out).not.toContain('\\input{');
      expect(out).toContain('\\textbackslash{}input\\{/etc/passwd\\}');
      expect(out).toContain('\\$x\\$ \\& 100\\% \\#1 a\\_b');
    },
  },
  {
    name: 'report --format html escapes markup',
    args: ['report', 'evil.json', '--format', 'html'],
    check: (out) => {
      expect(out).not.toContain('<script>alert(1)');
      expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    },
  },
  {
    name: 'report --format md escapes markdown',
    args: ['report', 'evil.json'],
    check: (out) => expect(out).toContain('\\<script\\>alert(1)\\</script\\>'),
  },
  {
    name: 'compare prints the name in a terminal table without its escapes',
    args: ['compare', 'evil.json', FIXTURE, '--allow-mismatch'],
    check: (out) => expect(out).toContain('</script> RED $x$'),
  },
];

describe('hostile device names in reports and tables', () => {
  it.each(RENDER_CASES)('$name', (c) => {
    const r = etok(c.args, { cwd: dir, timeoutMs: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/); // no ESC, BEL or other control bytes
    c.check(r.stdout);
  });
});

/** What a hostile trial of the CLI found; each case fails on the code before its fix. */
describe('outputs that must not destroy, inputs that never end, corrupt energies, messages that name the right thing', () => {
  let d = '';
  const one = (r: { status: number | null; stderr: string }, exit: number, says: RegExp) => {
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(r.status, r.stderr).toBe(exit);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(says);
  };
  beforeAll(() => {
    d = tempDir('etok-trial-');
    const doc = JSON.parse(readFileSync(TPF_FIXTURE, 'utf8')) as {
      measurements: { energy: Record<string, number> }[];
    };
    writeFileSync(join(d, 'good.json'), JSON.stringify(doc));
    for (const [name, j] of [
      ['neg.json', -0.01],
      ['zero.json', 0],
    ] as const) {
      const bad = JSON.parse(JSON.stringify(doc)) as typeof doc;
      bad.measurements[0]!.energy.joulesPerToken = j;
      writeFileSync(join(d, name), JSON.stringify(bad));
    }
    spawnSync('mkfifo', [join(d, 'fifo')]);
    writeFileSync(join(d, 'target.md'), 'old\n');
    symlinkSync('target.md', join(d, 'link.md'));
    writeFileSync(join(d, 'k.py'), 'import etok\netok.register("noop", lambda p: (lambda: None))\n');
  });

  it('report --out naming its own input is refused, and the input is unchanged', () => {
    const before = readFileSync(join(d, 'good.json'), 'utf8');
    one(
      etok(['report', 'good.json', '--format', 'json', '--out', 'good.json'], { cwd: d }),
      2,
      /--out good\.json is also an input of this command/,
    );
    expect(readFileSync(join(d, 'good.json'), 'utf8')).toBe(before);
  });

  it('bench --out naming one of its kernels (a Python file) is refused before anything runs', () => {
    const before = readFileSync(join(d, 'k.py'), 'utf8');
    one(
      etok(['bench', '--python', 'k.py', '--out', 'k.py', ...TINY], { cwd: d }),
      2,
      /--out k\.py is also an input/,
    );
    expect(readFileSync(join(d, 'k.py'), 'utf8')).toBe(before);
  });

  it('--out through a symbolic link writes the file it names and keeps the link', () => {
    const r = etok(['report', 'good.json', '--out', 'link.md'], { cwd: d });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(d, 'target.md'), 'utf8')).toMatch(/^# etok energy disclosure/);
    expect(spawnSync('test', ['-L', join(d, 'link.md')]).status).toBe(0);
  });

  it.each([
    ['a FIFO', 'fifo', /is a FIFO \(named pipe\)/],
    ['a character device', '/dev/null', /is a character device/],
  ])('--out that is %s is refused, not replaced', (_what, out, says) => {
    one(etok(['report', 'good.json', '--out', out], { cwd: d, timeoutMs: 20_000 }), 2, says);
    expect(existsSync('/dev/null')).toBe(true);
  });

  it.each([
    ['phi', ['phi', '/dev/zero'], /cannot read results file \/dev\/zero: it is a character device/],
    ['phi', ['phi', 'fifo'], /cannot read results file fifo: it is a FIFO/],
    ['compare', ['compare', 'good.json', '/dev/zero'], /it is a character device/],
    [
      'bench --onnx',
      ['bench', '--onnx', '/dev/zero', '--tokens-per-run', '1'],
      /--onnx \/dev\/zero: cannot read it .*character device/,
    ],
  ])('%s refuses an input that never ends, at once', (_name, args, says) => {
    const started = Date.now();
    one(etok(args as string[], { cwd: d, timeoutMs: 20_000 }), 2, says);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it.each([
    ['a negative', 'neg.json'],
    ['a zero', 'zero.json'],
  ])('compare refuses %s J/token in a usable measurement (every reader does)', (_what, file) => {
    one(
      etok(['compare', 'good.json', file, '--fail-if-worse', '1'], { cwd: d }),
      2,
      /field 'measurements\.0\.energy\.joulesPerToken' must be > 0 in a measurement that is not marked invalid/,
    );
  });

  it('report names the flag that is wrong, and reads --facility-power as tpf does', () => {
    one(
      etok(['report', 'good.json', '--facility-power', '1M', '--pue', '0.8'], { cwd: d }),
      2,
      /--pue '0\.8' is not valid; expected a PUE ≥ 1/,
    );
    const ok = etok(['report', 'good.json', '--facility-power', '20M'], { cwd: d });
    expect(ok.status, ok.stderr).toBe(0);
    one(
      etok(['report', 'good.json', '--variant', 'nope'], { cwd: d }),
      2,
      /--variant nope is not in the results; variants there: /,
    );
  });

  it('an option with no effect is refused, not ignored; a command that cannot run is one line before any output', () => {
    one(
      etok(['bench', '--onnx', 'm.onnx', '--tokens-per-run', '1', '--variants', 'dense'], { cwd: d }),
      2,
      /--variants sweeps etok's kernels; it has no effect with --onnx/,
    );
    const r = etok(['measure', '--', '/nonexistent'], { cwd: d });
    one(r, 2, /cannot run '\/nonexistent': no such file/);
    expect(r.stdout).toBe('');
  });

  it('100 000 tiny regions: a summed-up warning, not one per region, and the run ends', () => {
    const script = join(d, 'many.py');
    writeFileSync(
      script,
      'import os\nf = os.fdopen(int(os.environ["ETOK_MARKER_FD"]), "w")\nfor i in range(100000):\n    f.write("begin r\\nend r calls=1 tokens=1\\n")\nf.close()\n',
    );
    const started = Date.now();
    const r = etok(
      ['measure', '--regions', '--meter', 'model', '--out', 'regions.json', '--', 'python3', script],
      {
        cwd: d,
        timeoutMs: 120_000,
      },
    );
    expect(r.status, r.stderr.slice(0, 500)).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /too short/.test(l)).length).toBeLessThanOrEqual(4);
    expect(r.stderr).toMatch(/99997 more region window\(s\) were too short/);
    expect(Date.now() - started).toBeLessThan(100_000);
    const doc = JSON.parse(readFileSync(join(d, 'regions.json'), 'utf8'));
    expect(doc.measurements[0].energy.windows).toHaveLength(100000);
  });
});
