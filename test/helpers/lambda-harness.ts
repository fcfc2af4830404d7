/**
 * The Lambda container harness: real SDK clients built by the handler (their `send` is aws-sdk-client-mock), IAM
 * played by FakeIam, the real OCM source against the fake SSO+OCM server on 127.0.0.1, the state table on a real
 * DynamoDB (dynalite on 127.0.0.1), real Powertools Logger and Metrics whose output is captured from stdout/stderr.
 *
 * The handler keeps its runtime in module scope, so a "cold start" is `jest.resetModules()` and a fresh require of
 * lambda/handler (and everything it imports) with a new environment. The SDK packages the function uses (IAM, SNS, SSM, and a fleet's STS and CloudFormation) are pinned to the copies
 * mocked here (`jest.doMock`), so the mocks see the clients every container builds. Retries are shortened through
 * createHandler's `tuning` (lambda/handler.ts). After every test, no secret may be found in any output.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import * as cfnSdk from '@aws-sdk/client-cloudformation';
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import * as ssmSdk from '@aws-sdk/client-ssm';
import * as stsSdk from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import * as powertoolsLogger from '@aws-lambda-powertools/logger';
import * as powertoolsMetrics from '@aws-lambda-powertools/metrics';
import * as ipaddr from 'ipaddr.js';
import { renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { dynamoStateStore } from '../../lambda/state/dynamodb-store';
import { LocalDynamo } from './dynamodb';
import { FakeIam } from './fake-iam';
import { FakeOcmServer, type FakeTrustedIp } from './ocm-server';

type HandlerModule = typeof import('../../lambda/handler');
export type HandlerResult = import('../../lambda/run').HandlerResult;
type OcmHttpSettings = import('../../lambda/sources/ocm-http').OcmHttpSettings;

export const iamMock = mockClient(iamSdk.IAMClient);
export const snsMock = mockClient(snsSdk.SNSClient);
export const ssmMock = mockClient(ssmSdk.SSMClient);
/** A fleet's: AssumeRole into each account, ListStackInstances (test/helpers/fake-fleet.ts plays them). */
export const stsMock = mockClient(stsSdk.STSClient);
export const cfnMock = mockClient(cfnSdk.CloudFormationClient);

export const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
export const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
export const PARAMETER = '/allowlist-sync/ocm';
export const CLIENT_ID = 'svc-allowlist-4f1c';
export const CLIENT_SECRET = 'S3cr3t-client-ZQ8xv3Lm9Pw2';
export const NAMESPACE = 'AllowlistSyncTest';
export const SERVICE = 'rosa-trusted-ips';
export const FUNCTION = 'allowlist-sync-fn';
/** What EventBridge Scheduler sends (anything without dryRun/approve syncs). */
export const SCHEDULED = { source: 'aws.scheduler', 'detail-type': 'Scheduled Event' };

/** A policy written by hand before allowlist-sync existed: its deny-unless-SourceIp statement is adopted. */
export const HAND_MADE = JSON.stringify(
  {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyOutsideRedHat',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.10/32', '198.51.100.0/24'] } },
      },
    ],
  },
  null,
  2,
);

export const item = (id: string, enabled = true): FakeTrustedIp => ({ kind: 'TrustedIp', id, enabled });
/** The OCM list that matches HAND_MADE plus one IPv6 block (and a disabled item that must be skipped). */
export const OCM_ITEMS = [item('192.0.2.10'), item('198.51.100.0/24'), item('2001:db8::/48'), item('203.0.113.7', false)];
export const SYNCED_ENTRIES = ['192.0.2.10/32', '198.51.100.0/24', '2001:db8::/48'];
export const SYNCED_DOC = serializePolicy(renderDenyPolicy(SYNCED_ENTRIES));

export const METRIC_NAMES = [
  'SyncSucceeded',
  'PolicyUpdated',
  'Refused',
  'EntriesAdded',
  'EntriesRemoved',
  'AllowlistEntries',
  'PolicySizeChars',
  'PolicySizeHeadroom',
  'SyncDuration',
];

// ---------------------------------------------------------------------------------------------------------
// Environment, output capture, containers

const savedEnv = { ...process.env };

