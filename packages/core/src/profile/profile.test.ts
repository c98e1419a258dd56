// `etok profile`'s analysis on synthetic traces: merging processes, the clock map, busy time, the choice of
// replay targets, a replay's J/call and verdicts, time-share estimates, closure, the schema and the renderers.
import { describe, expect, it } from 'vitest';
import { buildProfile, type ProfileInput, timeSharePower } from './build.js';
import { type PassSummary, parsePassEvents, parsePassSummary, type ReplayEvent } from './pass-files.js';
import { renderProfile } from './render.js';
import { analyseReplay } from './replay-analysis.js';
import { isProfileDocument, ProfileDocumentSchema, parseProfile } from './schema.js';
import { chooseTargets, targetsText } from './targets.js';
import { cuptiClock, intervalsOnMonotonic, type KernelTrace, mergeTraces, unionSeconds } from './trace.js';

const key = (symbol: string, grid = 132) => `${symbol}|${grid},1,1|256,1,1|0`;

function passKernel(
  symbol: string,
  calls: number,
  meanNs: number,
  extra: Partial<PassSummary['kernels'][number]> = {},
) {
  return {
    key: key(symbol),
    symbol,
    name: symbol.replace(/^_Z\d+/, ''),
    grid: [132, 1, 1] as [number, number, number],
    block: [256, 1, 1] as [number, number, number],
    sharedMemBytes: 0,
    device: 0,
    calls,
    graphCalls: 0,
    totalNs: calls * meanNs,
    minNs: meanNs * 0.9,
    maxNs: meanNs * 1.1,
    ...extra,
  };
}

function summary(
  pid: number,
  kernels: PassSummary['kernels'],
  launches: PassSummary['launches'],
  uuid = 'GPU-a',
): PassSummary {
  return {
    schema: 'etok.profile-pass/v1',
    mode: 'trace',
    pid,
    complete: true,
    kernels,
    launches,
    runtimeOnlyLaunches: [],
    devices: [{ ordinal: 0, uuid }],
  };
}

function trace(symbol: string, calls: number, meanS: number, seen = calls): KernelTrace {
  return {
    key: key(symbol),
    launchKey: key(symbol),
    symbol,
    name: symbol,
    launch: { grid: [132, 1, 1], block: [256, 1, 1], sharedMemBytes: 0 },
    calls,
    graphCalls: 0,
    gpuSeconds: calls * meanS,
    minSeconds: meanS,
    maxSeconds: meanS,
    launchesSeen: seen,
    launchesCaptured: 0,
    runtimeOnlyLaunches: 0,
  };
}

/** Replay windows of a kernel that draws `watts` for `callS` per call: J/call = watts × callS, with ±noise. */
function replayEvent(
  k: string,
  watts: number,
  callS: number,
  noise: number[] = [0, 0.002, -0.002, 0.001, -0.001],
): ReplayEvent {
  return {
    type: 'replay',
    pid: 1,
    key: k,
    launchIndex: 500,
    idleW: 60,
    samplesS: Array.from({ length: 50 }, () => callS),
    windows: noise.map((e, i) => {
      const calls = Math.round(2 / callS);
      return { t0Ns: i * 3e9, t1Ns: i * 3e9 + 2e9, joules: watts * callS * calls * (1 + e), calls };
    }),
    windowTargetS: 2,
    stopReason: 'ci-target',
    cancelled: false,
    meter: { id: 'nvml:0', measured: true, method: 'energy-counter', boundary: 'board' },
    memory: { bytes: 1 << 30, where: 'device', ranges: 3, untrackedRanges: 0 },
    pausedS: 12,
  };
}

const METER = {
  id: 'nvml:0',
  kind: 'nvml' as const,
  measured: true,
  method: 'energy-counter' as const,
  boundary: 'board',
  updatePeriodMs: 100,
  idleW: 60,
};

function input(
  kernels: KernelTrace[],
  replays: ReplayEvent[],
  over: Partial<ProfileInput> = {},
): ProfileInput {
  return {
    createdAt: '2026-12-01T00:00:00Z',
    tool: { name: 'etok', version: '0.1.0' },
    meter: METER,
    device: { name: 'NVIDIA H200' },
    command: ['./two-kernels'],
    exitCode: 0,
    signal: null,
    complete: true,
    programJoules: 610,
    programSeconds: 3,
    idleW: 60,
    busySeconds: 2,
    kernels,
    reasons: chooseTargets(kernels, 10).reasons,
    replays,
    passes: [],
    notes: [],
    ...over,
  };
}

