#!/usr/bin/env node
// etok's CPU attention vs ONNX Runtime (CPU provider), same inputs, same meter, measured by the same engine in one
// interleaved group per configuration:
//   decode (32 heads / 8 kv heads, d128) at contexts 1K–32K and batch 1 and 4, for dense, kv-int8 and kv-int4;
//   a causal prefill chunk (b1, q256, 8/2 heads, d64) at contexts 1K, 4K and 8K, dense.
// ORT runs each configuration twice. Dense: the fused com.microsoft.GroupQueryAttention op and the plain graph
// (MatMul/Softmax). kv-int8 / kv-int4: the op with its own quantized cache (int8 / int4 with per-channel scales:
// the same bytes a value as etok's per-token / per-group scales, the like-for-like speed peer) and the plain
// dequantize-then-attend graph (the same scheme as etok, exact). Prints a table; writes JSON to
// bench/results/onnx-peer-<date-time>.json with device, date, commit. Needs the build (npm run build). About ten
// minutes on a 2-core machine. Usage: node bench/onnx-peer.mjs [--meter ID] [--quick]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseMeasurement, chooseMeter, DEFAULT_PARAMS, peerVariant, planBench } from '@etok/core';
import { listDevices, listMeters, measureGroup } from '@etok/native';
import { nativePlan } from '../packages/cli/dist/bench/measure-groups.js';
import { onnxPeerFor } from '../packages/cli/dist/onnx/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const meterArg = process.argv.indexOf('--meter');
const requestedMeter = meterArg > 0 ? process.argv[meterArg + 1] : 'auto';
const meter = requestedMeter === 'auto' ? chooseMeter('cpu', listMeters()).meter : requestedMeter;
const timing = {
  warmupS: 0.1,
  minTimeS: 0.2,
  maxTimeS: 0.6,
  minWindowS: 0.2,
  minWindowUpdates: 20,
  minTrials: 3,
  maxTrials: 6,
  energyCiTarget: 0.03,
  energyBudgetS: 2,
  idleS: 0.3,
};

function plan(phase, variants, batch, ctx, heads, kvHeads, headDim, qLen) {
  return planBench(
    {
      device: 'cpu',
      meter,
      variants,
      phases: [phase],
      batch,
      ctx,
      ...(qLen ? { qLen: [qLen] } : {}),
      heads: [heads],
      kvHeads: [kvHeads],
      headDim: [headDim],
      rank: 512,
      ropeDim: 64,
      params: DEFAULT_PARAMS,
      profile: 'uniform',
      seed: 1,
      quality: false,
      timing,
    },
    16 * 2 ** 30,
  );
}

/** The ORT peer of `config` in one graph form, as a configuration of the same group (or why there is none). */
function peerConfig(config, form) {
  const d = onnxPeerFor(config, form);
  if (d.peers.length === 0) return { reason: d.none[0]?.reason ?? 'no ORT form' };
  const peer = d.peers[0];
  const variant = peerVariant(config.variant, peer.peer);
  return { ...config, variant, external: peer, id: `${variant}${config.id.slice(config.variant.length)}` };
}

/** etok's kernel and its ORT forms, measured as one interleaved group. */
async function measureTogether(p, configs) {
  const raws = await measureGroup(
    configs.map((c) => nativePlan(c, { plan: p, meter, powerModel: undefined })),
  ).result;
  return raws.map((raw, i) => {
    if (raw.failure) {
      console.error(`  ${configs[i].id}: ${raw.failure.message}`);
      return null;
    }
    return {
      measurement: analyseMeasurement(configs[i], raw, { timing: p.timing, interleaved: true }),
      meter: raw.meter,
    };
  });
}

