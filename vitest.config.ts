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
      include: [
        'src/core/**/*.ts',
        'src/main/**/*.ts',
        'src/preload/**/*.ts',
        'src/shared/**/*.ts',
        'src/server/**/*.ts',
      ],
      // The Electron entry runs in the electron-sim UI tests (a process of its own), the worker
      // entry in a worker thread and the host's entry in its own process (benchmarks and UI
      // tests): v8 coverage of this process does not see them; their logic is tested here.
      exclude: ['src/main/index.ts', 'src/core/generation/builtin/worker.ts', 'src/server/main.ts', 'src/**/*.d.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'src/core/cache/**': { lines: 90, branches: 85 },
        'src/core/**': { lines: 90 },
        'src/main/**': { lines: 90 },
        'src/preload/**': { lines: 90 },
        'src/shared/**': { lines: 90 },
        'src/server/**': { lines: 90 },
      },
    },
  },
})