describe('the trace of several processes', () => {
  it('sums calls and GPU time per kernel and configuration, and counts other GPUs apart', () => {
    const a = summary(
      1,
      [passKernel('_Z3mma', 100, 1e6), passKernel('_Z4copy', 100, 5e5)],
      [{ key: key('_Z3mma'), seen: 100, captured: 0 }],
    );
    const b = summary(2, [passKernel('_Z3mma', 50, 1e6)], [{ key: key('_Z3mma'), seen: 40, captured: 10 }]);
    const other = summary(3, [passKernel('_Z3mma', 7, 1e6)], [], 'GPU-b');
    const m = mergeTraces([a, b, other], 'GPU-a');
    expect(m.kernels.map((k) => k.symbol)).toEqual(['_Z3mma', '_Z4copy']);
    const mma = m.kernels[0]!;
    expect(mma.calls).toBe(150);
    expect(mma.gpuSeconds).toBeCloseTo(0.15, 12);
    expect(mma.launchesSeen).toBe(140);
    expect(mma.launchesCaptured).toBe(10);
    expect(m.kernels[1]!.launchesSeen).toBe(0);
    expect(m.otherDevices).toEqual({ kernels: 1, calls: 7, gpuSeconds: 0.007 });
  });

  it('joins launches whose callbacks spell the kernel otherwise, by configuration and name', () => {
    const k = passKernel('_Z3mmav', 10, 1e6, { name: 'mma()' });
    const m = mergeTraces(
      [summary(1, [k], [{ key: 'mma()|132,1,1|256,1,1|0', seen: 10, captured: 0 }])],
      null,
    );
    expect(m.kernels[0]).toMatchObject({ launchKey: 'mma()|132,1,1|256,1,1|0', launchesSeen: 10 });
    const other = mergeTraces(
      [summary(1, [k], [{ key: 'mma()|1,1,1|256,1,1|0', seen: 10, captured: 0 }])],
      null,
    );
    expect(other.kernels[0]).toMatchObject({ launchKey: k.key, launchesSeen: 0 });
  });

  it('keeps every kernel when the board is unknown', () => {
    const m = mergeTraces([summary(3, [passKernel('_Z3mma', 7, 1e6)], [], 'GPU-b')], null);
    expect(m.kernels).toHaveLength(1);
  });
});

describe('the clock map and busy time', () => {
  it('maps CUPTI timestamps onto CLOCK_MONOTONIC through the pairs, exactly for timestamps beyond 2^53', () => {
    const base = 1_760_000_000_000_000_000n; // realtime-like nanoseconds
    const pairs = {
      cuptiNs: [`${base}`, `${base + 10_000_000_000n}`],
      monoNs: [5e12, 5e12 + 10_000_000_000 * 1.00001],
    };
    const map = cuptiClock(pairs)!;
    expect(map(base)).toBeCloseTo(5e12, 0);
    expect(map(base + 5_000_000_000n)).toBeCloseTo(5e12 + 5e9 * 1.00001, 0);
    expect(cuptiClock(undefined)).toBeNull();
    const one = cuptiClock({ cuptiNs: ['100'], monoNs: [1000] })!;
    expect(one(150n)).toBe(1050);
  });

  it('reads interval files (u64 pairs, little-endian) onto the meter clock', () => {
    const raw = new Uint8Array(32);
    const v = new DataView(raw.buffer);
    v.setBigUint64(0, 100n, true);
    v.setBigUint64(8, 200n, true);
    v.setBigUint64(16, 300n, true);
    v.setBigUint64(24, 450n, true);
    expect([...intervalsOnMonotonic(raw, (c) => Number(c) + 1)]).toEqual([101, 201, 301, 451]);
  });

  it('counts overlapping kernels once and clips to the program window', () => {
    const iv = new Float64Array([0, 10, 5, 15, 20, 30, 22, 25, 40, 60].map((x) => x * 1e9));
    expect(unionSeconds(iv, 0, 100e9)).toBeCloseTo(15 + 10 + 20, 9);
    expect(unionSeconds(iv, 12e9, 50e9)).toBeCloseTo(3 + 10 + 10, 9);
    expect(unionSeconds(new Float64Array(), 0, 1)).toBe(0);
  });
});

