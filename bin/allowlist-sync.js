#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's require hook, so `npx allowlist-sync` works right after `npm ci`.
require('tsx/cjs');
require('./allowlist-sync.ts').run();
