#!/usr/bin/env node
// CPU attention benchmark: the kernels against this machine's own roofline, measured in the same run.
//   decode  — achieved bytes/s (cost-model bytes at the stored formats ÷ median time) over the sustained
//             multi-threaded read bandwidth; quantized KV: speedup over dense beside the byte ratio
//   prefill — achieved FLOP/s over the measured FMA peak
// The roofline is measured once at the start and again beside every kernel (before and after it, averaged): on a
// shared machine the fractions then compare the kernel with what the memory and cores gave at that moment.
// Prints a table and writes bench/results/cpu-attention-<date-time>.json with the device, date and commit.
// Needs the built addon (packages/native/build, or ETOK_NATIVE_ADDON) and the built @etok/kernels (npm run build).
// Usage: node bench/cpu-attention.mjs [--quick] [--threads N]
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callCost, DEFAULT_PARAMS, DEFAULT_SHAPE } from '@etok/kernels';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const addon = require(
  process.env.ETOK_NATIVE_ADDON ?? join(root, 'packages/native/build/Release/etok_native.node'),
);

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const threadsArg = args.indexOf('--threads');
const threads = threadsArg >= 0 ? Number(args[threadsArg + 1]) : 0;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times one problem; inputs may be shared between variants of one layout (they only depend on it). */
function run(label, request, inputs, iterations) {
  const req = { threads, ...request };
  // The machine may be shared: measure the roofline right beside each kernel so both see the same conditions.
  const before = addon.cpuRoofline({ threads, seconds: 0.6, bufferBytes: 256 * 1024 * 1024 });
  const { samplesS, isa } = addon.timeKernel(req, inputs, { iterations, minTimeS: quick ? 0.2 : 1 });
  const after = addon.cpuRoofline({ threads, seconds: 0.6, bufferBytes: 256 * 1024 * 1024 });
  const nearby = {
    readBytesPerS: (before.readBytesPerS + after.readBytesPerS) / 2,
    fmaFlopsPerS: (before.fmaFlopsPerS + after.fmaFlopsPerS) / 2,
  };
  const shape = { ...DEFAULT_SHAPE, ...request.shape };
  const params = { ...DEFAULT_PARAMS, ...(request.params ?? {}) };
  const cost = callCost({
    variant: request.variant,
    phase: request.phase,
    dtype: request.dtype,
    shape,
    params,
  });
  const s = median(samplesS);
  return {
    label,
    ...request,
    shape,
    params,
    isa,
    samples: samplesS.length,
    medianS: s,
    minS: Math.min(...samplesS),
    ...cost,
    bytesPerS: cost.bytes / s,
    roofline: nearby,
    flopsPerS: cost.flops / s,
  };
}

const device = addon.listDevices().find((d) => d.id === 'cpu');
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
  if (execSync('git status --porcelain', { cwd: root }).toString().trim()) commit += '+dirty';
} catch {}

console.error(
  `etok CPU attention benchmark on ${device.name} (${device.cores} threads, ${device.simd}), commit ${commit}`,
);
console.error('measuring the roofline (read bandwidth, FMA peak)…');
const roofline = addon.cpuRoofline({ threads, seconds: quick ? 1 : 3 });
console.error(
  `  read ${(roofline.readBytesPerS / 1e9).toFixed(1)} GB/s, FMA peak ${(roofline.fmaFlopsPerS / 1e9).toFixed(0)} GFLOP/s (${roofline.isa})`,
);

const rows = [];
const ctx = quick ? 2048 : 8192;
const decodeShape = { batch: 8, heads: 32, kvHeads: 8, headDim: 128, kvLen: ctx };
for (const dtype of ['f32', 'bf16']) {
  const base = { phase: 'decode', dtype, shape: decodeShape };
  const inputs = addon.syntheticInputs({ ...base, variant: 'dense' }, 'uniform', 1);
  for (const variant of ['dense', 'kv-int8', 'kv-fp8', 'kv-int4']) {
    console.error(`decode ${variant} ${dtype}…`);
    rows.push(run(`decode ${variant}`, { ...base, variant }, inputs, 5));
  }
  // The opt-in int8 path in 16-bit integers (ETOK_CPU_INT8_DOT=1: query and weights rounded to int16, README
  // "Tolerances"), beside the exact one.
  console.error(`decode kv-int8 int16-dot ${dtype}…`);
  process.env.ETOK_CPU_INT8_DOT = '1';
  try {
    rows.push(run('decode kv-int8 int16-dot', { ...base, variant: 'kv-int8' }, inputs, 5));
  } finally {
    delete process.env.ETOK_CPU_INT8_DOT;
  }
  const sparse = { ...base, variant: 'sparse' };
  rows.push(run('decode sparse', sparse, addon.syntheticInputs(sparse, 'peaked', 1), 5));
}
{
  const mla = {
    variant: 'mla',
    phase: 'decode',
    dtype: 'bf16',
    shape: { batch: 8, heads: 16, kvLen: ctx, rank: 512, ropeDim: 64 },
  };
  const inputs = addon.syntheticInputs(mla, 'uniform', 1);
  for (const variant of ['mla', 'mla+kv-int8', 'mla+kv-int4']) {
    console.error(`decode ${variant} bf16…`);
    rows.push(run(`decode ${variant}`, { ...mla, variant }, inputs, 5));
  }
}
const prefillLen = quick ? 512 : 1024;
for (const dtype of ['f32', 'bf16']) {
  const req = {
    variant: 'dense',
    phase: 'prefill',
    dtype,
    shape: { batch: 1, heads: 32, kvHeads: 8, headDim: 128, qLen: prefillLen, kvLen: prefillLen },
  };
  console.error(`prefill dense ${dtype}…`);
  rows.push(run('prefill dense', req, addon.syntheticInputs(req, 'uniform', 1), 3));
}

