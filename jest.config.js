/**
 * The test pyramid, one jest project per layer (`npm run test:unit`, `test:workflow`,
 * `test:integration`; `npm test` runs them all, through test/run-tests.ts):
 * - unit: pure code and replays of recorded histories; no server at all.
 * - workflow: the real workflow code on Temporal's time-skipping test server with stub
 *   activities; no MySQL, Kafka or Temporal dev server.
 * - real-data: the real UCI data read whole (test/real-data); no server, but a
 *   minute of CPU, too slow for the unit layer.
 * - integration: the real Temporal, Kafka and MySQL (and a browser for the UI). Its global set-up
 *   only checks they answer; `npx segment stack up` brings them up.
 * - outage: integration files that stop, kill or restart servers (or run a Kafka cluster of their
 *   own). test/run-tests.ts runs them one at a time on a second, private stack, with the
 *   real-data files, beside the integration project, so no other file sees a server go away.
 * - timing: the worker-start bound, which a second test file's CPU would distort: run last, alone.
 */
const SERVER_KILLING = ['fault-table', 'infrastructure-outage', 'operator-retry', 'stack', 'kafka-cluster'];
const TIMING = ['worker-start'];
const ALONE = [...SERVER_KILLING, ...TIMING];
// A renamed file would slip into the parallel project (and kill servers under other files).
for (const name of ALONE) {
  if (!require('node:fs').existsSync(`${__dirname}/test/integration/${name}.test.ts`)) throw new Error(`jest.config.js: test/integration/${name}.test.ts is gone; update ALONE`);
}

const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/test/support/quiet-temporal-logs.ts'],
  // The local stack's folder may hold a checkout of another commit (the RFM cost bench's baseline).
  modulePathIgnorePatterns: ['<rootDir>/.stack/'],
};
const servers = { ...shared, globalSetup: '<rootDir>/test/global-setup.ts' };
const files = (names) => names.map((name) => `<rootDir>/test/integration/${name}.test.ts`);

module.exports = {
  testTimeout: 120_000,
  projects: [
    // The replay and workflow-bundle tests load dist/workflow-bundle.js: built first, as for every project.
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'], globalSetup: '<rootDir>/test/support/build-project.ts' },
    { ...shared, displayName: 'real-data', testMatch: ['<rootDir>/test/real-data/**/*.test.ts'] },
    { ...shared, displayName: 'workflow', testMatch: ['<rootDir>/test/workflow/**/*.test.ts'], globalSetup: '<rootDir>/test/workflow-global-setup.ts' },
    {
      ...servers,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/browser/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...ALONE.map((name) => `/test/integration/${name}\\.test\\.ts$`)],
    },
    { ...servers, displayName: 'outage', testMatch: files(SERVER_KILLING) },
    { ...servers, displayName: 'timing', testMatch: files(TIMING) },
  ],
};
