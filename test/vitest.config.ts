import { defineProject } from 'vitest/config';

// End-to-end: the built CLI run as a user runs it, in temporary directories.
export default defineProject({
  test: { name: 'e2e', pool: 'forks', testTimeout: 120_000, hookTimeout: 60_000 },
});
