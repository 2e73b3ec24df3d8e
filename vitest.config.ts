import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Leak tests need a callable gc(); forks keep heap measurements per test file.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    coverage: {
      provider: 'v8',
      include: ['src/main/**/*.ts', 'src/shared/**/*.ts', 'src/server/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'src/main/cache/**': { lines: 90, branches: 85 },
      },
    },
  },
})
