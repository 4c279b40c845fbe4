import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: files run one after another so that timing-sensitive protocol tests
    // (timeouts, pipelining write counts) never compete with each other for the CPU.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
