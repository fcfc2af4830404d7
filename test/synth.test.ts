import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The one real synthesis: `cdk synth` through the CLI, with esbuild bundling the function (no Docker).
// Unit tests skip bundling; this proves the deployable artifact builds and loads.
const run = promisify(execFile);
const root = join(__dirname, '..');

describe('cdk synth (real, with esbuild bundling)', () => {
  const out = mkdtempSync(join(tmpdir(), 'allowlist-sync-synth-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes the stack offline, cdk-nag clean, with a bundled handler that loads', async () => {
    await run('npx', ['cdk', 'synth', '--quiet', '--output', out], { cwd: root, env: { ...process.env, CI: 'true' }, timeout: 240_000 });
    const template = JSON.parse(readFileSync(join(out, 'AllowlistSync.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Handler === 'index.handler');
    expect(functions).toHaveLength(1);
    expect(functions[0].Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });

    // The bundle: one minified index.js with its source map; requiring it yields the handler.
    const bundles = readdirSync(out)
      .filter((d) => d.startsWith('asset.') && existsSync(join(out, d, 'index.js')))
      .map((d) => join(out, d, 'index.js'))
      .filter((f) => readFileSync(f, 'utf8').includes('AllowlistSyncDenyOutsideTrustedIps'));
    expect(bundles).toHaveLength(1);
    expect(existsSync(`${bundles[0]}.map`)).toBe(true);
    expect(statSync(bundles[0]).size).toBeGreaterThan(10_000);
    // The AWS SDK is left to the runtime (bundleAwsSDK false): NODE_PATH plays the runtime's copy.
    const bundle = readFileSync(bundles[0], 'utf8');
    expect(bundle).toContain('require("@aws-sdk/client-iam")');
    // Packages are required, never import()ed: ESM resolution ignores NODE_PATH, where the runtime keeps the SDK.
    expect(bundle).not.toMatch(/\bimport\(\s*["'](?!node:)[^."']/);
    // OCM over Node's own HTTP client: no HTTP library (and no WebAssembly parser) in the bundle.
    expect(bundle).not.toContain('WebAssembly');
    const loaded = await run(process.execPath, ['-e', `const m = require(${JSON.stringify(bundles[0])}); process.stdout.write(typeof m.handler)`], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    });
    expect(loaded.stdout).toBe('function');
  }, 300_000);
});
