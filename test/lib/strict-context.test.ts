import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { CONTEXT_KEYS, ContextError, checkContextKeys, isCdkContextKey, parseAppContext, parseContext } from '../../lib/context';

// Settings that cannot be silently wrong: every context key the app is given is judged, as `cdk synth` gives it
// (cdk.json "context" and `-c key=value`, merged by the CLI into CDK_CONTEXT_JSON and loaded by App).

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const CDK_JSON = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const KNOWN = CONTEXT_KEYS.map((k) => k.key).join(', ');

/** What `cdk synth` builds: an App holding cdk.json's context plus `extra` (the -c flags). */
const appWith = (extra: Record<string, unknown>) => new App({ context: { ...CDK_JSON.context, ...extra } });
const errorOf = (f: () => unknown): ContextError => {
  try {
    f();
  } catch (err) {
    if (err instanceof ContextError) return err;
    throw err;
  }
  throw new Error('expected a ContextError, nothing was thrown');
};

describe('unknown context keys fail synthesis, naming the closest valid key', () => {
  test.each([
    ['attachToRole', 'X', 'attachToRoles'],
    ['dryrun', 'true', 'dryRun'],
    ['notifyEmail', 'sre@example.com', 'notifyEmails'],
    ['alertTopicARN', 'arn:aws:sns:eu-west-1:123456789012:a', 'alertTopicArn'],
    ['minEntry', '5', 'minEntries'],
    ['ocmEnable', 'false', 'ocmEnabled'],
    ['target', '[]', 'targets'],
  ])('-c %s=%s: did you mean %s?', (key, value, meant) => {
    const err = errorOf(() => parseAppContext(appWith({ [key]: value }).node));
    expect(err.key).toBe(key);
    expect(err.message).toBe(`Invalid context "${key}": is not a context key of this app (did you mean ${meant}?)`);
  });

  test('nothing close: the message lists every key the app reads', () => {
    expect(errorOf(() => parseAppContext(appWith({ frobnicate: 1 }).node)).message).toBe(
      `Invalid context "frobnicate": is not a context key of this app (known: ${KNOWN})`,
    );
  });

  test('a typo in cdk.json itself fails as well (the same context, another source)', () => {
    const app = new App({ context: { ...CDK_JSON.context, schedules: 15 } });
    expect(errorOf(() => parseAppContext(app.node)).message).toBe('Invalid context "schedules": is not a context key of this app (did you mean schedule?)');
  });

  test('an empty value is still a key that was given: -c attachToRole= fails too', () => {
    expect(errorOf(() => parseAppContext(appWith({ attachToRole: '' }).node)).key).toBe('attachToRole');
  });

  test("the value of an unknown key is never echoed (it may be a secret given to the wrong flag)", () => {
    const err = errorOf(() => parseAppContext(appWith({ ocmClientSecret: 's3cr3t-value' }).node));
    expect(err.message).not.toContain('s3cr3t');
    expect(err.message).toMatch(/^Invalid context "ocmClientSecret": is not a context key of this app/);
  });

  test('the check runs before any value is parsed: a typo beside a bad value names the typo', () => {
    expect(errorOf(() => parseAppContext(appWith({ attachToRole: 'X', minEntries: 'ten' }).node)).key).toBe('attachToRole');
  });
});

describe("CDK's own context keys pass", () => {
  const CDK_KEYS = [
    '@aws-cdk/aws-iam:minimizePolicies',
    '@aws-cdk/core:failSynthOnValidationErrors',
    'aws:cdk:bundling-stacks',
    'aws:cdk:enable-path-metadata',
    'aws:cdk:version-reporting',
    'availability-zones:account=123456789012:region=eu-west-1',
    'hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1',
    'acknowledged-issue-numbers',
    'cli-telemetry',
    'cdk-migrate',
  ];

  test.each(CDK_KEYS)('%s', (key) => {
    expect(isCdkContextKey(key)).toBe(true);
    expect(() => checkContextKeys([key])).not.toThrow();
  });

  test('none of the app keys looks like a CDK key (so none could slip through as one)', () => {
    for (const { key } of CONTEXT_KEYS) expect(isCdkContextKey(key)).toBe(false);
  });

  test('cdk.json, the CLI defaults and feature flags parse to what the keys alone give', () => {
    const app = new App({ context: { ...CDK_JSON.context, ...Object.fromEntries(CDK_KEYS.map((k) => [k, true])) } });
    expect(parseAppContext(app.node)).toEqual(parseContext((key) => CDK_JSON.context[key]));
  });
});

describe('the real app entry', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'allowlist-sync-strict-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // Through the CLI, as an operator types it: the -c flag reaches the app in CDK_CONTEXT_JSON beside cdk.json's keys.
  test('npx cdk synth -c attachToRole=X exits 1 naming attachToRoles, before anything is built', async () => {
    const failed = await run('npx', ['cdk', 'synth', '--quiet', '-c', 'attachToRole=ManagedOpenShift-Support-Role', '--output', out], {
      cwd: root,
      env: { ...process.env, CI: 'true' },
      timeout: 120_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('allowlist-sync: Invalid context "attachToRole": is not a context key of this app (did you mean attachToRoles?)\n');
  }, 150_000);

  test('bin/app.ts given CDK_CONTEXT_JSON (what the CLI sets) with a cdk.json-style typo exits 1 without a stack trace', async () => {
    const context = { ...CDK_JSON.context, notifyEmail: 'sre@example.com' };
    const failed = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: root,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: out },
      timeout: 60_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toBe('allowlist-sync: Invalid context "notifyEmail": is not a context key of this app (did you mean notifyEmails?)\n');
  }, 90_000);
});