const decodeCtx = quick ? [1024, 4096] : [1024, 4096, 8192, 16384, 32768];
const plans = [
  plan('decode', ['dense', 'kv-int8', 'kv-int4'], quick ? [1] : [1, 4], decodeCtx, 32, 8, 128),
  plan('prefill', ['dense'], [1], quick ? [1024] : [1024, 4096, 8192], 8, 2, 64, 256),
];
const rows = [];
let meterInfo;
for (const p of plans) {
  for (const config of p.configs) {
    process.stderr.write(`${config.id}: etok and ORT…\n`);
    // The fused op: dense as it is; kv-int8 / kv-int4 with the op's own per-channel quantized cache.
    const fusedForm = config.variant === 'dense' ? 'auto' : 'gqa-per-channel';
    const forms = [peerConfig(config, fusedForm), peerConfig(config, 'plain')];
    for (const f of forms) if ('reason' in f) console.error(`  ${config.id}: ${f.reason}`);
    const group = [config, ...forms.filter((f) => !('reason' in f))];
    const measured = await measureTogether(p, group);
    const of = (form) => {
      const i = group.indexOf(form);
      return i > 0 ? (measured[i]?.measurement ?? null) : null;
    };
    const etok = measured[0];
    meterInfo ??= etok?.meter;
    const [fused, plain] = [of(forms[0]), of(forms[1])];
    rows.push({
      id: config.id,
      variant: config.variant,
      phase: config.phase,
      batch: config.shape.batch,
      ctx: config.shape.kvLen,
      etok: etok?.measurement ?? null,
      fused,
      plain,
    });
  }
}

const fmt = (x, unit) => {
  if (!Number.isFinite(x)) return '—';
  const [s, p] = [
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
  ].find(([s]) => Math.abs(x) >= s) ?? [1e-9, 'n'];
  return `${(x / s).toPrecision(3)} ${p}${unit}`;
};
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
const header = [
  'configuration',
  'etok t',
  'ORT-GQA t',
  '÷etok',
  'ORT-plain t',
  '÷etok',
  'etok J',
  'ORT-GQA J',
  '÷etok',
  'ORT-plain J',
  '÷etok',
];
const table = rows
  .filter((r) => r.etok)
  .map((r) => [
    r.id,
    fmt(r.etok.time.medianS, 's'),
    fmt(r.fused?.time.medianS, 's'),
    ratio(r.fused?.time.medianS, r.etok.time.medianS),
    fmt(r.plain?.time.medianS, 's'),
    ratio(r.plain?.time.medianS, r.etok.time.medianS),
    fmt(r.etok.energy.joulesPerCall, 'J'),
    fmt(r.fused?.energy.joulesPerCall, 'J'),
    ratio(r.fused?.energy.joulesPerCall, r.etok.energy.joulesPerCall),
    fmt(r.plain?.energy.joulesPerCall, 'J'),
    ratio(r.plain?.energy.joulesPerCall, r.etok.energy.joulesPerCall),
  ]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
const energyKind = meterInfo?.measured
  ? `MEASURED by ${meterInfo.id}`
  : `MODELED (${meterInfo?.id}), not measured`;
console.log(`energy: ${energyKind}; per call; ratios are ORT ÷ etok (>1: ORT costs more)`);
console.log(
  'ORT-GQA: the fused op; for kv-int8 / kv-int4 with its own int8 / int4 cache and per-channel scales (etok: per token / per 32 values)',
);
console.log(line(header));
for (const r of table) console.log(line(r));

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: root,
  }).toString();
  if (dirty.trim()) commit += '-dirty';
} catch {}
const date = new Date().toISOString();
const out = join(root, 'bench', 'results', `onnx-peer-${date.slice(0, 19).replace(/:/g, '')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      bench: 'onnx-peer',
      date,
      commit,
      device: { ...listDevices().find((d) => d.id === 'cpu'), logicalCores: cpus().length },
      meter: meterInfo,
      timing,
      rows: rows.map((r) => ({
        id: r.id,
        variant: r.variant,
        phase: r.phase,
        batch: r.batch,
        ctx: r.ctx,
        etok: r.etok && {
          medianS: r.etok.time.medianS,
          joulesPerCall: r.etok.energy.joulesPerCall,
          valid: r.etok.valid,
        },
        ortGqa: r.fused && {
          medianS: r.fused.time.medianS,
          joulesPerCall: r.fused.energy.joulesPerCall,
          form: r.fused.provenance?.kernelPath,
        },
        ortPlain: r.plain && {
          medianS: r.plain.time.medianS,
          joulesPerCall: r.plain.energy.joulesPerCall,
          form: r.plain.provenance?.kernelPath,
        },
      })),
    },
    null,
    2,
  )}\n`,
);
console.error(`results: ${out}`);
