/** Tests run against the real Temporal, Kafka and MySQL: the global set-up brings the local stack up. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/quiet-temporal-logs.ts'],
  testTimeout: 120_000,
};
