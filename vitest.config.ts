// One test runner for the whole repo: each package is a vitest project, and so is the end-to-end suite in test/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'test'],
  },
});