export function setEnv(env: Record<string, string | undefined>): void {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  // Anything the developer's shell may hold that changes the function's behaviour.
  for (const key of Object.keys(process.env)) {
    if (/^(OCM_|POWERTOOLS_|AWS_|DRY_RUN$|MIN_ENTRIES$|MAX_REMOVAL_FRACTION$|BROADEST_|EXTRA_CIDRS$|ALLOWLIST_NAME$|POLICY_ARN$|ALERT_TOPIC_ARN$|VIA_AWS|KMS_VIA)/.test(key)) {
      delete process.env[key];
    }
  }
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** Every JSON line the function wrote to stdout/stderr (Powertools logs and EMF), and the rest untouched. */
export class Output {
  readonly lines: string[] = [];
  private readonly spies: jest.SpyInstance[] = [];

  start(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      const spy = jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        if (!text.trimStart().startsWith('{')) return original(chunk, ...rest);
        this.lines.push(...text.split('\n').filter((l) => l.trim() !== ''));
        return true;
      }) as typeof stream.write);
      this.spies.push(spy);
    }
  }

  stop(): void {
    for (const spy of this.spies.splice(0)) spy.mockRestore();
  }

  get text(): string {
    return this.lines.join('\n');
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Powertools Logger lines. */
  logs(): Record<string, unknown>[] {
    return this.records().filter((r) => !('_aws' in r));
  }

  /** EMF blobs (Powertools Metrics), the ColdStart one left out. */
  emf(): EmfBlob[] {
    return this.records()
      .filter((r): r is EmfBlob => '_aws' in r)
      .filter((r) => !r._aws.CloudWatchMetrics[0].Metrics.some((m) => m.Name === 'ColdStart'));
  }

  /** Values of one metric across all blobs, in order. */
  metric(name: string): unknown[] {
    return this.emf()
      .filter((b) => name in b)
      .map((b) => b[name]);
  }
}

