// `etok measure --regions`: runs the command with a marker pipe on fd 3 (ETOK_MARKER_FD=3), reads the meter as
// each marker line arrives, and writes an etok.results/v1 file of the regions after every completed one.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createResults, EtokError, type MeterDescription, type Results } from '@etok/core';
import type { NativeMeterHandle } from '@etok/native';
import type { CommandIo } from '../io.js';
import { writeJsonAtomic } from '../output/results-writer.js';
import { hostInfo, toolCommit, toolVersion } from '../provenance.js';
import { parseMarker, RegionTracker } from './protocol.js';
import { neededWindowS, regionMeasurements, suggestedCalls } from './results.js';

export const MARKER_FD = 3;
/** Lines about too-short region windows before the rest are only counted. */
const SHORT_WINDOW_LINES = 3;
/** Seconds between rewrites of the results file while regions arrive. */
const REWRITE_S = 2;

export interface RegionRun {
  exitCode: number | null;
  signal: string | null;
  spawnError?: string;
  /** The first protocol error (a one-line message), if any. */
  protocolError?: string;
  /** etok was interrupted (Ctrl-C, SIGTERM) and passed it on to the command. */
  interrupted: boolean;
  document: Results;
}

export async function runWithRegions(
  command: string[],
  meter: NativeMeterHandle,
  options: { outPath: string; json: boolean; idleW: number; meterChoice: string },
  io: CommandIo,
): Promise<RegionRun> {
  const regionMeter: MeterDescription = meter.describe();
  const doc = createResults({
    toolVersion: toolVersion(),
    commit: toolCommit(),
    commandLine: ['etok', 'measure', '--regions', '--', ...command],
    device: {
      id: 'cpu',
      name: meter.status().name || 'the measured process',
      measuredProcess: command.join(' '),
    },
    meter: { ...regionMeter, idleW: options.idleW, choice: options.meterChoice },
    accounting: { boundary: 'chip', pue: 1, overhead: 0 },
    host: hostInfo(),
  });
  writeJsonAtomic(options.outPath, doc);

  const tracker = new RegionTracker();
  const neededS = neededWindowS(regionMeter);
  let shortWindows = 0;
  let lastWriteMs = 0;
  let protocolError: string | undefined;
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['inherit', options.json ? 'pipe' : 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, ETOK_MARKER_FD: String(MARKER_FD) },
  });
  if (options.json) child.stdout?.pipe(io.stderr, { end: false });
  let interrupted = false;
  const removeHandler = io.onInterrupt(() => {
    interrupted = true;
    child.kill('SIGINT');
  });

  const markers = child.stdio[MARKER_FD];
  const lines = markers ? createInterface({ input: markers as NodeJS.ReadableStream }) : undefined;
  lines?.on('line', (line) => {
    if (protocolError !== undefined || line.trim() === '') return;
    const reading = meter.read(); // timestamp and energy at arrival, before anything else
    try {
      const window = tracker.accept(parseMarker(line), reading, line);
      if (!window) return;
      const seconds = (window.t1Ns - window.t0Ns) * 1e-9;
      if (seconds < 0.9 * neededS) {
        // The first few are said in full; the rest are counted and summed up at the end.
        if (shortWindows++ < SHORT_WINDOW_LINES)
          io.stderr.write(
            `etok: region '${window.name}' lasted ${(seconds * 1e3).toFixed(1)} ms, too short for ${regionMeter.id} (needs ≥ ${(neededS * 1e3).toFixed(0)} ms); run about ${suggestedCalls(window, regionMeter)} calls in it\n`,
          );
      }
      // The file is rewritten at most every REWRITE_S seconds (and at the end): many small regions would otherwise
      // rewrite it once each, with work growing as their square.
      const now = Date.now();
      if (now - lastWriteMs >= REWRITE_S * 1000) {
        lastWriteMs = now;
        doc.measurements = regionMeasurements(tracker.windows, regionMeter, options.idleW);
        writeJsonAtomic(options.outPath, doc);
      }
    } catch (error) {
      protocolError = (error as Error).message;
    }
  });

  const exit = await new Promise<{ code: number | null; signal: string | null; spawnError?: string }>(
    (resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, spawnError: error.message }));
      child.on('close', (code, signal) => resolve({ code, signal }));
    },
  );
  removeHandler();
  if (shortWindows > SHORT_WINDOW_LINES)
    io.stderr.write(
      `etok: ${shortWindows - SHORT_WINDOW_LINES} more region window(s) were too short for ${regionMeter.id} (needs ≥ ${(neededS * 1e3).toFixed(0)} ms each)\n`,
    );
  const open = tracker.openRegions();
  // A region still open is expected when etok itself stopped the command; otherwise the command broke the protocol.
  if (protocolError === undefined && open.length > 0 && !interrupted)
    protocolError = `region(s) ${open.map((n) => `'${n}'`).join(', ')} still open when the command exited`;
  doc.measurements = regionMeasurements(tracker.windows, regionMeter, options.idleW);
  doc.complete = protocolError === undefined && exit.code === 0;
  writeJsonAtomic(options.outPath, doc);
  if (exit.spawnError) throw new EtokError('BAD_USAGE', `cannot run '${command[0]}': ${exit.spawnError}`);
  return {
    exitCode: exit.code,
    signal: exit.signal,
    ...(protocolError ? { protocolError } : {}),
    interrupted,
    document: doc,
  };
}
