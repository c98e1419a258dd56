// The results file `etok.results/v1` (docs/spec.md §5). Required fields are required here; everything else etok writes
// is optional so that a file holding only the SPEC's fields is valid input to every command.

import { z } from 'zod';

export const RESULTS_SCHEMA_ID = 'etok.results/v1';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const nonNegative = finite.refine((x) => x >= 0, 'must be ≥ 0');

export const MeterKindSchema = z.enum(['nvml', 'rapl', 'model']);
export const MeterMethodSchema = z.enum(['energy-counter', 'power-sampling', 'model']);
export const AccountingBoundarySchema = z.enum(['chip', 'server', 'rack', 'facility']);

export const MeterInfoSchema = z.looseObject({
  id: z.string(),
  kind: MeterKindSchema,
  measured: z.boolean(),
  method: MeterMethodSchema,
  /** What the meter physically covers: `board`, `package`, or the model's stated scope. */
  boundary: z.string(),
  updatePeriodMs: nonNegative,
  idleW: nonNegative,
  /** How the number is obtained, in words (the model's coefficients, the NVML method). */
  note: z.string().optional(),
  /** Why this meter (auto's reason, or "requested: nvml:0"). */
  choice: z.string().optional(),
  /** The exact call or file read. */
  source: z.string().optional(),
  /** > 0 when the source is a trailing average (windows must be much longer). */
  averagingWindowMs: nonNegative.optional(),
});

export const EnergyWindowSchema = z.looseObject({
  t0Ns: finite,
  t1Ns: finite,
  joules: finite,
  /** Calls inside the window: whole for in-process executors, counted from the rate for child executors. */
  calls: nonNegative,
  /** Instant power integrated over the same window beside an energy counter (the cross-check). */
  sampledJoules: finite.optional(),
  throttled: z.boolean().optional(),
  clockEvents: z.array(z.string()).optional(),
  /** The engine saw a meter anomaly inside the window. */
  anomaly: z.string().optional(),
  temperatureC: finite.optional(),
  smClockMHz: z.tuple([finite, finite]).optional(),
});

export const TimeStatsSchema = z.looseObject({
  medianS: nonNegative,
  meanS: nonNegative,
  ciLowS: nonNegative,
  ciHighS: nonNegative,
  samples: z.number().int().nonnegative(),
  /** Samples beyond 3 IQR: counted, never dropped. */
  outliers: z.number().int().nonnegative().optional(),
  /** Calls right after the caches were evicted. */
  coldMedianS: nonNegative.optional(),
  coldSamples: z.number().int().nonnegative().optional(),
  /** Time per call back to back inside the energy windows (what J/call is over). */
  hotMeanS: nonNegative.optional(),
  /** Why timing stopped: noise-target, plateau or time-limit. */
  stopReason: z.string().optional(),
});

export const EnergyStatsSchema = z.looseObject({
  joulesPerCall: finite,
  joulesPerToken: finite,
  avgPowerW: finite,
  dynamicJoulesPerCall: finite,
  windows: z.array(EnergyWindowSchema),
  /** 95% bootstrap interval of J/call over windows (etok extension). */
  ciLowJoulesPerCall: finite.optional(),
  ciHighJoulesPerCall: finite.optional(),
  ciLowJoulesPerToken: finite.optional(),
  ciHighJoulesPerToken: finite.optional(),
  idleJoulesPerCall: finite.optional(),
  /** The counter against integrated instant power over the same windows. */
  crossCheck: z
    .looseObject({
      source: z.string(),
      windows: z.number().int().nonnegative(),
      counterJoules: finite,
      sampledJoules: finite,
      relativeGap: finite,
    })
    .optional(),
});

/** The part of the output the fp64 references checked, when the whole was above their budget (the errors are
 *  then of that part): one batch element, a run of units (kv groups, or mla heads), the last rows. */
