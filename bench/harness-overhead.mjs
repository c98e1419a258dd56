#!/usr/bin/env node
// The harness's own cost, as ratios to the kernel time it measures:
//   window overhead — (energy-window time − calls × bare per-call time) ÷ (calls × bare per-call time), where
//                     the bare time comes from timeKernel (back-to-back run() calls, no meter, no harness);
//   meter reads     — the cost of one meter.read() / readAtUpdate() against a 200 ms window;
//   sampler CPU     — CPU seconds the power-timeline thread burns per second at 10 ms, against one core.
// Prints a table and writes bench/results/harness-overhead-<date>.json with the device, date and commit.
// Needs the built addon (npm run build). Usage: node bench/harness-overhead.mjs [--meter model]
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const addon = require(
  process.env.ETOK_NATIVE_ADDON ?? join(root, 'packages/native/build/Release/etok_native.node'),
);
const meterArg = process.argv.indexOf('--meter');
const meterId = meterArg >= 0 ? process.argv[meterArg + 1] : 'model';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

// 1. Window overhead on three kernel sizes (short calls stress the per-window costs most).
for (const kvLen of [256, 2048, 16384]) {
  const request = {
    variant: 'dense',
    phase: 'decode',
    dtype: 'f32',
    shape: { batch: 1, heads: 8, kvHeads: 2, headDim: 64, kvLen },
  };
  const inputs = addon.syntheticInputs(request, 'uniform', 1);
  const bare = median(
    Array.from(addon.timeKernel(request, inputs, { iterations: 200, minTimeS: 0.5 }).samplesS),
  );
  const result = await addon.measure({
    ...request,
    device: 'cpu',
    meter: meterId,
    quality: false,
    timing: { idleS: 0, maxTimeS: 0.5, energyBudgetS: 2, minTrials: 5, maxTrials: 8 },
  });
  const windowS = result.windows.reduce((s, w) => s + (w.t1Ns - w.t0Ns) * 1e-9, 0);
  const calls = result.windows.reduce((s, w) => s + w.calls, 0);
  const overhead = (windowS - calls * bare) / (calls * bare);
  rows.push({
    what: `window overhead, dense decode ctx ${kvLen}`,
    bareCallS: bare,
    windowS,
    calls,
    ratio: overhead,
  });
}

// 2. Meter reads.
const meter = new addon.Meter(meterId, 'cpu');
let t0 = process.hrtime.bigint();
const reads = 20000;
for (let i = 0; i < reads; i++) meter.read();
const readS = (Number(process.hrtime.bigint() - t0) * 1e-9) / reads;
rows.push({ what: 'one meter.read()', seconds: readS, ratio: readS / 0.2 });
t0 = process.hrtime.bigint();
for (let i = 0; i < 20; i++) meter.readAtUpdate();
const alignedS = (Number(process.hrtime.bigint() - t0) * 1e-9) / 20;
rows.push({ what: 'one meter.readAtUpdate()', seconds: alignedS, ratio: alignedS / 0.2 });

// 3. The power-timeline sampler's CPU at 10 ms (the process is otherwise idle while it runs).
const cpu0 = process.cpuUsage();
const wall0 = process.hrtime.bigint();
meter.startTimeline(10);
await new Promise((r) => setTimeout(r, 3000));
meter.stopTimeline();
const cpu = process.cpuUsage(cpu0);
const wallS = Number(process.hrtime.bigint() - wall0) * 1e-9;
const samplerCpuS = (cpu.user + cpu.system) * 1e-6;
rows.push({
  what: 'power-timeline sampler at 10 ms, CPU of one core',
  seconds: samplerCpuS,
  wallS,
  ratio: samplerCpuS / wallS,
});
meter.close();

const commit = (() => {
  try {
    return execSync('git rev-parse HEAD', { cwd: root }).toString().trim();
  } catch {
    return 'unknown';
  }
})();
const device = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  meter: meterId,
  loadAverage1m: loadavg()[0],
};
console.log(
  `harness overhead on ${device.cpu} (${device.cores} cores, load ${device.loadAverage1m.toFixed(1)}), meter ${meterId}, commit ${commit.slice(0, 10)}`,
);
for (const r of rows) console.log(`${r.what.padEnd(52)} ${(100 * r.ratio).toFixed(3).padStart(8)} %`);
const date = new Date().toISOString();
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', `harness-overhead-${date.slice(0, 10)}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ bench: 'harness-overhead', date, commit, device, rows }, null, 2)}\n`,
);
console.log(`written: ${file}`);