describe('replay targets', () => {
  it('takes the top kernels by GPU time among those a replay can reach, each at its middle launch', () => {
    const kernels = [
      trace('big', 10, 1e-3, 9),
      { ...trace('graphs', 1000, 1e-3, 0), graphCalls: 1000 },
      { ...trace('captured', 10, 5e-4, 0), launchesCaptured: 10 },
      { ...trace('runtime', 10, 4e-4, 0), runtimeOnlyLaunches: 10 },
      trace('unseen', 10, 3e-4, 0),
      trace('small', 10, 1e-4),
      trace('tiny', 10, 1e-5),
    ];
    const { targets, reasons } = chooseTargets(kernels, 2);
    expect(targets).toEqual([
      { key: key('big'), launchIndex: 5 },
      { key: key('small'), launchIndex: 5 },
    ]);
    expect(reasons.get(key('graphs'))).toMatch(/only inside CUDA graphs/);
    expect(reasons.get(key('captured'))).toMatch(/captured into a CUDA graph/);
    expect(reasons.get(key('runtime'))).toMatch(/CUDA runtime/);
    expect(reasons.get(key('unseen'))).toMatch(/was seen by the launch callbacks/);
    expect(reasons.get(key('tiny'))).toMatch(/not among the top 2/);
    expect(targetsText(targets)).toBe(`5\t${key('big')}\n5\t${key('small')}\n`);
  });
});

describe('a replay', () => {
  it('gives J/call = Σ joules / Σ calls with a bootstrap interval around it', () => {
    const a = analyseReplay(replayEvent(key('mma'), 400, 1e-3), 1e-3);
    if (!a.ok) throw new Error(a.reason);
    expect(a.joulesPerCall).toBeCloseTo(0.4, 3);
    expect(a.ciLow).toBeLessThanOrEqual(a.joulesPerCall);
    expect(a.ciHigh).toBeGreaterThanOrEqual(a.joulesPerCall);
    expect(a.ciHigh - a.ciLow).toBeLessThan(0.004);
    expect(a.replay.valid).toBe(true);
    expect(a.replay).toMatchObject({ memoryBytes: 1 << 30, memoryWhere: 'device', launchIndex: 500 });
  });

  it('is doubted when its calls took another time than the kernel in the program, or its interval is wide', () => {
    const slow = analyseReplay(replayEvent(key('mma'), 400, 1e-3), 2e-3);
    expect(slow.ok && slow.replay.validity).toContain('replay-time-differs');
    const noisy = analyseReplay(replayEvent(key('mma'), 400, 1e-3, [0, 0.3, -0.3, 0.2, -0.25]), 1e-3);
    expect(noisy.ok && noisy.replay.validity).toContain('ci-not-reached');
    const one = analyseReplay(replayEvent(key('mma'), 400, 1e-3, [0]), 1e-3);
    expect(one.ok && one.replay.validity).toContain('too-few-windows');
  });

  it('refuses windows no meter can give, and reads numbers the library wrote as null', () => {
    const e = replayEvent(key('mma'), 400, 1e-3);
    const negative = analyseReplay({ ...e, windows: e.windows!.map((w) => ({ ...w, joules: -1 })) }, 1e-3);
    expect(negative.ok).toBe(false);
    expect(!negative.ok && negative.reason).toMatch(/meter anomaly/);
    const line = JSON.stringify({ ...e, idleW: null, samplesS: [null, 1e-3] });
    const [parsed] = parsePassEvents(line).events as ReplayEvent[];
    expect(parsed!.idleW).toBeUndefined();
    const a = analyseReplay(parsed!, 1e-3);
    expect(a.ok && a.replay.idleW).toBe(0);
    expect(a.ok && a.replay.timePerCallS).toBe(1e-3);
  });

  it('says why nothing was measured', () => {
    const refused = analyseReplay(
      { type: 'replay', pid: 1, key: 'k', launchIndex: 3, reason: 'over the limit' },
      1e-3,
    );
    expect(refused).toEqual({ ok: false, reason: 'replay not possible: over the limit' });
    const failed = analyseReplay(
      {
        type: 'replay',
        pid: 1,
        key: 'k',
        launchIndex: 3,
        windows: [],
        failure: { code: 'REPLAY_FAILED', message: 'boom' },
      },
      1e-3,
    );
    expect(failed).toEqual({ ok: false, reason: 'the replay measured nothing: REPLAY_FAILED: boom' });
  });
});

