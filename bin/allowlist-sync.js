#!/usr/bin/env node
// In the repository: the TypeScript CLI through tsx's require hook, so `npx allowlist-sync` works right after `npm ci`.
// Installed from the package (which ships no TypeScript sources): the compiled CLI in dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (existsSync(join(__dirname, 'allowlist-sync.ts'))) {
  require('tsx/cjs');
  require('./allowlist-sync.ts').run();
} else {
  require('../dist/bin/allowlist-sync.js').run();
}
