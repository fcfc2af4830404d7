/**
 * The composition root (lambda/compose.ts): configuration and clients become runtimes. Real SDK clients whose
 * `send` is aws-sdk-client-mock (IAM played by FakeIam), the real OCM source against the fake SSO+OCM server, the
 * memory state store; nothing is synced here (test/run*.test.ts run the runtimes), only what composing wires.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { Alerter } from '../lambda/alerts';
import { Clients, ComposeDeps, Shared, Tuning, buildRuntime, buildRuntimes, composeConfigAlerter, composeRuntimes, planOptionsOf } from '../lambda/compose';
import { DeploymentConfig, loadEntrySettings, loadSdkSettings } from '../lambda/config';
import { SyncError } from '../lambda/errors';
import type { TargetSpec } from '../lambda/kinds/kind';
import { KINDS, documentKey, kindOf } from '../lambda/kinds/registry';
import type { Env, MetricsSink, RunLog, StateStore } from '../lambda/ports';
import { SOURCE_FORMS } from '../lambda/sources/grammar';
import { memoryStateStore } from '../lambda/state/json-store';
import { FakeIam } from './helpers/fake-iam';
import { FakeOcmServer, ocmError } from './helpers/ocm-server';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
const PARAMETER = '/allowlist-sync/ocm';
const CLIENT_ID = 'svc-allowlist-4f1c';
const CLIENT_SECRET = 'S3cr3t-client-ZQ8xv3Lm9Pw2';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const ROOT = 'arn:aws:iam::123456789012:root';

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const sns = new SNSClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const ssm = new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const snsMock = mockClient(sns);
const ssmMock = mockClient(ssm);
const quiet: RunLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const MANAGED: TargetSpec = { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: ARN, sources: ['ocm'] };
const TRUST: TargetSpec = { name: 'break-glass', kind: 'trust-policy', roleName: 'BreakGlass', principals: [ROOT], sources: ['ocm', 'static:203.0.113.0/24'] };
const INLINE: TargetSpec = { name: 'vendor', kind: 'inline-policy', roleName: 'VendorRole', policyName: 'deny-outside-vendor-ips', sources: ['ssm:/allowlists/vendor'] };

let state: StateStore;
let metricsAskedFor: string[];

function config(targets: TargetSpec[], over: Partial<DeploymentConfig> = {}): DeploymentConfig {
  return { targets, alertTopicArn: TOPIC, dryRun: false, multi: true, ...over };
}

function deps(env: Env = {}, clients: Clients = { iam, sns, ssm, state }, tuning?: Tuning): ComposeDeps {
  return {
    env,
    log: quiet,
    metricsFor: (name): MetricsSink => {
      metricsAskedFor.push(name);
      return { addMetric: () => undefined };
    },
    clients,
    ...(tuning ? { tuning } : {}),
  };
}

beforeEach(() => {
  iamMock.reset();
  snsMock.reset();
  ssmMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  ssmMock.on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: JSON.stringify({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }), Version: 1 } });
  state = memoryStateStore();
  metricsAskedFor = [];
});

describe('composeRuntimes', () => {
  test('refuses a fleet rather than leaving it out: its accounts are known only at run time (composeDeployment)', () => {
    const fleet = { name: 'fleet', kind: 'managed-policy' as const, policyName: 'p', accounts: ['111111111111'], sources: ['ocm'] };
    expect(() => composeRuntimes(config([MANAGED], { fleets: [fleet] }), deps())).toThrow('Configuration error: fleet is a fleet (with "accounts"), which only the function keeps.');
  });

  test('one runtime per target, in order, each with its kind\'s resource and document key, its own metrics', () => {
    const runtimes = composeRuntimes(config([MANAGED, TRUST, INLINE]), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER }));

    expect(runtimes.map((r) => r.name)).toEqual(['rosa-trusted-ips', 'break-glass', 'vendor']);
    expect(runtimes.map((r) => r.resource)).toEqual([ARN, 'role/BreakGlass (trust policy)', 'role/VendorRole inline policy deny-outside-vendor-ips']);
    expect(runtimes.map((r) => r.target.key)).toEqual([MANAGED, TRUST, INLINE].map(documentKey));
    expect(runtimes.map((r) => r.sources.map((s) => s.name))).toEqual([['ocm'], ['ocm', 'static:203.0.113.0/24'], ['ssm:/allowlists/vendor']]);
    expect(metricsAskedFor).toEqual(['rosa-trusted-ips', 'break-glass', 'vendor']);
    // Built, not used: composing reads nothing.
    expect(iamMock.send.callCount).toBe(0);
    expect(ssmMock.send.callCount).toBe(0);
    expect(snsMock.send.callCount).toBe(0);
  });

  test('every runtime shares the one state store: the given one, or one memory store of the container', () => {
    const given = composeRuntimes(config([MANAGED, TRUST, INLINE]), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER }));
    expect(given.every((r) => r.state === state)).toBe(true);

    const own = composeRuntimes(config([MANAGED, INLINE]), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER }, { iam, sns, ssm }));
    expect(own[0].state).not.toBe(state);
    expect(own[1].state).toBe(own[0].state);
    expect(own[0].state.description).toBe('memory of this container (STATE_TABLE is not set)');
  });

  test('the targets use the clients given: IAM for the adapters, SSM for the sources, SNS for the alerts', async () => {
    const fake = new FakeIam({ arn: ARN, document: serializePolicy(renderDenyPolicy(['192.0.2.0/24'])) });
    fake.install(iamMock);
    ssmMock.on(GetParameterCommand, { Name: '/allowlists/vendor' }).resolves({ Parameter: { Name: '/allowlists/vendor', Type: 'StringList', Value: '100.130.1.0/24' } });
    const [managed, vendor] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }, INLINE]), deps());

    await expect(managed.target.read()).resolves.toMatchObject({ versionId: 'v1' });
    await expect(vendor.sources[0].fetch()).resolves.toMatchObject({ entries: [{ value: '100.130.1.0/24' }] });
    expect(managed.alerter.enabled).toBe(true);
    await managed.alerter.notify({ error: new SyncError('iam-error', 'IAM is down.') });

    expect(iamMock.send.thisValues.every((client) => client === iam)).toBe(true);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/allowlists/vendor' });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input).toMatchObject({ TopicArn: TOPIC, Subject: expect.stringContaining('rosa-trusted-ips') });
  });

  test('without a topic the alerters are disabled, and publish nothing', async () => {
    const [runtime] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }], { alertTopicArn: undefined }), deps());
    expect(runtime.alerter.enabled).toBe(false);
    await runtime.alerter.notify({ error: new SyncError('iam-error', 'IAM is down.') });
    expect(snsMock.send.callCount).toBe(0);
  });

  test('two OCM targets share one OCM source: one fetch per run (and per read) for both', async () => {
    const server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    try {
      const env = { OCM_CREDENTIALS_PARAMETER: PARAMETER, OCM_API_URL: server.apiUrl, OCM_TOKEN_URL: server.tokenUrl };
      const runtimes = composeRuntimes(config([MANAGED, TRUST, INLINE]), deps(env));
      const ocm = runtimes.map((r) => r.sources.find((s) => s.name === 'ocm'));
      expect(ocm[0]).toBeDefined();
      expect(ocm[1]).toBe(ocm[0]);
      expect(ocm[2]).toBeUndefined();

      const run = async (read?: number) => {
        const results = await Promise.all(runtimes.flatMap((r) => r.sources.filter((s) => s.name === 'ocm').map((s) => s.fetch(read ? { read } : {}))));
        expect(results).toHaveLength(2);
        expect(results[1]).toBe(results[0]);
        return results[0];
      };
      for (const r of runtimes) r.beginRun?.();
      await expect(run()).resolves.toMatchObject({ source: 'ocm', entries: expect.arrayContaining([{ value: '192.0.2.10', source: 'ocm' }]) });
      expect(server.requestsTo('api')).toHaveLength(1);
      // The second, fresh read of a plan that removes entries is shared too.
      await run(2);
      expect(server.requestsTo('api')).toHaveLength(2);
      await run();
      expect(server.requestsTo('api')).toHaveLength(2);

      // The next invocation fetches afresh, once, with the token and credentials the container already has.
      runtimes[2].beginRun?.();
      await run();
      expect(server.requestsTo('api')).toHaveLength(3);
      expect(server.requestsTo('token')).toHaveLength(1);
      expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    } finally {
      await server.close();
    }
  });

  test('the tuning reaches the adapters: OCM attempts, IAM confirm waits, lease waits', async () => {
    const server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    try {
      server.override('api', ocmError(503, 'CLUSTERS-MGMT-503', 'Service unavailable'));
      const env = { OCM_CREDENTIALS_PARAMETER: PARAMETER, OCM_API_URL: server.apiUrl, OCM_TOKEN_URL: server.tokenUrl };
      const [once] = composeRuntimes(config([MANAGED]), deps(env, undefined, { ocmHttp: { attempts: 1 } }));
      await expect(once.sources[0].fetch()).rejects.toMatchObject({ code: 'ocm-http' });
      // Production tries three times.
      expect(server.requestsTo('api')).toHaveLength(1);
    } finally {
      await server.close();
    }

    // IAM reads the old default twice after the write: confirming needs waits; with none configured it cannot.
    const written = serializePolicy(renderDenyPolicy(['192.0.2.0/24', '198.51.100.0/24']));
    const write = async (tuning: Tuning) => {
      const fake = new FakeIam({ arn: ARN, document: serializePolicy(renderDenyPolicy(['192.0.2.0/24'])) });
      fake.staleReadsAfterWrite = 2;
      iamMock.reset();
      fake.install(iamMock);
      const [runtime] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }]), deps({}, undefined, tuning));
      const current = await runtime.target.read();
      return runtime.target.write({ document: written, planId: '0123456789abcdef', baseVersionId: current.versionId });
    };
    await expect(write({ confirmDelaysMs: [1, 1, 1] })).resolves.toMatchObject({ versionId: 'v2', previousVersionId: 'v1' });
    await expect(write({ confirmDelaysMs: [] })).rejects.toMatchObject({ code: 'concurrent-writer' });

    const [leased] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }]), deps({}, undefined, { leaseWaitsMs: [1, 2] }));
    expect(leased.leaseWaitsMs).toEqual([1, 2]);
    const [untuned] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }]), deps());
    expect(untuned).not.toHaveProperty('leaseWaitsMs');
  });

  test("dryRun: DRY_RUN makes every runtime dry, a spec's dryRun only its own", () => {
    const targets = [MANAGED, { ...INLINE, dryRun: true }];
    expect(composeRuntimes(config(targets), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER })).map((r) => r.dryRun)).toEqual([false, true]);
    expect(composeRuntimes(config(targets, { dryRun: true }), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER })).map((r) => r.dryRun)).toEqual([true, true]);

    const env = { ALLOWLIST_TARGETS: JSON.stringify([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }]), DRY_RUN: 'true' };
    expect(buildRuntimes(env, quiet, () => ({ addMetric: () => undefined }), { iam, sns, ssm, state }).map((r) => r.dryRun)).toEqual([true]);
    expect(buildRuntimes({ ...env, DRY_RUN: 'false' }, quiet, () => ({ addMetric: () => undefined }), { iam, sns, ssm, state }).map((r) => r.dryRun)).toEqual([false]);
  });

  test("a runtime's plan options are planOptionsOf its spec", () => {
    const runtimes = composeRuntimes(config([MANAGED, { ...TRUST, guards: { sizeLimit: 4096, minEntries: 2 } }]), deps({ OCM_CREDENTIALS_PARAMETER: PARAMETER }));
    expect(runtimes[0].plan.guards).toEqual({ sizeLimit: 6144 });
    expect(runtimes[1].plan.guards).toEqual({ sizeLimit: 4096, minEntries: 2 });
  });

  test('the single-target variables name their static list after EXTRA_CIDRS; a target list by its spelling', async () => {
    const single = buildRuntime({ POLICY_ARN: ARN, OCM_ENABLED: 'false', EXTRA_CIDRS: '192.0.2.0/24' }, quiet, { addMetric: () => undefined }, { iam, sns, ssm, state });
    expect(single.sources.map((s) => s.name)).toEqual(['static:EXTRA_CIDRS']);
    await expect(single.sources[0].fetch()).resolves.toEqual({ source: 'static:EXTRA_CIDRS', entries: [{ value: '192.0.2.0/24', source: 'static:EXTRA_CIDRS' }], skipped: 0 });

    const [listed] = composeRuntimes(config([{ ...MANAGED, sources: ['static:192.0.2.0/24'] }]), deps());
    expect(listed.sources.map((s) => s.name)).toEqual(['static:192.0.2.0/24']);
  });
});

describe('planOptionsOf', () => {
  test.each<[string, TargetSpec, number]>([
    ['managed policy', MANAGED, 6144],
    ['trust policy', TRUST, 2048],
    ['inline policy', INLINE, 10240],
    ['file', { name: 'local', kind: 'file', path: 'policy.json', sources: ['file:ips.json'] }, 6144],
  ])("%s: its kind's default size limit", (_kind, spec, limit) => {
    expect(planOptionsOf(spec).guards).toEqual({ sizeLimit: limit });
    expect(limit).toBe(KINDS[spec.kind].sizeLimit.default);
  });

  test('guards.sizeLimit wins, and the other guards are kept as given', () => {
    expect(planOptionsOf({ ...TRUST, guards: { sizeLimit: 4096 } }).guards).toEqual({ sizeLimit: 4096 });
    expect(planOptionsOf({ ...MANAGED, guards: { minEntries: 3, maxRemovalFraction: 0.5 } }).guards).toEqual({ minEntries: 3, maxRemovalFraction: 0.5, sizeLimit: 6144 });
  });

  test("the shape is the kind's, for the spec", () => {
    const entries = ['203.0.113.0/24'];
    const current = { Version: '2012-10-17', Statement: [{ Sid: 'Admins', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'sts:AssumeRole' }] };
    for (const spec of [MANAGED, TRUST, INLINE]) {
      expect(planOptionsOf(spec).shape?.render(entries, current)).toEqual(kindOf(spec).shape(spec).render(entries, current));
    }
  });
});

describe('composeConfigAlerter', () => {
  test('undefined without a topic', () => {
    expect(composeConfigAlerter(loadEntrySettings({ POLICY_ARN: ARN }), { clients: { sns, state } })).toBeUndefined();
    expect(composeConfigAlerter(loadEntrySettings({ ALERT_TOPIC_ARN: '  ', STATE_TABLE: 'allowlist-sync-state' }), { clients: { sns, state } })).toBeUndefined();
  });

  test('with a topic: the configuration error is told once, through the given SNS client, named after the allowlist', async () => {
    const alerter = composeConfigAlerter(loadEntrySettings({ ALERT_TOPIC_ARN: TOPIC, ALLOWLIST_NAME: 'corp-vpn' }), { clients: { sns, state } });
    expect(alerter).toBeInstanceOf(Alerter);
    const error = new SyncError('config', 'Configuration error: MIN_ENTRIES must be a whole number.');
    await alerter?.notify({ error });
    await alerter?.notify({ error });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input).toMatchObject({ TopicArn: TOPIC, Subject: 'allowlist-sync: corp-vpn FAILED (config)' });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Policy:   (POLICY_ARN unset)');
    // Without STATE_TABLE the state lives in memory only: the given store is not the deployment's record.
    expect((await state.load('deployment:corp-vpn')).alert).toBeUndefined();
  });

  test('with STATE_TABLE the state is also kept in the store, as the deployment\'s record (the function\'s name)', async () => {
    const env = { ALERT_TOPIC_ARN: TOPIC, STATE_TABLE: 'allowlist-sync-state', AWS_LAMBDA_FUNCTION_NAME: 'sync-fn' };
    await composeConfigAlerter(loadEntrySettings(env), { clients: { sns, state } })?.notify({ error: new SyncError('config', 'Configuration error: x.') });
    expect((await state.load('deployment:sync-fn')).alert).toMatchObject({ status: 'failed' });

    // Another container (a new alerter on the same store) knows it was told.
    await composeConfigAlerter(loadEntrySettings(env), { clients: { sns, state } })?.notify({ error: new SyncError('config', 'Configuration error: x.') });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});

describe('Shared', () => {
  const shared = (clients: Clients = { iam, sns, ssm, state }, env: Env = { OCM_CREDENTIALS_PARAMETER: PARAMETER }) => new Shared({ env, log: quiet, clients, tuning: {}, sdk: loadSdkSettings(env) });

  test.each(['bogus', 'OCM', 's3:bucket/ips', 'static:', ''])('refuses the unknown spelling %j with a SyncError "config"', (text) => {
    let thrown: unknown;
    try {
      shared().source(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SyncError);
    expect(thrown).toMatchObject({ code: 'config', message: `Configuration error: "${text}" is not a source: expected ${SOURCE_FORMS}.` });
  });

  test('OCM and each SSM list are one source for all; the others are built per spelling, a static list named as asked', async () => {
    const s = shared();
    expect(s.source('ocm')).toBe(s.source('ocm'));
    expect(s.source('static:192.0.2.0/24')).not.toBe(s.source('static:192.0.2.0/24'));
    const named = s.source('static:192.0.2.0/24, 198.51.100.7', 'static:EXTRA_CIDRS');
    expect(named.name).toBe('static:EXTRA_CIDRS');
    await expect(named.fetch()).resolves.toMatchObject({ entries: [{ value: '192.0.2.0/24' }, { value: '198.51.100.7' }] });
    expect(s.source('ssm:/allowlists/vendor').name).toBe('ssm:/allowlists/vendor');
    // An SSM list too is one source per parameter (read once per run, however many targets list it).
    expect(s.source('ssm:/allowlists/vendor')).toBe(s.source('ssm:/allowlists/vendor'));
    expect(s.source('ssm:/allowlists/other')).not.toBe(s.source('ssm:/allowlists/vendor'));
    // A second container's Shared has its own OCM source.
    expect(shared().source('ocm')).not.toBe(s.source('ocm'));
  });

  test('the clients given are used as they are; the state store is the given one, else a memory store of its own', () => {
    const s = shared();
    expect(s.iam()).toBe(iam);
    expect(s.ssm()).toBe(ssm);
    expect(s.state).toBe(state);
    const own = shared({ iam, sns, ssm });
    expect(own.state).not.toBe(state);
    expect(own.state.description).toBe('memory of this container (STATE_TABLE is not set)');
  });
});
