// Building an `etok.results/v1` document (docs/spec.md §5). Files are the CLI's job; this only shapes the object.

import type { AccountingBoundary, Measurement, MeterInfo, Results } from './schemas.js';
import { RESULTS_SCHEMA_ID } from './schemas.js';

export interface ResultsHeader {
  toolVersion: string;
  commit: string;
  commandLine: string[];
  device: { id: string; name: string } & Record<string, unknown>;
  meter: MeterInfo;
  accounting: { boundary: AccountingBoundary; pue: number; overhead: number };
  host: Record<string, unknown>;
}

export function createResults(header: ResultsHeader, createdAt = new Date()): Results {
  return {
    schema: RESULTS_SCHEMA_ID,
    createdAt: createdAt.toISOString(),
    complete: false,
    tool: { name: 'etok', version: header.toolVersion, commit: header.commit },
    command: header.commandLine,
    host: header.host,
    device: header.device,
    meter: header.meter,
    accounting: header.accounting,
    measurements: [] as Measurement[],
    failures: [] as { id: string; code: string; message: string }[],
  };
}
