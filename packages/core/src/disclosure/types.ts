// The disclosure report as data: what each renderer (markdown, latex, html, json) receives. Building it is
// run.ts (one run of results files), dimensions.ts (the six dimensions) and rows.ts (one row a measurement).

import type { GateVerdict } from '../gates.js';
import type { PhiReport } from '../phi.js';
import type { TpfResult } from '../production-function.js';
import type { AccountingBoundary, QualitySample, Results } from '../schemas.js';

export const REPORT_SCHEMA_ID = 'etok.report/v1';

export const TIMELINE_MAX_GAP_S = 2;
export const TIMELINE_CUT_GAP_S = 0.5;

/** A piece of prose: plain text, or text with a role the renderer maps to its markup. All of it is escaped. */
export type Segment = string | { strong: string } | { code: string } | { em: string };
export type Rich = Segment[];

/** Where a figure came from. `modeled` energy is never passed off as `measured`. */
export type FigureStatus = 'measured' | 'modeled' | 'declared' | 'derived' | 'missing';

export interface ReportOptions {
  /** Facility power in W (before PUE), declared. */
  facilityPowerW?: number;
  /** PUE, declared; overrides the results file's `accounting.pue`. */
  pue?: number;
  /** Accounting boundary, declared; overrides the results file's `accounting.boundary`. */
  boundary?: AccountingBoundary;
  /** Utilization U in (0, 1], declared. */
  utilization?: number;
  /** θ, the conversion constant between e_tok's and P_facility's boundaries (default 1). */
  theta?: number;
  /** q* and s* as `etok bench` and `etok phi` take them. */
  quality?: string;
  sloMs?: string;
  /** The lever set the headline figures are about (default: the lowest passing J/token at the first point). */
  variant?: string;
  /** Φ baseline (default dense). */
  baseline?: string;
}

export interface EnergySource {
  meterId: string;
  meterKind: string;
  method: string;
  measured: boolean;
  /** `measured` or `MODELED`, as printed beside every joule figure. */
  label: 'measured' | 'MODELED';
  /** What the meter covers (board, package, a model's stated scope). */
  meterBoundary: string;
  /** The energy-accounting boundary (chip, server, rack, facility). */
  accountingBoundary: string;
}

export interface MeasurementRow {
  id: string;
  variant: string;
  /** etok's own kernels ('etok'), a peer family ('torch', 'onnx'), or null for a user's kernel. */
  family: string | null;
  /** The results file the row comes from (a report of several files names it beside each row). */
  source?: string;
  phase: string;
  dtype: string;
  shape: Record<string, number>;
  tokensPerCall: number;
  valid: boolean;
  /** Why the measurement is invalid (the harness's validity reasons); empty when valid. */
  invalidReasons: string[];
  /** Precision warnings: the interval stayed wider than the target (the row is used, with that interval). */
  warnings: string[];
  throttled: boolean;
  gate: GateVerdict;
  joulesPerToken: number;
  ciLowJoulesPerToken: number | null;
  ciHighJoulesPerToken: number | null;
  joulesPerCall: number;
  avgPowerW: number;
  medianS: number;
  ciLowS: number;
  ciHighS: number;
  tokensPerSecond: number;
  flopsPerToken: number;
  achievedFlopsPerS: number;
  achievedBytesPerS: number;
  arithmeticIntensity: number;
  relErrorVsDense: number | null;
  /** Against the variant's own fp64 reference (for a peer: how exactly it computes the lever set). */
  relErrorVsExact: number | null;
  /** Set when relErrorVsDense is of a part of the output (the references' budget). */
  qualitySample?: QualitySample;
  windows: number;
  trials: number | null;
  stopReason: string | null;
}

export interface Dimension {
  key: 'joules-per-token' | 'binding-constraint' | 'facility-power' | 'k-eff' | 'token-output' | 'boundary';
  title: string;
  status: FigureStatus;
  lines: Rich[];
  /** The figures behind the lines, for scripts (units in the names). */
  values: Record<string, number | string | boolean | null>;
}

export interface TimelineWindow {
  measurementId: string;
  variant: string;
  valid: boolean;
  /** Seconds since the run's first window began. */
  t0S: number;
  t1S: number;
  watts: number;
  joules: number;
  calls: number;
}

export interface PhiSummary {
  point: string;
  report: PhiReport | null;
  error: string | null;
}

export interface RunDisclosure {
  index: number;
  sources: string[];
  createdAt: string;
  complete: boolean;
  tool: { version: string; commit: string | null };
  device: { id: string; name: string; details: [string, string][] };
  host: [string, string][];
  energy: EnergySource;
  meterNote: string | null;
  updatePeriodMs: number;
  idleW: number;
  pue: { value: number; source: 'flag' | 'results file' };
  overhead: number;
  boundary: { value: string; source: 'flag' | 'results file' };
  theta: { value: number; source: 'flag' | 'default' };
  gates: { quality: string; qualitySource: string; service: string; serviceSource: string };
  command: string | null;
  headline: { id: string; variant: string; reason: string } | null;
  headlineMissing: string | null;
  dimensions: Dimension[];
  tpf: TpfResult | null;
  measurements: MeasurementRow[];
  /** Each of etok's configurations beside the best implementation of its lever set in each peer family measured. */
  peers: PeerRow[];
  failures: { id: string; code: string; message: string }[];
  phi: PhiSummary[];
  /** Windows in seconds since the first; `cutGaps` idle gaps longer than 2 s were cut to 0.5 s (no samples only). */
  timeline: { windows: TimelineWindow[]; samples: { tS: number; watts: number }[] | null; cutGaps: number };
  /** FLOP/s and bytes/s ceilings when the results carry them. */
  ceilings: { flopsPerSecond: number | null; bytesPerSecond: number | null; source: string | null };
  totals: { windows: number; trialsMin: number | null; trialsMax: number | null };
  notes: string[];
}

export interface PeerRow {
  id: string;
  family: string;
  implementation: string;
  etok: MeasurementRow;
  peer: MeasurementRow;
  /** peer ÷ etok; > 1: the peer spends more. */
  joulesPerTokenRatio: number;
  timeRatio: number;
}

export interface DisclosureReport {
  schema: typeof REPORT_SCHEMA_ID;
  inputs: {
    files: string[];
    facilityPowerW: number | null;
    pue: number | null;
    boundary: string | null;
    utilization: number | null;
    theta: number | null;
    quality: string | null;
    sloMs: string | null;
  };
  runs: RunDisclosure[];
}

export interface ResultsSource {
  results: Results;
  source: string;
}
