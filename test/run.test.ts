/**
 * lambda/run.ts without the Lambda wrapper: parseEvent, compose.ts's buildRuntime (clients injected, tuning) and runSync
 * (metrics, alerts, result) over FakeIam and a mocked SNS, with EXTRA_CIDRS as the source unless OCM is the point.
 */
import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  IAMClient,
  ListPolicyTagsCommand,
  SetDefaultPolicyVersionCommand,
  TagPolicyCommand,
} from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { MetricUnit } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { SyncError } from '../lambda/errors';
import type { StateStore } from '../lambda/ports';
import { memoryStateStore } from '../lambda/state/json-store';
import { SyncRuntime, Tuning, buildRuntime } from '../lambda/compose';
import { createHandler } from '../lambda/handler';
import type { MetricsSink, RunLog } from '../lambda/ports';
import { parseEvent, runSync } from '../lambda/run';
import type { Source } from '../lambda/ports';
import { FakeIam } from './helpers/fake-iam';
import { FakeOcmServer, ocmError } from './helpers/ocm-server';

const ARN = 'arn:aws:iam::123456789012:policy/corp-vpn';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const CURRENT = ['192.0.2.0/28', '198.51.100.7/32', '203.0.113.0/24', '2001:db8::/32'];

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const sns = new SNSClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const ssm = new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const snsMock = mockClient(sns);
const ssmMock = mockClient(ssm);

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

let fakeIam: FakeIam;
/** The state store every runtime of a test shares, as containers share the table. */
let state: StateStore & { loads: number };
let recorded: [string, Unit, number][];
let logged: [string, string, Record<string, unknown>][];

const metrics: MetricsSink = { addMetric: (name, unit, value) => recorded.push([name, unit, value]) };
const log: RunLog = {
  debug: (m, ...e) => logged.push(['debug', m, Object.assign({}, ...e)]),
  info: (m, ...e) => logged.push(['info', m, Object.assign({}, ...e)]),
  warn: (m, ...e) => logged.push(['warn', m, Object.assign({}, ...e)]),
  error: (m, ...e) => logged.push(['error', m, Object.assign({}, ...e)]),
};

const FAST: Tuning = { confirmDelaysMs: [1, 1, 1], ocmHttp: { baseDelayMs: 1, maxDelayMs: 2 } };

function runtime(env: Record<string, string | undefined> = {}, tuning: Tuning = FAST): SyncRuntime {
  return buildRuntime(
    // POLICY_CHECKS: the AWS engines' checks have their own tests (policy-checks*.test.ts); here they would call AWS.
    { POLICY_ARN: ARN, ALERT_TOPIC_ARN: TOPIC, ALLOWLIST_NAME: 'corp-vpn', OCM_ENABLED: 'false', EXTRA_CIDRS: CURRENT.join(','), POLICY_CHECKS: 'off', ...env },
    log,
    metrics,
    { iam, sns, ssm, state },
    tuning,
  );
}

/** A memory store that counts its record reads. */
function countingStore(): StateStore & { loads: number } {
  const inner = memoryStateStore();
  const store = {
    ...inner,
    loads: 0,
    load: (key: string) => {
      store.loads++;
      return inner.load(key);
    },
  };
  return store;
}

const alertState = async () => (await state.load(ARN)).alert;

/** Metrics recorded, SyncDuration's value replaced by its type (it is wall-clock time). */
function recordedMetrics(): [string, Unit, number | string][] {
  return recorded.map(([name, unit, value]) => [name, unit, name === 'SyncDuration' ? typeof value : value]);
}

function events(): (string | undefined)[] {
  return snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes?.event?.StringValue);
}

async function rejection(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    return err as SyncError;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  fakeIam = new FakeIam({ arn: ARN, document: serializePolicy(renderDenyPolicy(CURRENT)) });
  iamMock.reset();
  snsMock.reset();
  ssmMock.reset();
  fakeIam.install(iamMock);
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  state = countingStore();
  recorded = [];
  logged = [];
});

