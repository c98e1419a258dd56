import { defineProject } from 'vitest/config';

// Native suites run in forked workers: a crash in the addon ends one worker, not the runner.
export default defineProject({
  resolve: { conditions: ['etok-source'] },
  test: { name: 'native', pool: 'forks', testTimeout: 60_000 },
});