export const QualitySampleSchema = z.object({
  batchIndex: z.number().int().nonnegative(),
  unit: z.string(),
  units: z.number().int().positive(),
  firstUnit: z.number().int().nonnegative(),
  unitCount: z.number().int().positive(),
  rows: z.number().int().positive(),
  firstRow: z.number().int().nonnegative(),
  rowCount: z.number().int().positive(),
  outputShare: z.number().positive().max(1),
});

export const QualitySchema = z.looseObject({
  relErrorVsDense: nonNegative.nullable(),
  relErrorVsExact: nonNegative.nullable(),
  /** Why an error is null, or which part of the output it is of. */
  note: z.string().optional(),
  sample: QualitySampleSchema.optional(),
});

export const EXECUTOR_KINDS = ['etok', 'plugin', 'onnx', 'regions', 'python'] as const;
export const ExecutorKindSchema = z.enum(EXECUTOR_KINDS);

/** Who computed a peer row: the family (torch, onnx), the implementation in it, its version, the lever set. */
export const PeerSchema = z.looseObject({
  family: z.string(),
  name: z.string(),
  version: z.string(),
  leverSet: z.string(),
});

export const ProvenanceSchema = z.looseObject({
  /** Why the energy windows stopped: ci-target, max-trials, time-budget, precision-limit, cancelled, meter-fault. */
  stopReason: z.string(),
  /** The window rule for these windows (seconds). */
  windowTargetS: nonNegative,
  trials: z.number().int().nonnegative(),
  idleW: nonNegative,
  meterUpdatePeriodMs: nonNegative,
  /** What ran, in the executor's own words (kernel path, grid, splits, knobs). */
  kernelPath: z.string().optional(),
  implementation: z
    .looseObject({
      name: z.string().optional(),
      framework: z.string().optional(),
      version: z.string().optional(),
    })
    .optional(),
});

/** A configuration that ended without a measurement. */
export const FailureSchema = z.looseObject({
  id: z.string(),
  code: z.string(),
  message: z.string(),
  /** What else is known (a Python traceback). */
  detail: z.string().optional(),
});

export const MeasurementSchema = z
  .looseObject({
    id: z.string(),
    variant: z.string(),
    phase: z.enum(['decode', 'prefill']),
    dtype: z.string(),
    shape: z.record(z.string(), finite),
    params: z.record(z.string(), z.union([finite, z.null()])),
    tokens: nonNegative,
    flops: nonNegative,
    bytes: nonNegative,
    time: TimeStatsSchema,
    energy: EnergyStatsSchema,
    quality: QualitySchema,
    throttled: z.boolean(),
    /** What ran the calls (docs/spec.md §7); absent in older files, meaning etok's own kernels. */
    executor: ExecutorKindSchema.optional(),
    /** Set on rows of peer implementations (a PyTorch or ONNX Runtime form of a lever set). */
    peer: PeerSchema.optional(),
    /** False when the measurement is wrong (`validity` says why); never used then. */
    valid: z.boolean().optional(),
    validity: z.array(z.string()).optional(),
    /** Precision warnings (`ci-not-reached`): the row is used, with its wider interval. */
    warnings: z.array(z.string()).optional(),
    /** Why the energy phase ended early for the whole group (a meter fault). */
    incomplete: z.string().optional(),
    /** The energy windows were interleaved with the group's other members; `group` names the group. */
    interleaved: z.boolean().optional(),
    group: z.string().optional(),
    /** How the engine got the numbers: its stop reasons, the window rule, what ran. */
    provenance: ProvenanceSchema.optional(),
    /** A user's plugin (`--plugin`) or Python callable (`--python`) computed the row. */
    plugin: z.looseObject({ name: z.string(), path: z.string() }).optional(),
    python: z.looseObject({ file: z.string(), name: z.string() }).optional(),
    /** A user's ONNX model (`--onnx`): its file, runtime and inputs. */
    onnx: z
      .looseObject({ file: z.string(), ortVersion: z.string(), executionProvider: z.string() })
      .optional(),
    /** A region of a marked program (`etok measure --regions`). */
    region: z.looseObject({ name: z.string(), windows: z.number(), costUnknown: z.boolean() }).optional(),
    /** Why flops and bytes are 0 (not derived for an arbitrary model). */
    cost: z.string().optional(),
    /** In a peer family's view of a file (families.ts): who computed the row, e.g. "torch:sdpa-flash 2.11.0". */
    implementation: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    // Energy and time that no real measurement can have: a usable row must cost something and take time. An invalid
    // row (a stuck counter's 0 J) keeps its figures, and its `validity` says why no reader uses them.
    if (m.valid === false) return;
    const positive: [string[], number][] = [
      [['energy', 'joulesPerCall'], m.energy.joulesPerCall],
      [['energy', 'joulesPerToken'], m.energy.joulesPerToken],
      [['time', 'medianS'], m.time.medianS],
    ];
    for (const [path, x] of positive)
      if (!(x > 0))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `must be > 0 in a measurement that is not marked invalid (got ${x})`,
        });
  });

