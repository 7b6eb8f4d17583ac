import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{crds,proxy,operator,e2e}/{src,test}/**/*.test.ts', 'e2e/testkit/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
