import { defineConfig } from 'vitest/config';

// Two projects: `unit` (tests beside their code: pure logic, fakes, a temp SQLite file at most; runs in
// seconds with `npm run test:unit`) and `integration` (test/: real brokers, databases, child processes,
// the compiled CLI; and the *.slow.test.ts property/fuzz suites beside the code). `npx vitest run` runs both.
const SOURCE = ['shared', 'terminal', 'central', 'issuer', 'provisioning', 'wallet', 'cli', 'sim'];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: SOURCE.map((d) => `${d}/**/*.test.ts`),
          exclude: ['**/*.slow.test.ts', 'node_modules/**', 'dist/**'],
          testTimeout: 10_000,
          pool: 'threads',
        },
      },
      {
        extends: true,
        // Also the property and fuzz halves of unit suites (*.slow.test.ts): seconds of CPU each.
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', ...SOURCE.map((d) => `${d}/**/*.slow.test.ts`)],
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: SOURCE.map((d) => `${d}/**/*.ts`),
      exclude: ['**/*.test.ts', '**/*.fixture.ts', 'scripts/**', 'bench/**', 'demo/**', 'testkit/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
