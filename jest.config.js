/**
 * The test pyramid, one jest project per layer (`npm run test:unit`, `test:workflow`,
 * `test:integration`; `npm test` runs them all):
 * - unit: pure code and replays of recorded histories; no server at all.
 * - workflow: the real workflow code on Temporal's time-skipping test server with stub
 *   activities; no MySQL, Kafka or Temporal dev server.
 * - integration: the real Temporal, Kafka and MySQL (and a browser for the UI). Its global set-up
 *   only checks they answer; `npx segment stack up` brings them up.
 * - outage: integration files that stop, kill or restart servers, and the worker-start bound,
 *   which a second test file's CPU would distort. `npm test` runs them last and one at a time,
 *   after everything else, so no other file sees a server go away or shares the CPU.
 */
const SERVER_KILLING = ['fault-table', 'infrastructure-outage', 'operator-retry', 'stack', 'kafka-cluster'];
const ALONE = [...SERVER_KILLING, 'worker-start'];
// A renamed file would slip into the parallel project and kill servers under other files.
for (const name of ALONE) {
  if (!require('node:fs').existsSync(`${__dirname}/test/integration/${name}.test.ts`)) throw new Error(`jest.config.js: test/integration/${name}.test.ts is gone; update ALONE`);
}

const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/test/support/quiet-temporal-logs.ts'],
};
const servers = { ...shared, globalSetup: '<rootDir>/test/global-setup.ts' };
const alone = ALONE.map((name) => `<rootDir>/test/integration/${name}.test.ts`);

module.exports = {
  testTimeout: 120_000,
  projects: [
    // The replay and workflow-bundle tests load dist/workflow-bundle.js: built first, as for every project.
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'], globalSetup: '<rootDir>/test/support/build-project.ts' },
    { ...shared, displayName: 'workflow', testMatch: ['<rootDir>/test/workflow/**/*.test.ts'], globalSetup: '<rootDir>/test/workflow-global-setup.ts' },
    {
      ...servers,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/browser/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...ALONE.map((name) => `/test/integration/${name}\\.test\\.ts$`)],
    },
    { ...servers, displayName: 'outage', testMatch: alone },
  ],
};