export const ResultsSchema = z.looseObject({
  schema: z.literal(RESULTS_SCHEMA_ID),
  createdAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date'),
  complete: z.boolean(),
  tool: z.looseObject({ name: z.literal('etok'), version: z.string(), commit: z.string().optional() }),
  device: z.looseObject({
    id: z.string().regex(/^(cpu|cuda:\d+)$/, 'must be cpu or cuda:N'),
    name: z.string(),
  }),
  meter: MeterInfoSchema,
  accounting: z.looseObject({
    boundary: AccountingBoundarySchema,
    pue: finite.refine((x) => x >= 1, 'PUE must be ≥ 1'),
    overhead: nonNegative,
  }),
  measurements: z.array(MeasurementSchema),
  /** The command line that made the file. */
  command: z.array(z.string()).optional(),
  host: z.record(z.string(), z.unknown()).optional(),
  failures: z.array(FailureSchema).optional(),
  /** Configurations not measured because their implementation declined them (not failures). */
  skipped: z.array(z.looseObject({ id: z.string(), reason: z.string() })).optional(),
  /** Lever sets with no implementation in a requested peer family, and why. */
  noPeers: z.array(z.looseObject({ of: z.string(), family: z.string(), reason: z.string() })).optional(),
  /** How bench was asked to measure: suite, inputs, timing, targets, the CPU kernels' vector path. */
  plan: z.record(z.string(), z.unknown()).optional(),
  /** Power over the energy phases, same clock as the windows. */
  timeline: z.array(z.looseObject({ tNs: finite, watts: finite })).optional(),
  /** A scheduler's own provenance (etok fleet: job ids, node names). */
  provenance: z.record(z.string(), z.unknown()).optional(),
});

export type MeterInfo = z.infer<typeof MeterInfoSchema>;
/** What a meter says of itself (the addon's description); a results file's `meter` adds the idle power and why it
    was chosen. */
export type MeterDescription = Pick<
  MeterInfo,
  'id' | 'kind' | 'measured' | 'method' | 'boundary' | 'updatePeriodMs' | 'note'
>;
export type ExecutorKind = z.infer<typeof ExecutorKindSchema>;
export type Peer = z.infer<typeof PeerSchema>;
export type Provenance = z.infer<typeof ProvenanceSchema>;
export type Failure = z.infer<typeof FailureSchema>;
export type EnergyWindow = z.infer<typeof EnergyWindowSchema>;
export type TimeStats = z.infer<typeof TimeStatsSchema>;
export type EnergyStats = z.infer<typeof EnergyStatsSchema>;
export type Measurement = z.infer<typeof MeasurementSchema>;
export type QualitySample = z.infer<typeof QualitySampleSchema>;
export type Results = z.infer<typeof ResultsSchema>;
export type AccountingBoundary = z.infer<typeof AccountingBoundarySchema>;
