#!/usr/bin/env node
// One CPU vector path (ETOK_CPU_ISA) against the fp64 references: every lever set × phase × dtype on the odd shapes
// of packages/native/test/kernels/accuracy.test.ts, elementwise |out − ref| ≤ atol + rtol·|ref| at the tolerances of
// packages/kernels/README.md ("Tolerances"). For a machine without the repository's test tools: bench/gpu/device-run.sh
// runs it on the GPU host's CPU, where the opt-in AVX-512 path gets its first run on AVX-512 hardware. Self-contained
// (the addon only), so it runs from bench/gpu/stage.sh's bundle. Prints a line per failure and a summary; writes
// JSON to --out. Exit 0 all pass, 1 a failure, 3 this CPU cannot run the path (nothing was checked). With --time,
// when every case passed, it also times the benchmark's decode shape (batch 8, 32/8 heads, d128, ctx 8192) on this
// path and on AVX2, so one run says whether the path is right and whether it is faster.
// Usage: node bench/cpu-isa-check.mjs [--isa avx512|avx2|portable] [--time] [--out FILE]   (addon: ETOK_NATIVE_ADDON)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const isa = option('--isa', 'avx512');
const out = option('--out', null);
const addon = createRequire(import.meta.url)(
  process.env.ETOK_NATIVE_ADDON ?? join(root, 'packages/native/build/Release/etok_native.node'),
);

process.env.ETOK_CPU_ISA = isa;
try {
  addon.cpuKernelIsa();
} catch (error) {
  console.log(`cpu-isa-check: ${error.message}: nothing checked`);
  process.exit(3);
}

// The same table as packages/native/test/kernels/tolerance.ts (EXACT_TOLERANCE).
const TOLERANCE = { f32: [2e-6, 2e-5], bf16: [1e-3, 8e-3], f16: [1e-4, 1e-3] };
// The shapes of accuracy.test.ts (CASES): odd dims, kvLen < window, split KV, GQA 4 at d128, an odd last tile.
const CASES = [
  [
    { batch: 1, heads: 3, kvHeads: 3, headDim: 20, kvLen: 77, rank: 40, ropeDim: 6 },
    5,
    { blockSize: 16, topK: 2, window: 24 },
  ],
  [
    { batch: 2, heads: 16, kvHeads: 2, headDim: 64, kvLen: 100, rank: 64, ropeDim: 16 },
    13,
    { blockSize: 32, topK: 1, window: 512 },
  ],
  [
    { batch: 1, heads: 8, kvHeads: 1, headDim: 32, kvLen: 1100, rank: 32, ropeDim: 16 },
    37,
    { blockSize: 64, topK: 3, window: 0 },
  ],
  [
    { batch: 1, heads: 8, kvHeads: 2, headDim: 128, kvLen: 300, rank: 128, ropeDim: 32 },
    9,
    { blockSize: 64, topK: 2, window: 64 },
  ],
  [
    { batch: 2, heads: 4, kvHeads: 2, headDim: 48, kvLen: 333, rank: 48, ropeDim: 16 },
    2,
    { blockSize: 32, topK: 2, window: 40 },
  ],
];
// Every lever set: layout (dense or mla) × sparse or not × KV storage.
const VARIANTS = [];
for (const mla of [false, true])
  for (const sparse of [false, true])
    for (const kv of [null, 'kv-int8', 'kv-fp8', 'kv-int4'])
      VARIANTS.push([mla && 'mla', sparse && 'sparse', kv].filter(Boolean).join('+') || 'dense');

const failures = [];
let checked = 0;
let worst = 0; // largest |out − ref| / (atol + rtol·|ref|) seen: below 1 passes
for (const variant of VARIANTS)
  for (const phase of ['decode', 'prefill'])
    for (const [shape, prefillQLen, params] of CASES)
      for (const [dtype, [atol, rtol]] of Object.entries(TOLERANCE)) {
        const request = {
          variant,
          phase,
          dtype,
          shape: { ...shape, qLen: phase === 'decode' ? 1 : prefillQLen },
          params,
        };
        const inputs = addon.syntheticInputs(request, 'peaked', 11);
        const got = addon.runKernel(request, inputs);
        const ref = addon.reference(request, inputs, 'exact');
        checked++;
        let bad = -1;
        for (let i = 0; i < got.length; i++) {
          const ratio = Math.abs(got[i] - ref[i]) / (atol + rtol * Math.abs(ref[i]));
          if (!(ratio <= 1) && bad < 0) bad = i;
          if (ratio > worst || Number.isNaN(ratio))
            worst = Number.isNaN(ratio) ? Number.POSITIVE_INFINITY : ratio;
        }
        if (bad >= 0 || got.length !== ref.length) {
          const f = { variant, phase, dtype, shape: request.shape, index: bad, out: got[bad], ref: ref[bad] };
          failures.push(f);
          console.log(
            `FAIL ${variant} ${phase} ${dtype} ${JSON.stringify(request.shape)}: [${bad}] ${got[bad]} vs ${ref[bad]}`,
          );
        }
      }
const summary = {
  isa,
  checked,
  failed: failures.length,
  worstOfBound: worst,
  failures: failures.slice(0, 50),
};
console.log(
  `cpu-isa-check ${isa}: ${checked - failures.length}/${checked} cases within tolerance of referenceExact ` +
    `(worst |out − ref| at ${(100 * worst).toFixed(1)}% of its bound)`,
);
if (args.includes('--time') && failures.length === 0) {
  // Median ms of timeKernel on each path, alternating per kernel so both see the same machine state.
  const shape = { batch: 8, heads: 32, kvHeads: 8, headDim: 128, kvLen: 8192 };
  summary.timing = [];
  for (const [variant, dtype] of [
    ['dense', 'f32'],
    ['dense', 'bf16'],
    ['kv-int8', 'f32'],
    ['kv-int4', 'f32'],
  ]) {
    const request = { variant, phase: 'decode', dtype, shape };
    const inputs = addon.syntheticInputs(request, 'uniform', 1);
    const row = { variant, dtype };
    for (const path of ['avx2', isa]) {
      process.env.ETOK_CPU_ISA = path;
      const { samplesS } = addon.timeKernel(request, inputs, { iterations: 5, minTimeS: 0.5 });
      const sorted = [...samplesS].sort((a, b) => a - b);
      row[path] = 1e3 * sorted[sorted.length >> 1];
    }
    summary.timing.push(row);
    console.log(
      `decode ${variant} ${dtype} b8 ctx8192: avx2 ${row.avx2.toFixed(2)} ms, ${isa} ${row[isa].toFixed(2)} ms`,
    );
  }
}
if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
process.exit(failures.length > 0 ? 1 : 0);
