/** Opt-in integration suite: runs against whatever AWS_ENDPOINT_URL names. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integ'],
  testMatch: ['**/*.integ.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 120000,
};
