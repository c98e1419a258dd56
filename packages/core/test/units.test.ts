import { describe, expect, it } from 'vitest';
import {
  computeRate,
  energyPerCompute,
  flopsPerSecond,
  flopsPerToken,
  formatQuantity,
  formatRatio,
  joulesPerToken,
  parseAmount,
  powerPerCompute,
  powerRate,
  watts,
} from '../src/units.js';

describe('units', () => {
  it('converts J/FLOP to J/PFLOP and rates to tokens/s', () => {
    expect(energyPerCompute(joulesPerToken(0.5), flopsPerToken(2e9))).toBeCloseTo(2.5e5, 6);
    expect(powerPerCompute(watts(1e6), flopsPerSecond(1e14))).toBeCloseTo(1e7, 6);
    expect(computeRate(flopsPerSecond(1e14), flopsPerToken(2e9))).toBe(5e4);
    expect(powerRate(watts(1e6), joulesPerToken(0.5))).toBe(2e6);
  });

  it('formats numbers with their unit', () => {
    expect(formatQuantity(0.00123, 'J')).toBe('1.23 mJ');
    expect(formatQuantity(3.12e14, 'FLOP/s')).toBe('312 TFLOP/s');
    expect(formatQuantity(4100, 'tokens/s')).toBe('4.10 k tokens/s');
    expect(formatQuantity(12.5, 'tokens/s')).toBe('12.5 tokens/s');
    expect(formatQuantity(1.5e6, 'W')).toBe('1.50 MW');
    expect(formatQuantity(2.5e5, 'J/PFLOP')).toBe('2.50e+5 J/PFLOP');
    expect(formatQuantity(-9.75e6, 'J/PFLOP')).toBe('-9.75e+6 J/PFLOP');
    expect(formatQuantity(0, 'W')).toBe('0 W');
    expect(formatQuantity(Number.NaN, 'W')).toBe('—');
    expect(formatRatio(1.8432)).toBe('×1.84');
  });

  it('reads numbers with SI suffixes as typed on a command line', () => {
    expect(parseAmount('20M')).toBe(2e7);
    expect(parseAmount('312T')).toBe(3.12e14);
    expect(parseAmount('1.5e-3')).toBe(1.5e-3);
    expect(parseAmount(' 2 k ')).toBe(2000);
    expect(parseAmount('-5')).toBe(-5);
    expect(parseAmount('1E6')).toBe(1e6);
    for (const bad of ['', 'abc', '5X', '1e', 'M', '1.2.3']) expect(parseAmount(bad)).toBeNull();
  });
});
