/** Opt-in integration suite: runs against whatever AWS_ENDPOINT_URL names. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integ'],
  testMatch: ['**/*.integ.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
  // Probes the endpoint before any test is defined: the fleet case is test or test.skip by what it offers.
  globalSetup: '<rootDir>/test/integ/probe.ts',
};