describe('the profile of a program with two kernels of different power', () => {
  // 1 s idle at 60 W, then 1000 × (a 1 ms tensor-core kernel at 400 W, a 1 ms copy at 150 W): 610 J in 3 s.
  const kernels = () => [trace('mma', 1000, 1e-3), trace('copy', 1000, 1e-3)];

  it('explains the program energy by replay: calls × J/call, shares and closure', () => {
    const doc = buildProfile(
      input(kernels(), [replayEvent(key('mma'), 400, 1e-3), replayEvent(key('copy'), 150, 1e-3)]),
    );
    expect(doc.kernels.map((k) => [k.name, k.source])).toEqual([
      ['mma', 'replay'],
      ['copy', 'replay'],
    ]);
    expect(doc.kernels[0]!.joules).toBeCloseTo(400, 0);
    expect(doc.kernels[1]!.joules).toBeCloseTo(150, 0);
    expect(doc.kernels[0]!.share).toBeCloseTo(400 / 610, 2);
    expect(doc.closure).toBeCloseTo(550 / 610, 2);
    expect(doc.replayedClosure).toBeCloseTo(550 / 610, 2);
    expect(ProfileDocumentSchema.safeParse(JSON.parse(JSON.stringify(doc))).success).toBe(true);
  });

  it('labels a kernel not replayed as a time-share estimate, which misjudges it, and says why', () => {
    const doc = buildProfile(input(kernels(), [replayEvent(key('mma'), 400, 1e-3)]));
    const copy = doc.kernels.find((k) => k.name === 'copy')!;
    // Time share: (610 J − 60 W × 1 s idle) / 2 s busy = 275 W for every kernel, so the copy is overstated.
    expect(doc.timeShare?.watts).toBeCloseTo(275, 6);
    expect(copy).toMatchObject({
      replayed: false,
      source: 'time-share',
      ciLowJoulesPerCall: null,
      ciHighJoulesPerCall: null,
    });
    expect(copy.joulesPerCall).toBeCloseTo(0.275, 6);
    expect(copy.reason).toMatch(/not reached/);
    expect(doc.closure).toBeCloseTo((400 + 275) / 610, 2);
    expect(doc.replayedClosure).toBeCloseTo(400 / 610, 2);
  });

  it('has an empty table and no closure for a program without kernels', () => {
    const doc = buildProfile(input([], [], { programJoules: 120, programSeconds: 2, busySeconds: null }));
    expect(doc.kernels).toEqual([]);
    expect(doc.closure).toBe(0);
    const none = buildProfile(input([], [], { programJoules: 0, programSeconds: 0, busySeconds: null }));
    expect(none.closure).toBeNull();
  });
});

describe('time-share power', () => {
  it('is the program energy less idle gaps over busy time, else the average power', () => {
    expect(timeSharePower(610, 3, 60, 2).watts).toBeCloseTo(275, 9);
    expect(timeSharePower(300, 3, 60, null).watts).toBeCloseTo(100, 9);
    expect(timeSharePower(0, 0, 60, null).watts).toBeNull();
  });
});

describe('files and renderers', () => {
  it('reads pass files, counting lines a killed process left half-written', () => {
    const { events, unreadable } = parsePassEvents(
      '{"type":"error","pid":1,"code":"CUPTI_UNAVAILABLE","message":"no"}\n{"type":"rep',
    );
    expect(events).toHaveLength(1);
    expect(unreadable).toBe(1);
    expect(
      parsePassSummary('{"schema":"etok.profile-pass/v1","mode":"trace","pid":1,"complete":false}'),
    ).toMatchObject({
      kernels: [],
      launches: [],
    });
    expect(parsePassSummary('{"schema":"etok.profile-pass/v1"')).toBeNull();
  });

  it('renders every format with sources, estimates and the closure, and round-trips JSON', () => {
    const doc = buildProfile(
      input(
        [trace('mma', 1000, 1e-3), trace('<script>copy', 1000, 1e-3)],
        [replayEvent(key('mma'), 400, 1e-3)],
      ),
    );
    const md = renderProfile(doc, 'md');
    expect(md).toMatch(/MEASURED by nvml:0 \(energy-counter, boundary: board\)/);
    expect(md).toMatch(/time-share ESTIMATE/);
    expect(md).toMatch(/closure: the kernels account for/);
    const html = renderProfile(doc, 'html');
    expect(html).toContain('<svg');
    expect(html).toContain('&lt;script&gt;copy');
    expect(html).not.toContain('<script>copy');
    expect(renderProfile(doc, 'latex')).toContain('\\begin{tabular}');
    const back = parseProfile(renderProfile(doc, 'json'), 'p.json');
    expect(isProfileDocument(back)).toBe(true);
    expect(back.kernels).toHaveLength(2);
    expect(() => parseProfile('{"schema":"etok.profile/v1"}', 'p.json')).toThrow(
      /p.json is not an etok.profile\/v1 file/,
    );
  });
});