describe('parseEvent', () => {
  test.each<[string, unknown, ReturnType<typeof parseEvent>]>([
    ['the scheduler event', { source: 'aws.scheduler', detail: {} }, { dryRun: false }],
    ['an empty object', {}, { dryRun: false }],
    ['no event at all', undefined, { dryRun: false }],
    ['null', null, { dryRun: false }],
    ['dryRun true', { dryRun: true }, { dryRun: true }],
    ['dryRun false', { dryRun: false }, { dryRun: false }],
    ['an approval', { approve: '0123456789abcdef' }, { dryRun: false, approve: '0123456789abcdef' }],
    ['an approval in a dry run', { approve: 'fedcba9876543210', dryRun: true }, { dryRun: true, approve: 'fedcba9876543210' }],
  ])('%s', (_name, event, expected) => {
    expect(parseEvent(event)).toEqual(expected);
  });

  test.each<[string, unknown, string]>([
    ['a string (a payload encoded twice)', '{"dryRun":true}', 'The event must be a JSON object (or empty), got a string (a payload encoded twice?).'],
    ['a number', 42, 'The event must be a JSON object (or empty), got a number.'],
    ['dryRun "yes"', { dryRun: 'yes' }, `The event's "dryRun" must be true or false, got "yes".`],
    ['dryRun 1', { dryRun: 1 }, `The event's "dryRun" must be true or false, got 1.`],
    ['dryRun null', { dryRun: null }, `The event's "dryRun" must be true or false, got null.`],
    ['approve uppercase', { approve: '0123456789ABCDEF' }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got "0123456789ABCDEF".`],
    ['approve 17 digits', { approve: '0123456789abcdef0' }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got "0123456789abcdef0".`],
    ['approve with spaces', { approve: ' 0123456789abcdef' }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got " 0123456789abcdef".`],
    ['approve true', { approve: true }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got true.`],
    ['approve null', { approve: null }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got null.`],
  ])('rejects %s', (_name, event, message) => {
    expect(() => parseEvent(event)).toThrow(expect.objectContaining({ name: 'SyncError', code: 'bad-event', message }));
  });
});

describe('buildRuntime', () => {
  test.each<[string, Record<string, string | undefined>, string, string]>([
    ['POLICY_ARN missing', { POLICY_ARN: undefined }, 'config', 'Configuration error: POLICY_ARN is required'],
    ['MIN_ENTRIES=abc', { MIN_ENTRIES: 'abc' }, 'config', 'Configuration error: MIN_ENTRIES must be a whole number from 1 to 100000, got "abc".'],
    ['ALERT_TOPIC_ARN not a topic', { ALERT_TOPIC_ARN: 'alerts' }, 'config', 'Configuration error: ALERT_TOPIC_ARN must be an SNS topic ARN, got "alerts".'],
    ['no source at all', { EXTRA_CIDRS: undefined }, 'config', 'Configuration error: EXTRA_CIDRS is required when OCM_ENABLED is false'],
    [
      'OCM without credentials',
      { OCM_ENABLED: undefined },
      'ocm-credentials-missing',
      'No OCM credentials configured: none of OCM_CREDENTIALS_PARAMETER, OCM_CLIENT_ID/OCM_CLIENT_SECRET or OCM_OFFLINE_TOKEN is set.',
    ],
    ['OCM_API_URL over plain http', { OCM_ENABLED: 'true', OCM_CREDENTIALS_PARAMETER: '/x', OCM_API_URL: 'http://api.example.com' }, 'ocm-config-invalid', 'OCM_API_URL must use https://'],
  ])('%s: a SyncError naming it, before any call', (_name, env, code, message) => {
    let err: unknown;
    try {
      runtime(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code });
    expect((err as Error).message.startsWith(message)).toBe(true);
    expect(iamMock.send.callCount).toBe(0);
  });

  test('uses the clients it is given, and names the sources the CLI needs in a refusal', async () => {
    const rt = runtime({ EXTRA_CIDRS: '192.0.2.0/28', AWS_LAMBDA_FUNCTION_NAME: 'sync-fn' });

    const result = await runSync({ dryRun: false }, rt);

    expect(result.status).toBe('refused');
    expect(iamMock.send.thisValues.every((client) => client === iam)).toBe(true);
    expect(snsMock.send.thisValues).toEqual([sns]);
    const body = snsMock.commandCalls(PublishCommand)[0].args[0].input.Message ?? '';
    expect(body).toContain(`node bin/allowlist-sync.js apply --source static:192.0.2.0/28 --target iam:${ARN} --approve ${result.planId}`);
    expect(body).toContain(`aws lambda invoke --function-name sync-fn --cli-binary-format raw-in-base64-out --payload '{"approve":"${result.planId}"}' /dev/stdout`);
  });

  test('the tuning reaches the IAM target: confirm delays ride out a stale GetPolicy', async () => {
    fakeIam.staleReadsAfterWrite = 2;
    const result = await runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: [...CURRENT, '20.1.0.0/16'].join(',') }, { confirmDelaysMs: [1, 1, 1] }));
    expect(result).toMatchObject({ status: 'updated', versionId: 'v2', previousVersionId: 'v1' });

    // With no delays to wait, the same stale read is (rightly) taken for another writer.
    fakeIam.staleReadsAfterWrite = 2;
    const err = await rejection(runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: [...CURRENT, '20.1.0.0/16', '20.2.0.0/16'].join(',') }, { confirmDelaysMs: [] })));
    expect(err.code).toBe('concurrent-writer');
  });

  test('the tuning reaches the OCM source (attempts, backoff), and SSM is read through the given client', async () => {
    const server = await FakeOcmServer.start({ clientId: 'svc-1', clientSecret: 'S3cr3t-client-xyz' });
    try {
      ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: JSON.stringify({ clientId: 'svc-1', clientSecret: 'S3cr3t-client-xyz' }) } });
      server.override('api', ocmError(503, 'CLUSTERS-MGMT-503', 'Service unavailable'));
      const env = { OCM_ENABLED: 'true', EXTRA_CIDRS: undefined, OCM_CREDENTIALS_PARAMETER: '/ocm', OCM_API_URL: server.apiUrl, OCM_TOKEN_URL: server.tokenUrl };

      const once = await rejection(runSync({ dryRun: false }, runtime(env, { ocmHttp: { attempts: 1 } })));
      expect(once.code).toBe('ocm-http');
      expect(server.requestsTo('api')).toHaveLength(1);

      const started = Date.now();
      await rejection(runSync({ dryRun: false }, runtime(env, { ocmHttp: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 } })));
      expect(server.requestsTo('api')).toHaveLength(5);
      // Sanity, not a timing assertion: production's backoff (0.5 s, 1 s, 2 s) would take seconds.
      expect(Date.now() - started).toBeLessThan(1500);
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/ocm', WithDecryption: true });
    } finally {
      await server.close();
    }
  });

  test('createHandler composes from the environment and clients it is given, once per container', async () => {
    const env = { POLICY_ARN: ARN, ALERT_TOPIC_ARN: TOPIC, ALLOWLIST_NAME: 'corp-vpn', OCM_ENABLED: 'false', EXTRA_CIDRS: CURRENT.join(','), POWERTOOLS_METRICS_NAMESPACE: 'Test' };
    const handler = createHandler({ env, clients: { iam, sns, ssm, state }, tuning: FAST });
    const context = { functionName: 'sync-fn', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Parameters<typeof handler>[1];

    await expect(handler({}, context)).resolves.toMatchObject({ status: 'unchanged' });
    await expect(handler({}, context)).resolves.toMatchObject({ status: 'unchanged' });

    expect(iamMock.send.callCount).toBeGreaterThan(0);
    expect(iamMock.send.thisValues.every((client) => client === iam)).toBe(true);
    // Not process.env: a handler built from its own environment reads nothing else.
    expect(process.env.POLICY_ARN).toBeUndefined();
  });
});

describe('runSync', () => {
  test('an update: result, metrics in order, an "updated" alert, the state stored', async () => {
    const desired = ['192.0.2.0/29', '198.51.100.7/32', '203.0.113.0/24', '2001:db8::/32', '2600:1f18::/48'];
    const rt = runtime({ EXTRA_CIDRS: desired.join(' ') });

    const result = await runSync({ dryRun: false }, rt);

    const document = serializePolicy(renderDenyPolicy(desired));
    expect(result).toEqual({
      status: 'updated',
      sources: [{ source: 'static:EXTRA_CIDRS', entries: 5, skipped: 0 }],
      planId: expect.stringMatching(/^[0-9a-f]{16}$/),
      added: ['192.0.2.0/29', '2600:1f18::/48'],
      removed: ['192.0.2.0/28'],
      addedAddresses: ['2600:1f18::/48'],
      removedAddresses: ['192.0.2.8/29'],
      entries: desired,
      policyArn: ARN,
      versionId: 'v2',
      previousVersionId: 'v1',
      reasons: [],
      approvable: false,
      dryRun: false,
    });
    expect(fakeIam.defaultDocument).toBe(document);
    const size = document.replace(/\s/g, '').length;
    expect(recordedMetrics()).toEqual([
      ['SyncDuration', 'Milliseconds', 'number'],
      ['SyncSucceeded', 'Count', 1],
      ['Refused', 'Count', 0],
      ['PolicyUpdated', 'Count', 1],
      ['EntriesAdded', 'Count', 2],
      ['EntriesRemoved', 'Count', 1],
      ['AllowlistEntries', 'Count', 5],
      ['PolicySizeChars', 'Count', size],
      ['PolicySizeHeadroom', 'Count', 6144 - size],
    ]);
    expect(events()).toEqual(['updated']);
    expect((await alertState())?.status).toBe('ok');
    // Tags are not the alert state any more: the protected policy is never tagged.
    expect(iamMock).not.toHaveReceivedCommand(TagPolicyCommand);
    expect(logged.find(([, m]) => m === 'sync finished')).toEqual([
      'info',
      'sync finished',
      { target: 'corp-vpn', status: 'updated', planId: result.planId, added: ['192.0.2.0/29', '2600:1f18::/48'], removed: ['192.0.2.0/28'], reasons: [], entries: 5 },
    ]);
  });

  test('unchanged: counted as a success with nothing added or removed; no alert, no write', async () => {
    const result = await runSync({ dryRun: false }, runtime());

    expect(result).toMatchObject({ status: 'unchanged', added: [], removed: [], entries: CURRENT });
    expect(result).not.toHaveProperty('versionId');
    expect(recordedMetrics().slice(1, 6)).toEqual([
      ['SyncSucceeded', 'Count', 1],
      ['Refused', 'Count', 0],
      ['PolicyUpdated', 'Count', 0],
      ['EntriesAdded', 'Count', 0],
      ['EntriesRemoved', 'Count', 0],
    ]);
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
    expect(events()).toEqual([]);
  });

  test('a dry run (from the request or from DRY_RUN): changes, counted as a success, nothing written or counted as written', async () => {
    const env = { EXTRA_CIDRS: [...CURRENT, '20.0.0.0/16'].join(',') };
    const fromRequest = await runSync({ dryRun: true }, runtime(env));
    const fromConfig = await runSync({ dryRun: false }, runtime({ ...env, DRY_RUN: 'yes' }));

    for (const result of [fromRequest, fromConfig]) expect(result).toMatchObject({ status: 'changes', added: ['20.0.0.0/16'], dryRun: true });
    expect(recorded.filter(([name]) => ['SyncSucceeded', 'PolicyUpdated', 'EntriesAdded'].includes(name)).map(([n, , v]) => [n, v])).toEqual([
      ['SyncSucceeded', 1],
      ['PolicyUpdated', 0],
      ['EntriesAdded', 0],
      ['SyncSucceeded', 1],
      ['PolicyUpdated', 0],
      ['EntriesAdded', 0],
    ]);
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });

  test('a refusal: returned (not thrown), Refused counted, approvable when every reason is', async () => {
    const result = await runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: '192.0.2.0/28' }));

    expect(result).toMatchObject({
      status: 'refused',
      removed: ['198.51.100.7/32', '203.0.113.0/24', '2001:db8::/32'],
      reasons: ['3 of 4 current entries would be removed (75%, 94% of the IPv4 addresses, 100% of the IPv6 addresses), more than the 30% allowed'],
      approvable: true,
    });
    expect(recordedMetrics().slice(1, 6)).toEqual([
      ['SyncSucceeded', 'Count', 0],
      ['Refused', 'Count', 1],
      ['PolicyUpdated', 'Count', 0],
      ['EntriesAdded', 'Count', 0],
      ['EntriesRemoved', 'Count', 0],
    ]);
    expect(events()).toEqual(['refused']);
    expect((await alertState())?.key).toBe(result.planId);
  });

  test('a refusal mixing approvable and hard reasons is not approvable', async () => {
    const result = await runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: '192.0.2.0/28,0.0.0.0/0' }));

    expect(result.status).toBe('refused');
    expect(result.reasons).toEqual([
      '0.0.0.0/0 allows every address: the policy would protect nothing',
      '1 of 4 current entries would be removed (25%, 100% of the IPv6 addresses), more than the 30% allowed',
      'the change would newly allow ~2^32.0 addresses of IPv4 (at most 65,536 addresses) in one step',
    ]);
    expect(result.approvable).toBe(false);
  });

  test('a failure: SyncDuration and SyncSucceeded 0 counted, a "failed" alert, the error rethrown as is', async () => {
    const boom = new SyncError('ocm-http', 'OCM GET https://api.openshift.com/... failed with HTTP 503.', 'Try later.');
    const failing: Source = { name: 'ocm', fetch: async () => Promise.reject(boom) };

    const err = await rejection(runSync({ dryRun: false }, { ...runtime(), sources: [failing] }));

    expect(err).toBe(boom);
    expect(recordedMetrics()).toEqual([
      ['SyncDuration', 'Milliseconds', 'number'],
      ['SyncSucceeded', 'Count', 0],
    ]);
    expect(events()).toEqual(['failed']);
    expect(logged.find(([, m]) => m === 'sync failed')).toEqual(['error', 'sync failed', { target: 'corp-vpn', code: 'ocm-http', error: boom.message }]);
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });

  test('a failure whose alert cannot be published: AlertPublishFailed counted, the original error thrown', async () => {
    snsMock.reset();
    snsMock.on(PublishCommand).rejects(new Error('getaddrinfo ENOTFOUND sns.eu-west-1.amazonaws.com'));
    const boom = new SyncError('ocm-http', 'OCM down.');

    const err = await rejection(runSync({ dryRun: false }, { ...runtime(), sources: [{ name: 'ocm', fetch: async () => Promise.reject(boom) }] }));

    expect(err).toBe(boom);
    expect(recordedMetrics()).toEqual([
      ['SyncDuration', 'Milliseconds', 'number'],
      ['SyncSucceeded', 'Count', 0],
      ['AlertPublishFailed', 'Count', 1],
    ]);
  });

  test('SNS failing after a write: the write stands, AlertPublishFailed counted, the alert error thrown', async () => {
    snsMock.reset();
    snsMock.on(PublishCommand).rejects(new Error('Rate exceeded'));

    const err = await rejection(runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: [...CURRENT, '20.0.0.0/16'].join(',') })));

    expect(err.code).toBe('alert-publish-failed');
    expect(err.message).toBe(
      `Could not publish the "updated" alert to ${TOPIC}: Rate exceeded. Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.`,
    );
    expect(fakeIam.defaultVersionId).toBe('v2');
    expect(iamMock).not.toHaveReceivedCommand(DeletePolicyVersionCommand);
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
    expect(recorded.map(([name]) => name)).toContain('PolicyUpdated');
    expect(recorded[recorded.length - 1]).toEqual(['AlertPublishFailed', 'Count', 1]);
    expect(logged.find(([level]) => level === 'error')).toEqual(['error', 'alert could not be published; the policy write (if any) stands', { target: 'corp-vpn', error: err.message, status: 'updated' }]);
  });

  test('the alert state comes with the record the sync loaded: one state read per run, and the dedupe holds across containers', async () => {
    const rt = runtime({ EXTRA_CIDRS: '192.0.2.0/28' });
    const first = await runSync({ dryRun: false }, rt);
    expect(events()).toEqual(['refused']);
    const loads = state.loads;

    const second = await runSync({ dryRun: false }, rt);
    const third = await runSync({ dryRun: false }, runtime({ EXTRA_CIDRS: '192.0.2.0/28' }));

    expect([second.planId, third.planId]).toEqual([first.planId, first.planId]);
    expect(events()).toEqual(['refused']);
    expect(state.loads - loads).toBe(2);
    expect(iamMock).not.toHaveReceivedCommand(ListPolicyTagsCommand);
  });

  test('a record handed over by one run is not used by a later run whose read failed', async () => {
    const rt = runtime({ EXTRA_CIDRS: '192.0.2.0/28' });
    await runSync({ dryRun: false }, rt);
    await state.update(ARN, { alert: null });
    fakeIam.failOn('GetPolicy', new Error('socket hang up'), 1);

    await rejection(runSync({ dryRun: false }, rt));

    // The state was read afresh (gone: no state), so the failure is told.
    expect(events()).toEqual(['refused', 'failed']);
  });

  test('no topic: alerts are off, the run is not affected', async () => {
    const result = await runSync({ dryRun: false }, runtime({ ALERT_TOPIC_ARN: undefined, EXTRA_CIDRS: '192.0.2.0/28' }));

    expect(result.status).toBe('refused');
    expect(snsMock.send.callCount).toBe(0);
    expect((await state.load(ARN)).alert).toBeUndefined();
  });
});
