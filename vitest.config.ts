import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One real LiveKit stack serves every integration file; files run one after another because
    // each gateway reconciles the shared LiveKit to its own database (a global option: the unit
    // files, about 15 s, run one after another too).
    fileParallelism: false,
    teardownTimeout: 30_000,
    projects: [
      {
        // Pure logic (and espeak/sox audio): no stack.
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/*.test.ts'],
          globalSetup: ['test/setup/global-stack.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
