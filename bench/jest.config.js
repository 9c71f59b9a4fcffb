/**
 * Benchmarks: `npm run bench` (all) or `npx jest -c bench/jest.config.js --runInBand bench/<x>.bench.ts`.
 * Same swc transform as the tests; no test services (they use the local Postgres server).
 * globalSetup/globalTeardown: every figure recorded by bench/support/goals.ts is printed again
 * in one table of goals, met or not met, at the end of the run.
 */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['**/*.bench.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  globalSetup: '<rootDir>/support/goalsSetup.ts',
  globalTeardown: '<rootDir>/support/goalsTeardown.ts',
  testTimeout: 900000,
};
