// The options of `etok bench`, declared once: the help text, the parser and `etok fleet` (which passes them on to
// every task) all read this list.
import { DTYPES, SUITES } from '@etok/core';
import { ONNX_BENCH_OPTIONS } from '../onnx/options.js';
import { BOUNDARY_OPTION, PUE_OPTION, QUALITY_OPTION, SLO_OPTION, withText } from '../option-fragments.js';
import type { CommandSpec } from '../options.js';

export const spec: CommandSpec = {
  name: 'bench',
  summary: 'measure time and energy per kernel call and per token',
  usage:
    'etok bench [--suite quick|standard|full] [--device cpu|cuda:N] [--meter auto|model|rapl|nvml:N] [--python FILE] [--peer torch,onnx] [axes…] [--out FILE] [--json]',
  options: [
    { name: 'suite', type: 'string', value: 'NAME', description: `a preset sweep: ${SUITES.join(', ')}` },
    {
      name: 'device',
      type: 'string',
      value: 'ID',
      default: 'cpu',
      description: 'compute device: cpu or cuda:N',
    },
    {
      name: 'meter',
      type: 'string',
      value: 'ID',
      default: 'auto',
      description: 'energy meter: auto, nvml:N, rapl or model (modeled)',
    },
    {
      name: 'variants',
      type: 'string',
      value: 'LIST',
      default: 'dense',
      description: 'lever sets, e.g. dense,mla+kv-int8',
    },
    {
      name: 'levers',
      type: 'string',
      value: 'LIST',
      description: 'measure all 2^n subsets of these levers (for attribution)',
    },
    {
      name: 'plugin',
      type: 'string',
      value: 'FILE',
      multiple: true,
      description:
        "a user's kernel (shared library, include/etok/plugin.h); its name becomes a variant (repeatable)",
    },
    { name: 'phase', type: 'string', value: 'LIST', default: 'decode', description: 'decode and/or prefill' },
    {
      name: 'dtype',
      type: 'string',
      value: 'LIST',
      default: 'f32',
      description: `storage dtype: ${DTYPES.join(', ')}`,
    },
    { name: 'batch', type: 'string', value: 'LIST', default: '1', description: 'sequences per call' },
    {
      name: 'ctx',
      type: 'string',
      value: 'LIST',
      default: '4096',
      description: 'context (KV) length; k = ×1024',
    },
    {
      name: 'q-len',
      type: 'string',
      value: 'LIST',
      description: 'prefill query length (default: the whole context)',
    },
    { name: 'heads', type: 'string', value: 'LIST', default: '32', description: 'query heads' },
    { name: 'kv-heads', type: 'string', value: 'LIST', default: '8', description: 'KV heads (GQA groups)' },
    { name: 'head-dim', type: 'string', value: 'LIST', default: '128', description: 'head dimension' },
    { name: 'rank', type: 'string', value: 'N', default: '512', description: 'MLA latent rank' },
    { name: 'rope-dim', type: 'string', value: 'N', default: '64', description: 'MLA rope dimension' },
    {
      name: 'block-size',
      type: 'string',
      value: 'N',
      default: '64',
      description: 'sparse: tokens per block',
    },
    {
      name: 'top-k',
      type: 'string',
      value: 'N',
      default: '16',
      description: 'sparse: blocks chosen by score',
    },
    {
      name: 'window',
      type: 'string',
      value: 'N',
      default: '512',
      description: 'sparse: local window in tokens',
    },
    {
      name: 'profile',
      type: 'string',
      value: 'NAME',
      default: 'peaked',
      description:
        'synthetic inputs: peaked (planted key blocks aligned with each group of queries, as in trained models) or uniform',
    },
    { name: 'seed', type: 'string', value: 'N', default: '1', description: 'input seed' },
    { name: 'no-quality', type: 'boolean', description: 'skip the fp64 reference comparison' },
    {
      name: 'no-interleave',
      type: 'boolean',
      description:
        'measure each lever set alone instead of interleaving the energy windows of a shape (ABAB…)',
    },
    {
      name: 'stop-on-crash',
      type: 'boolean',
      description:
        'stop the sweep when a kernel crashes its measurement process (default: record it and go on)',
    },
    {
      name: 'in-process',
      type: 'boolean',
      description: 'measure inside the etok process (no crash isolation; for debugging)',
    },
    withText(QUALITY_OPTION, {
      description: 'quality target recorded with the results, e.g. rel-error<=0.02',
    }),
    withText(SLO_OPTION, { description: 'service target per call recorded with the results' }),
    {
      name: 'ci-target',
      type: 'string',
      value: 'FRACTION',
      default: 'by meter: nvml 0.01, rapl 0.02, model 0.05',
      description:
        'stop energy trials when the J/call CI half-width is below this; a wider one is a precision warning, not invalid',
    },
    {
      name: 'time-budget',
      type: 'string',
      value: 'SECONDS',
      description: 'energy-trial time budget per configuration',
    },
    {
      name: 'model-idle-w',
      type: 'string',
      value: 'W',
      description: 'model meter: idle power (with --model-busy-w)',
    },
    {
      name: 'model-busy-w',
      type: 'string',
      value: 'W',
      description: 'model meter: power added at full utilization',
    },
    withText(PUE_OPTION, { default: '1', description: 'facility PUE (≥ 1) recorded for accounting' }),
    withText(BOUNDARY_OPTION, { default: 'chip' }),
    {
      name: 'out',
      type: 'string',
      value: 'FILE',
      description: 'results file (default: etok-results-<time>.json)',
    },
    {
      name: 'python',
      type: 'string',
      value: 'FILE',
      multiple: true,
      description:
        'a Python file registering callables with etok.register(name, setup); each name becomes a variant (repeatable)',
    },
    {
      name: 'call-timeout',
      type: 'string',
      value: 'SECONDS',
      description:
        'stop a kernel call (plugin, Python, ONNX Runtime) that runs longer than this (default 60)',
    },
    ...ONNX_BENCH_OPTIONS,
  ],
  details: [
    'Lists are comma-separated and sweep as axes: --batch 1,8 --ctx 1k,8k measures four shapes.',
    'Energy is measured (nvml, rapl) or MODELED (model); every figure says which, and its boundary.',
    'Example: etok bench --suite quick --out r.json',
  ].join('\n'),
};
