import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The construct library as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a CDK app in
 * another folder without the registry (extracted into its node_modules, its dependencies linked from this repository's
 * node_modules, as npm would have installed them), then a stack synthesized from the packed copy, bundling included,
 * in a child process that has never seen this repository's sources.
 */
const run = promisify(execFile);
const root = join(__dirname, '..');
const quiet = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}
type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

describe('the packed library, installed in another CDK app', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'allowlist-sync-pack-'));
  const app = join(tmp, 'app');
  const pkgDir = join(app, 'node_modules', 'allowlist-sync');
  const out = join(tmp, 'cdk.out');
  let files: string[] = [];
  let synthOutput = '';
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  beforeAll(async () => {
    // npm pack runs prepack (the build to dist/) and writes the tarball; --offline: nothing is fetched. Its output is
    // not parsed (npm versions differ in where lifecycle output goes): the tarball is the one file it writes.
    await run('npm', ['pack', '--offline', '--pack-destination', tmp], { cwd: root, env: quiet, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    const tarballs = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toEqual([expect.stringMatching(/^allowlist-sync-\d+\.\d+\.\d+.*\.tgz$/)]);
    const tarball = join(tmp, tarballs[0]);
    const listing = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 });
    files = listing.stdout.split('\n').filter((f) => f.startsWith('package/') && !f.endsWith('/')).map((f) => f.slice('package/'.length));
    mkdirSync(pkgDir, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);

    // What `npm install <tarball>` would leave: the package's dependencies (and peers) beside it, plus the app's own
    // esbuild (NodejsFunction's requirement), its bin linked; and the app's lock file.
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    for (const name of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), 'esbuild']) {
      const link = join(app, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), link, 'dir');
    }
    mkdirSync(join(app, 'node_modules', '.bin'));
    symlinkSync(join('..', 'esbuild', 'bin', 'esbuild'), join(app, 'node_modules', '.bin', 'esbuild'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, dependencies: { 'allowlist-sync': 'file:../allowlist-sync.tgz' } }));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'consumer-app', lockfileVersion: 3, requires: true, packages: { '': { name: 'consumer-app' } } }));
    writeFileSync(
      join(app, 'app.js'),
      [
        "const { App, Stack } = require('aws-cdk-lib');",
        "const { AllowlistSync } = require('allowlist-sync');",
        'const app = new App({ outdir: process.argv[2] });',
        "const stack = new Stack(app, 'Consumer');",
        "new AllowlistSync(stack, 'Allowlist', { attachToRoles: ['ManagedOpenShift-Support-Role'], notifyEmails: ['sre@example.com'] });",
        'app.synth();',
        "process.stdout.write(JSON.stringify({ resolved: require.resolve('allowlist-sync') }));",
      ].join('\n'),
    );
    // Nothing from this repository on the resolution path but what was linked into the app.
    const env: NodeJS.ProcessEnv = { ...quiet };
    delete env.NODE_PATH;
    synthOutput = (await run(process.execPath, [join(app, 'app.js'), out], { cwd: app, env, timeout: 240_000 })).stdout;
  }, 480_000);

  test('the tarball holds the build, the function sources, the CLI launcher; no tests, no lock file, no repository sources', () => {
    for (const f of ['package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/sync-function.js', 'dist/bin/allowlist-sync.js', 'lambda/handler.ts', 'tsconfig.json', 'bin/allowlist-sync.js']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(test|bench|demo|scratch|docs)\/|^package-lock\.json$|^cdk\.json$|^bin\/.*\.ts$|^lib\//.test(f))).toEqual([]);
    // The function's sources are this repository's, byte for byte: the bundle deployed is the one tested here.
    const lambdaFiles = files.filter((f) => f.startsWith('lambda/'));
    expect(lambdaFiles.length).toBeGreaterThan(50);
    for (const f of lambdaFiles) expect(readFileSync(join(pkgDir, f), 'utf8')).toBe(readFileSync(join(root, f), 'utf8'));
  });

  test('main and types point at the build; aws-cdk-lib and constructs are the app\'s own (peers: one copy in the app)', () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      main: string;
      types: string;
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(manifest.dependencies).not.toHaveProperty('aws-cdk-lib');
    expect(manifest.dependencies).not.toHaveProperty('constructs');
    expect(existsSync(join(pkgDir, manifest.main))).toBe(true);
    expect(existsSync(join(pkgDir, manifest.types))).toBe(true);
    const types = readFileSync(join(pkgDir, 'dist', 'lib', 'index.d.ts'), 'utf8');
    for (const m of ['./allowlist-sync', './allowlist-sync-stack', './targets', './sync-dashboard']) expect(types).toContain(`export * from '${m}';`);
  });

  test('the app synthesizes from the packed copy: the function, bundled, with its policy on the allowlist', () => {
    expect(JSON.parse(synthOutput).resolved).toBe(join(pkgDir, 'dist', 'lib', 'index.js'));
    const template = JSON.parse(readFileSync(join(out, 'Consumer.template.json'), 'utf8')) as Template;
    const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
    // (The attachments' custom resource brings a function of its own.)
    const fns = byType('AWS::Lambda::Function').filter(([, r]) => String(r.Properties?.Description).startsWith('allowlist-sync:'));
    expect(fns).toHaveLength(1);
    expect(fns[0][1].Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    const [policyId] = byType('AWS::IAM::ManagedPolicy').map(([id]) => id);
    expect(policyId).toBeDefined();
    const statements = byType('AWS::IAM::Policy').flatMap(([, r]) => (r.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
    const write = statements.find((s) => s.Sid === 'WriteAllowlistPolicy');
    expect(write?.Action).toEqual(expect.arrayContaining(['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion']));
    expect(write?.Resource).toEqual({ Ref: policyId });
    expect(byType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });

  test('the bundle built in the app is the real handler, and it loads', async () => {
    const bundles = readdirSync(out)
      .filter((d) => d.startsWith('asset.') && existsSync(join(out, d, 'index.js')))
      .map((d) => join(out, d, 'index.js'))
      .filter((f) => readFileSync(f, 'utf8').includes('AllowlistSyncDenyOutsideTrustedIps'));
    expect(bundles).toHaveLength(1);
    expect(readFileSync(bundles[0], 'utf8')).toContain('require("@aws-sdk/client-iam")');
    const loaded = await run(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(bundles[0])}).handler)`], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    });
    expect(loaded.stdout).toBe('function');
  });

  test('the CLI runs from the package (compiled, without tsx)', async () => {
    const help = await run(process.execPath, [join(pkgDir, 'bin', 'allowlist-sync.js'), '--help'], { cwd: app, timeout: 60_000 });
    expect(help.stdout).toMatch(/^Usage: allowlist-sync \[options\] \[command\]/);
    expect(help.stdout).toMatch(/^ {2}plan \[options\] /m);
    const version = await run(process.execPath, [join(pkgDir, 'bin', 'allowlist-sync.js'), '--version'], { cwd: app, timeout: 60_000 });
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version);
    expect(existsSync(join(pkgDir, 'bin', 'allowlist-sync.ts'))).toBe(false);
  });
});
