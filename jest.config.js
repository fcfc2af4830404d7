/** Unit tests: offline, fast, no timing assertions. */
module.exports = {
  testEnvironment: 'node',
  // TypeScript first, so '../bin/allowlist-sync' is the CLI module, not its tsx launcher.
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integ/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
};
