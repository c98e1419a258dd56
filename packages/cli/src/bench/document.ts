// The results document of `etok bench`: the header written before anything is measured (so a crash still leaves a
// valid file), the plan block, and the meter as the engine described it once it has opened it.
import { resolve } from 'node:path';
import {
  type BenchPlan,
  createResults,
  EtokError,
  type Failure,
  type NoPeer,
  type Results,
} from '@etok/core';
import type { NativeMeasureResult } from '@etok/native';
import { hostInfo, toolCommit, toolVersion } from '../provenance.js';

/** A configuration that ended without a measurement: its code, one line, and the detail (e.g. a traceback). */
export type FailureEntry = Failure;

/** The results document bench writes: every field is declared in core's schema; failures are always present. */
export type BenchDocument = Results & { failures: Failure[] };

export function defaultOutPath(cwd: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return resolve(cwd, `etok-results-${stamp}.json`);
}

export function meterHeader(raw: NativeMeasureResult, choice: string): Results['meter'] {
  return {
    id: raw.meter.id,
    kind: raw.meter.kind,
    measured: raw.meter.measured,
    method: raw.meter.method,
    boundary: raw.meter.boundary,
    updatePeriodMs: raw.meter.updatePeriodMs,
    idleW: raw.idleW,
    ...(raw.meter.note ? { note: raw.meter.note } : {}),
    choice,
  };
}

/** The meter as far as it is known before the engine opens it (replaced by the engine's description). */
function placeholderMeter(meter: string, choice: string): Results['meter'] {
  const kind = meter === 'model' ? 'model' : meter === 'rapl' ? 'rapl' : 'nvml';
  return {
    id: meter,
    kind,
    measured: kind !== 'model',
    method: kind === 'model' ? 'model' : 'energy-counter',
    boundary: kind === 'rapl' ? 'package' : kind === 'nvml' ? 'board' : 'modeled',
    updatePeriodMs: 0,
    idleW: 0,
    choice,
  };
}

/** Scheduler provenance (etok fleet, CI) from ETOK_PROVENANCE_JSON: job ids, node names. It must be a JSON object. */
function schedulerProvenance(): Record<string, unknown> | undefined {
  const extra = process.env.ETOK_PROVENANCE_JSON;
  if (!extra) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(extra);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new EtokError('BAD_USAGE', 'ETOK_PROVENANCE_JSON must hold a JSON object');
  return parsed as Record<string, unknown>;
}

export interface DocumentHeader {
  device: { id: string; name: string } & Record<string, unknown>;
  meter: string;
  meterChoice: string;
  boundary: Results['accounting']['boundary'];
  pue: number;
  plan: BenchPlan;
  suite: string | null;
  quality: string | null;
  sloMs: string | null;
  cpuIsa: string | null;
  noPeers: NoPeer[];
}

export function createBenchDocument(h: DocumentHeader): BenchDocument {
  const doc = createResults({
    toolVersion: toolVersion(),
    commit: toolCommit(),
    commandLine: ['etok', 'bench', ...process.argv.slice(3)],
    device: h.device,
    meter: placeholderMeter(h.meter, h.meterChoice),
    accounting: { boundary: h.boundary, pue: h.pue, overhead: 0 },
    host: hostInfo(),
  }) as BenchDocument;
  const provenance = schedulerProvenance();
  if (provenance) doc.provenance = provenance;
  doc.plan = {
    suite: h.suite,
    profile: h.plan.profile,
    seed: h.plan.seed,
    timing: h.plan.timing,
    quality: h.quality,
    sloMs: h.sloMs,
    // The vector path the CPU kernels ran (ETOK_CPU_ISA may choose it), and the opt-in AVX2 int8 path in 16-bit
    // integers, which rounds queries and softmax weights (kernels README, "Tolerances"): a result must say both.
    ...(h.cpuIsa ? { cpuIsa: h.cpuIsa } : {}),
    cpuInt8Dot: process.env.ETOK_CPU_INT8_DOT === '1',
  };
  if (h.noPeers.length > 0) doc.noPeers = h.noPeers.map((n) => ({ ...n }));
  return doc;
}
