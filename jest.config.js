/** Unit tests: offline, fast, no timing assertions. */
module.exports = {
  testEnvironment: 'node',
  // Every core: jest's default (cores - 1) leaves one of a 2-core CI machine idle while the CLI tests wait on child processes.
  maxWorkers: '100%',
  // TypeScript first, so '../bin/allowlist-sync' is the CLI module, not its tsx launcher.
  moduleFileExtensions: ['ts', 'js', 'json'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integ/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
};