// Does this machine overlap DRAM traffic with arithmetic? One thread, dense f32 decode: the kernel with its KV in
// cache (ctx 64: its arithmetic rate), the same kernel at the benchmark context (from DRAM), and the thread's own
// read bandwidth. A core that overlaps runs the long context near min(arithmetic rate, read bandwidth); one that
// serialises them, near 1 / (1/arithmetic + 1/bandwidth). It explains a decode fraction, it does not excuse one.
console.error('overlap probe (1 thread, dense f32 decode)…');
const overlapProbe = (() => {
  const one = (kvLen) => {
    const req = {
      variant: 'dense',
      phase: 'decode',
      dtype: 'f32',
      shape: { ...decodeShape, kvLen },
      threads: 1,
    };
    const inputs = addon.syntheticInputs(req, 'uniform', 1);
    const { samplesS } = addon.timeKernel(req, inputs, { iterations: 5, minTimeS: quick ? 0.2 : 0.5 });
    const cost = callCost({ ...req, shape: { ...DEFAULT_SHAPE, ...req.shape }, params: DEFAULT_PARAMS });
    return cost.bytes / median(samplesS);
  };
  const inCacheBytesPerS = one(64);
  const fromDramBytesPerS = one(ctx);
  const { readBytesPerS } = addon.cpuRoofline({ threads: 1, seconds: 0.6, bufferBytes: 256 * 1024 * 1024 });
  return {
    threads: 1,
    inCacheBytesPerS,
    fromDramBytesPerS,
    readBytesPerS,
    overlappedBytesPerS: Math.min(inCacheBytesPerS, readBytesPerS),
    serialBytesPerS: 1 / (1 / inCacheBytesPerS + 1 / readBytesPerS),
  };
})();

// Decode figures of merit: bytes/s over the roofline; quantized speedup over dense of the same dtype vs byte ratio.
const denseOf = (dtype, prefix) => rows.find((r) => r.label === `decode ${prefix}` && r.dtype === dtype);
for (const r of rows) {
  r.fractionOfReadBandwidth = r.bytesPerS / r.roofline.readBytesPerS;
  r.fractionOfFmaPeak = r.flopsPerS / r.roofline.fmaFlopsPerS;
  // The roofline's own bound for this call: the slower of reading its bytes and doing its FLOPs at peak. Decode
  // with quantized KV crosses from the memory side to the compute side (more FLOPs per stored byte).
  const memoryS = r.bytes / r.roofline.readBytesPerS;
  const computeS = r.flops / r.roofline.fmaFlopsPerS;
  r.roofline.boundBy = memoryS >= computeS ? 'memory' : 'compute';
  r.fractionOfRoofline = Math.max(memoryS, computeS) / r.medianS;
  if (r.phase === 'decode' && r.variant !== 'dense' && r.variant !== 'mla') {
    const base = denseOf(r.dtype, r.variant.startsWith('mla') ? 'mla' : 'dense');
    if (base) {
      r.speedupVsDense = base.medianS / r.medianS;
      r.byteRatioVsDense = base.bytes / r.bytes;
    }
  }
}

const fmt = (x, d = 2) => (x === undefined ? '' : x.toFixed(d));
const header = [
  'kernel',
  'dtype',
  'median ms',
  'GB/s',
  'read GB/s',
  '% read BW',
  'GFLOP/s',
  'FMA GFLOP/s',
  '% FMA peak',
  'bound',
  '% roofline',
  'speedup',
  'byte ratio',
];
const table = rows.map((r) => [
  r.label,
  r.dtype,
  fmt(r.medianS * 1e3, 1),
  fmt(r.bytesPerS / 1e9, 1),
  fmt(r.roofline.readBytesPerS / 1e9, 1),
  fmt(100 * r.fractionOfReadBandwidth, 0),
  fmt(r.flopsPerS / 1e9, 1),
  fmt(r.roofline.fmaFlopsPerS / 1e9, 0),
  fmt(100 * r.fractionOfFmaPeak, 0),
  r.roofline.boundBy,
  fmt(100 * r.fractionOfRoofline, 0),
  fmt(r.speedupVsDense),
  fmt(r.byteRatioVsDense),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(
  `\n${device.name}: read ${(roofline.readBytesPerS / 1e9).toFixed(1)} GB/s, FMA peak ${(roofline.fmaFlopsPerS / 1e9).toFixed(0)} GFLOP/s; decode shapes batch 8, ctx ${ctx}`,
);
console.log(line(header));
for (const row of table) console.log(line(row));
const gb = (x) => `${(x / 1e9).toFixed(1)} GB/s`;
console.log(
  `\noverlap probe, 1 thread, dense f32 decode: in cache ${gb(overlapProbe.inCacheBytesPerS)}, ctx ${ctx} ${gb(overlapProbe.fromDramBytesPerS)}; read bandwidth ${gb(overlapProbe.readBytesPerS)} → overlapped ≈ ${gb(overlapProbe.overlappedBytesPerS)}, serialised ≈ ${gb(overlapProbe.serialBytesPerS)}`,
);

const date = new Date().toISOString();
const result = {
  schema: 'etok.bench.cpu-attention/v1',
  date,
  commit,
  device: { id: 'cpu', name: device.name, cores: device.cores, simd: device.simd },
  threads: threads || device.cores,
  quick,
  roofline,
  overlapProbe,
  rows,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
const stamp = date.slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
const file = join(root, 'bench/results', `cpu-attention-${stamp}${quick ? '-quick' : ''}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.error(`wrote ${file}`);