export interface EmfBlob {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

let requestCount = 0;
/** A Lambda context with `remainingMs` left before the function's timeout (60 s by default). */
export function lambdaContext(remainingMs = 60_000): Context {
  requestCount++;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: FUNCTION,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${FUNCTION}`,
    memoryLimitInMB: '256',
    awsRequestId: `0a1b2c3d-0000-4000-8000-${String(requestCount).padStart(12, '0')}`,
    logGroupName: `/aws/lambda/${FUNCTION}`,
    logStreamName: '2024/05/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One Lambda execution environment: a fresh module registry with its own env. */
export interface Container {
  /** Invokes the handler; `remainingMs` is what the context says is left of the function's timeout. */
  invoke(event?: unknown, remainingMs?: number): Promise<HandlerResult>;
  /** Invokes and returns what it threw (fails if it did not). */
  fail(event?: unknown, remainingMs?: number): Promise<Error>;
}

export let server: FakeOcmServer;
export let fakeIam: FakeIam;
/** The state table: a real DynamoDB (dynalite on 127.0.0.1), shared by every simulated container, as in AWS. */
export let dynamo: LocalDynamo;
export let out: Output;
/** Every error an invocation threw in this test (checked for secrets). */
export let thrown: Error[];

export function baseEnv(): Record<string, string> {
  return {
    POLICY_ARN: ARN,
    ALERT_TOPIC_ARN: TOPIC,
    ALLOWLIST_NAME: SERVICE,
    POWERTOOLS_SERVICE_NAME: SERVICE,
    POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    OCM_CREDENTIALS_PARAMETER: PARAMETER,
    OCM_API_URL: server.apiUrl,
    OCM_TOKEN_URL: server.tokenUrl,
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    // The optional AWS policy checks have their own tests (test/targets/policy-checks.test.ts, test/policy-checks-run.test.ts);
    // here they would ask the real Access Analyzer, which an offline test must never do.
    POLICY_CHECKS: 'off',
    ...dynamo.env(),
  };
}

/** A cold start with `env` on top of the base environment (undefined unsets a variable). */
export function coldStart(env: Record<string, string | undefined> = {}, ocmHttp: Partial<OcmHttpSettings> = {}): Container {
  jest.resetModules();
  setEnv({ ...baseEnv(), ...env });
  // Tests through the handler pass no clients (the SDK is mocked), only shorter waits and backoff.
  const { createHandler } = jest.requireActual<HandlerModule>('../../lambda/handler');
  const handler = createHandler({ tuning: { ocmHttp: { baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 2, ...ocmHttp }, confirmDelaysMs: [1, 1, 1], leaseWaitsMs: [1, 1] } });
  const invoke = (event: unknown = SCHEDULED, remainingMs?: number) => handler(event, lambdaContext(remainingMs)) as Promise<HandlerResult>;
  return {
    invoke,
    async fail(event: unknown = SCHEDULED, remainingMs?: number) {
      try {
        await invoke(event, remainingMs);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        thrown.push(err as Error);
        return err as Error;
      }
      throw new Error('expected the invocation to throw');
    },
  };
}

export function ssmHolds(value: string): void {
  ssmMock.reset();
  ssmMock.on(ssmSdk.GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: value, Version: 1 } });
}

/** The alerts published so far: [event attribute, subject, body]. */
export function alerts(): { event: string | undefined; subject: string; body: string; topic: string }[] {
  return snsMock.commandCalls(snsSdk.PublishCommand).map((c) => ({
    event: c.args[0].input.MessageAttributes?.event?.StringValue,
    subject: c.args[0].input.Subject ?? '',
    body: c.args[0].input.Message ?? '',
    topic: c.args[0].input.TopicArn ?? '',
  }));
}

export const alertEvents = (): (string | undefined)[] => alerts().map((a) => a.event);

/** The alert state the function keeps in the state table for the policy (or, `deployment`, for a configuration error). */
export async function alertState(key: string = ARN): Promise<Record<string, string | undefined>> {
  const client = dynamo.client();
  try {
    const alert = (await dynamoStateStore(client, dynamo.table).load(key)).alert;
    return { status: alert?.status, key: alert?.key };
  } finally {
    client.destroy();
  }
}

export function expectNoVersionWrites(): void {
  expect(iamMock).not.toHaveReceivedCommand(iamSdk.CreatePolicyVersionCommand);
  expect(iamMock).not.toHaveReceivedCommand(iamSdk.DeletePolicyVersionCommand);
  expect(iamMock).not.toHaveReceivedCommand(iamSdk.SetDefaultPolicyVersionCommand);
}

/** Registers the harness's hooks: call once at the top of a test file. */
export function installLambdaHarness(): void {
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    // Every container's require of these packages gets the copies mocked above.
    jest.doMock('@aws-sdk/client-iam', () => iamSdk);
    jest.doMock('@aws-sdk/client-sns', () => snsSdk);
    jest.doMock('@aws-sdk/client-ssm', () => ssmSdk);
    jest.doMock('@aws-sdk/client-sts', () => stsSdk);
    jest.doMock('@aws-sdk/client-cloudformation', () => cfnSdk);
    // Libraries whose state lives in the objects the function creates (its keep-alive agents are in
    // lambda/sources/http-transport, Logger and Metrics in lambda/handler, all loaded afresh by every container):
    // sharing them only saves loading them again for each cold start.
    jest.doMock('@aws-lambda-powertools/logger', () => powertoolsLogger);
    jest.doMock('@aws-lambda-powertools/metrics', () => powertoolsMetrics);
    jest.doMock('ipaddr.js', () => ipaddr);
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  beforeEach(async () => {
    await dynamo.reset();
    server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, items: OCM_ITEMS });
    fakeIam = new FakeIam({ arn: ARN, document: HAND_MADE, tags: { team: 'sre' } });
    iamMock.reset();
    snsMock.reset();
    stsMock.reset();
    cfnMock.reset();
    fakeIam.install(iamMock);
    snsMock.on(snsSdk.PublishCommand).callsFake(() => ({ MessageId: randomUUID() }));
    ssmHolds(JSON.stringify({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }));
    thrown = [];
    out = new Output();
    out.start();
  });

  afterEach(async () => {
    out.stop();
    const secrets = [CLIENT_SECRET, Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'), ...server.issuedTokens];
    const seen = [out.text, ...thrown.map((e) => `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e)}`), JSON.stringify(alerts()), JSON.stringify(await tableItems())];
    // Closed before asserting: a failed assertion must not leave the server listening (jest would never exit).
    await server.close();
    setEnv({});
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    // No secret reaches a log line, an EMF blob, an error, an alert or the state table, whatever the test did.
    for (const secret of secrets) for (const text of seen) expect(text).not.toContain(secret);
  });
}

/** Replaces the fake IAM (a test that needs a policy with another history). */
export function useIam(fake: FakeIam): void {
  fakeIam = fake;
  iamMock.reset();
  fakeIam.install(iamMock);
}

/** Every item of the state table (checked for secrets). */
export async function tableItems(): Promise<unknown[]> {
  const client = dynamo.client();
  try {
    return (await client.send(new ScanCommand({ TableName: dynamo.table }))).Items ?? [];
  } finally {
    client.destroy();
  }
}

