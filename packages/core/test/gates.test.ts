import { describe, expect, it } from 'vitest';
import {
  checkGates,
  DEFAULT_QUALITY_TARGETS,
  defaultQualityTarget,
  parseQualityTarget,
  parseServiceTarget,
  resolveGates,
} from '../src/gates.js';
import { relErrorText } from '../src/quality.js';
import { measurement } from './fixtures.js';

describe('quality target q*', () => {
  it('parses rel-error<=X, default and none', () => {
    expect(parseQualityTarget('rel-error<=0.02')).toEqual({ kind: 'rel-error', maxRelError: 0.02 });
    expect(parseQualityTarget(' rel-error <= 2e-2 ')).toEqual({ kind: 'rel-error', maxRelError: 0.02 });
    expect(parseQualityTarget('default')).toEqual({ kind: 'defaults' });
    expect(parseQualityTarget('none')).toEqual({ kind: 'none' });
  });

  it.each(['rel-error<0.02', 'rel-error<=x', 'rel-error<=-1', 'psnr>=30', ''])(
    'rejects %j in one line',
    (text) => {
      expect(() => parseQualityTarget(text)).toThrow(/--quality .* is not valid; expected rel-error<=X/);
    },
  );

  it('states one default per KV format', () => {
    expect(DEFAULT_QUALITY_TARGETS.map((d) => [d.kv, d.maxRelError])).toEqual([
      ['none', 1e-2],
      ['kv-int8', 2e-2],
      ['kv-fp8', 5e-2],
      ['kv-int4', 1e-1],
    ]);
    expect(defaultQualityTarget('mla+sparse+kv-int4').maxRelError).toBe(0.1);
    expect(defaultQualityTarget('sparse').maxRelError).toBe(0.01);
  });

  it('judges every variant against dense with its KV format default', () => {
    const gates = { quality: { kind: 'defaults' as const }, service: {} };
    expect(checkGates(measurement({ variant: 'kv-int8', relErrorVsDense: 0.019 }), gates).pass).toBe(true);
    const miss = checkGates(measurement({ variant: 'kv-int8', relErrorVsDense: 0.031 }), gates);
    expect(miss.pass).toBe(false);
    expect(miss.reasons).toEqual(['quality: rel. error vs dense 3.1e-2 > 2.0e-2 (default for kv-int8)']);
    const sparse = checkGates(measurement({ variant: 'sparse', relErrorVsDense: 0.2 }), gates);
    expect(sparse.reasons[0]).toMatch(/default for unquantized KV/);
    const unmeasured = checkGates(measurement({ variant: 'dense', relErrorVsDense: null }), gates);
    expect(unmeasured.reasons[0]).toMatch(/not measured/);
    // The harness's own reason, when it gave one, not a guess about --no-quality.
    const why = measurement({ variant: 'dense', relErrorVsDense: null });
    why.quality.note = 'plugin makes its own inputs and names no reference variant: no quality check';
    expect(checkGates(why, gates).reasons).toEqual([`quality: not measured (${why.quality.note})`]);
  });

  it('prints an error of a part of the output as such', () => {
    const sample = {
      batchIndex: 7,
      unit: 'kv group',
      units: 8,
      firstUnit: 7,
      unitCount: 1,
      rows: 1,
      firstRow: 0,
      rowCount: 1,
      outputShare: 1 / 64,
    };
    expect(relErrorText(3.14e-3, sample, '—')).toBe('3.1e-3 (part: 1/64)');
    expect(relErrorText(3.14e-3, { ...sample, outputShare: 0.3 }, '—')).toBe('3.1e-3 (part: 30%)');
    expect(relErrorText(3.14e-3, undefined, '—')).toBe('3.1e-3');
    expect(relErrorText(null, sample, 'not measured')).toBe('not measured');
  });

  it('applies a user limit to every variant, or no quality gate at all', () => {
    const m = measurement({ variant: 'kv-int4', relErrorVsDense: 0.05 });
    expect(checkGates(m, { quality: { kind: 'rel-error', maxRelError: 0.04 }, service: {} }).pass).toBe(
      false,
    );
    expect(checkGates(m, { quality: { kind: 'none' }, service: {} })).toMatchObject({
      pass: true,
      maxRelError: null,
    });
  });
});

describe('service target s*', () => {
  it('parses one limit for both phases or one per phase', () => {
    expect(parseServiceTarget('5')).toEqual({ decodeMs: 5, prefillMs: 5 });
    expect(parseServiceTarget('decode=5,prefill=200')).toEqual({ decodeMs: 5, prefillMs: 200 });
    expect(parseServiceTarget('prefill=200')).toEqual({ prefillMs: 200 });
  });

  it.each(['0', '-1', 'fast', 'decode=', 'train=3', 'decode=1=2'])('rejects %j', (text) => {
    expect(() => parseServiceTarget(text)).toThrow(/--slo-ms .* is not valid/);
  });

  it('checks the median time per call of the measurement’s phase', () => {
    const gates = { quality: { kind: 'none' as const }, service: { decodeMs: 2 } };
    expect(checkGates(measurement({ variant: 'dense', medianS: 0.0019 }), gates).pass).toBe(true);
    const slow = checkGates(measurement({ variant: 'dense', medianS: 0.0025 }), gates);
    expect(slow.reasons).toEqual(['service: median 2.50 ms per decode call > s* 2 ms']);
    expect(checkGates(measurement({ variant: 'dense', phase: 'prefill', medianS: 1 }), gates).pass).toBe(
      true,
    );
  });

  it('takes gates from flags, else from what bench recorded in the results file', () => {
    const doc = { plan: { quality: 'rel-error<=0.05', sloMs: '3' } };
    expect(resolveGates({}, doc)).toMatchObject({
      quality: { kind: 'rel-error', maxRelError: 0.05 },
      service: { decodeMs: 3, prefillMs: 3 },
      qualitySource: 'results file',
    });
    expect(resolveGates({ quality: 'none' }, doc).quality).toEqual({ kind: 'none' });
    expect(resolveGates({}, {})).toMatchObject({
      quality: { kind: 'defaults' },
      service: {},
      serviceSource: 'none',
    });
  });
});
