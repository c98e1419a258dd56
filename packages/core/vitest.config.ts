import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['etok-source'] },
  test: { name: 'core' },
});
