// The engine's timing defaults live in C++ (harness.h) and are written once more in TypeScript (core's
// DEFAULT_TIMING, which planning, reports and the analysis read): they must be the same numbers.
import { DEFAULT_TIMING } from '@etok/core';
import { engineTimingDefaults } from '@etok/native';
import { describe, expect, it } from 'vitest';

describe('timing defaults', () => {
  it('core and the engine agree on every setting', () => {
    expect(engineTimingDefaults()).toEqual({ ...DEFAULT_TIMING });
  });
});
