/**
 * `npm test`: every project in one run, sharing one private NATS and Postgres.
 * @type {import('jest').Config}
 */
module.exports = {
  projects: [
    '<rootDir>/apps/gateway',
    '<rootDir>/apps/notebook-service',
    '<rootDir>/apps/auth-service',
    '<rootDir>/apps/execution-service',
    '<rootDir>/apps/search-service',
    '<rootDir>/apps/projection-service',
    '<rootDir>/libs/contracts',
    '<rootDir>/libs/event-store',
    '<rootDir>/libs/notebook/domain',
    '<rootDir>/libs/platform',
    '<rootDir>/libs/projector',
    '<rootDir>/libs/testing',
    '<rootDir>/libs/user/domain',
    '<rootDir>/tools',
    '<rootDir>/tools/deploy',
  ],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  testTimeout: 60_000,
};
