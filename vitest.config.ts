import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Leak tests need a callable gc(); forks keep heap measurements per test file.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    coverage: {
      provider: 'v8',
      include: ['src/main/**/*.ts', 'src/shared/**/*.ts', 'src/server/**/*.ts'],
      // Electron's entry cannot start here (typechecked instead); the worker entry runs in a
      // worker thread and the host's entry in its own process (bench and UI tests), which v8
      // coverage does not see; their logic is tested in-process.
      exclude: ['src/main/index.ts', 'src/main/generation/builtin/worker.ts', 'src/server/main.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'src/main/cache/**': { lines: 90, branches: 85 },
        'src/main/**': { lines: 90 },
        'src/shared/**': { lines: 90 },
        'src/server/**': { lines: 90 },
      },
    },
  },
})
