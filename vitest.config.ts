import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: files run one after another so that timing-sensitive protocol tests
    // (timeouts, pipelining write counts) never compete with each other for the CPU.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Measured by `npm test` (vitest run --coverage); a single-file run measures nothing unless asked.
    coverage: {
      provider: 'v8',
      include: ['lib/**', 'functions/**', 'infra/**'],
      reporter: ['text-summary', 'json-summary'],
      // The whole suite's figures when they were set (npm test, as root, Postfix and Chromium present):
      // they may only go up. When coverage rises, raise them to the new figures in the same commit.
      thresholds: { statements: 0, branches: 0, functions: 0, lines: 0 },
    },
  },
});
