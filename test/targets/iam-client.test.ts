import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreatePolicyVersionCommand,
  GetPolicyCommand,
  IAMClient,
  IAMClientConfig,
  IAMServiceException,
  LimitExceededException,
  PutRolePolicyCommand,
  TagPolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { loadSdkSettings } from '../../lambda/config';
import { SyncError } from '../../lambda/errors';
import { createIamClient, iamFailure, isAwsError, isIamQuotaError } from '../../lambda/targets/iam-client';

// The real IAMClient against a real local server speaking IAM's Query-API XML: what is counted is what the SDK
// actually sent, retries included.

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const ROLE = 'ManagedOpenShift-Support-Role';
const DOC = '{"Version":"2012-10-17","Statement":[]}';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };

/** One answer of the stand-in: an IAM error, or a GetPolicy result. */
type Answer = { status: number; code: string; message: string } | 'policy';

const QUOTA = (message: string): Answer => ({ status: 409, code: 'LimitExceeded', message });
const RATE_EXCEEDED: Answer = { status: 409, code: 'LimitExceeded', message: 'Rate exceeded' };
const THROTTLING: Answer = { status: 400, code: 'Throttling', message: 'Rate exceeded' };

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-err</RequestId></ErrorResponse>`;
}

const POLICY_XML = `<GetPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetPolicyResult><Policy>
<PolicyName>rosa-trusted-ips</PolicyName><DefaultVersionId>v3</DefaultVersionId><PolicyId>ANPAEXAMPLE</PolicyId><Path>/</Path>
<Arn>${ARN}</Arn><AttachmentCount>1</AttachmentCount><CreateDate>2024-01-01T00:00:00Z</CreateDate><UpdateDate>2024-01-03T00:00:00Z</UpdateDate>
</Policy></GetPolicyResult><ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></GetPolicyResponse>`;

/** A stand-in answering the n-th request with answers[n] (the last one repeats), recording each Action. */
interface StandIn {
  actions: string[];
  client(overrides?: IAMClientConfig): IAMClient;
}

const servers: Server[] = [];
const clients: IAMClient[] = [];

async function standIn(...answers: Answer[]): Promise<StandIn> {
  const actions: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      actions.push(new URLSearchParams(body).get('Action') ?? '?');
      const answer = answers[Math.min(actions.length, answers.length) - 1];
      if (answer === 'policy') {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(POLICY_XML);
      } else {
        res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(errorXml(answer.code, answer.message));
      }
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    actions,
    client(overrides = {}) {
      const client = createIamClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, ...overrides }, loadSdkSettings(process.env));
      clients.push(client);
      return client;
    },
  };
}

/** Fails the test if the promise resolves; returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The SDK's supported way to choose attempts and backoff: 3 attempts, no wait (adaptive waits seconds). */
const fastRetries = (): IAMClientConfig => ({ retryStrategy: new ConfiguredRetryStrategy(3, 0) });

const saved = { ...process.env };
beforeEach(() => {
  // Nothing from the host's AWS configuration (AWS_MAX_ATTEMPTS, a profile's retry_mode...) may change the counts.
  const dir = mkdtempSync(join(tmpdir(), 'allowlist-sync-'));
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
});
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
  // Restored in place: process.env is a special object and must stay one.
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

const VERSIONS = 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.';
const POLICY_SIZE = 'Cannot exceed quota for PolicySize: 6144';
const TRUST_SIZE = 'Cannot exceed quota for ACLSizePerRole: 2048';
const TAGS = 'The number of tags has reached the maximum limit.';
const TAGS_PER_POLICY = 'Cannot exceed quota for TagsPerPolicy: 50';
const INLINE_TOTAL = `Maximum policy size of 10240 bytes exceeded for role ${ROLE}`;

describe('createIamClient: IAM quota errors are not retried', () => {
  const createVersion = (iam: IAMClient) => iam.send(new CreatePolicyVersionCommand({ PolicyArn: ARN, PolicyDocument: DOC, SetAsDefault: true }));
  const tagPolicy = (iam: IAMClient) => iam.send(new TagPolicyCommand({ PolicyArn: ARN, Tags: [{ Key: 'k', Value: 'v' }] }));
  const cases: [string, string, (iam: IAMClient) => Promise<unknown>][] = [
    ['policy versions', VERSIONS, createVersion],
    ['managed policy size', POLICY_SIZE, createVersion],
    ['trust policy size', TRUST_SIZE, (iam) => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: ROLE, PolicyDocument: DOC }))],
    ['tag count', TAGS, tagPolicy],
    ['tags per policy', TAGS_PER_POLICY, tagPolicy],
    ['role inline total', INLINE_TOTAL, (iam) => iam.send(new PutRolePolicyCommand({ RoleName: ROLE, PolicyName: 'trusted-ips', PolicyDocument: DOC }))],
  ];

  test.each(cases)('%s: one request with the default client (adaptive, 6 attempts), IAM error unchanged', async (_name, message, call) => {
    const iam = await standIn(QUOTA(message));

    const err = await rejection(call(iam.client()));

    expect(iam.actions).toHaveLength(1);
    expect(err).toBeInstanceOf(LimitExceededException);
    expect(err).toMatchObject({ name: 'LimitExceededException', message, $metadata: { httpStatusCode: 409, attempts: 1 } });
    expect(isAwsError(err, 'LimitExceeded')).toBe(true);
    expect(isIamQuotaError(err)).toBe(true);
  });

  test('one request also under a caller-supplied strategy, and under AWS_RETRY_MODE / AWS_MAX_ATTEMPTS', async () => {
    const iam = await standIn(QUOTA(POLICY_SIZE));
    await rejection(iam.client(fastRetries()).send(new GetPolicyCommand({ PolicyArn: ARN })));
    expect(iam.actions).toHaveLength(1);

    process.env.AWS_RETRY_MODE = 'standard';
    process.env.AWS_MAX_ATTEMPTS = '4';
    const fromEnv = iam.client();
    // The environment still wins: the wrapped strategy is the SDK's standard one, with 4 attempts.
    expect(((await fromEnv.config.retryStrategy()) as { mode?: string }).mode).toBe('standard');
    expect(await fromEnv.config.maxAttempts()).toBe(4);
    await rejection(fromEnv.send(new GetPolicyCommand({ PolicyArn: ARN })));
    expect(iam.actions).toHaveLength(2);
  });

  test('the default client keeps its documented configuration: adaptive, 6 attempts', async () => {
    const client = (await standIn('policy')).client();
    expect(((await client.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(await client.config.maxAttempts()).toBe(6);
  });

  test('extensions passed in overrides still run', async () => {
    const configured: string[] = [];
    const iam = await standIn('policy');
    const client = iam.client({ extensions: [{ configure: () => void configured.push('caller') }] });
    await client.send(new GetPolicyCommand({ PolicyArn: ARN }));
    expect(configured).toEqual(['caller']);
  });
});

describe('createIamClient: real throttling is still retried', () => {
  test.each([
    ['LimitExceeded saying "Rate exceeded"', RATE_EXCEEDED, 'LimitExceededException'],
    ['Throttling', THROTTLING, 'Throttling'],
    ['ThrottlingException', { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' } as Answer, 'ThrottlingException'],
    ['RequestLimitExceeded', { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' } as Answer, 'RequestLimitExceeded'],
  ])('%s: every attempt is used, then the error reaches the caller', async (_name, answer, name) => {
    const iam = await standIn(answer);

    const err = await rejection(iam.client(fastRetries()).send(new GetPolicyCommand({ PolicyArn: ARN })));

    expect(iam.actions).toEqual(['GetPolicy', 'GetPolicy', 'GetPolicy']);
    expect(err).toMatchObject({ name, $metadata: { attempts: 3 } });
    expect(isIamQuotaError(err)).toBe(false);
  });

  test('a throttle then success: the call succeeds on the retry', async () => {
    const iam = await standIn(THROTTLING, RATE_EXCEEDED, 'policy');

    const answer = await iam.client(fastRetries()).send(new GetPolicyCommand({ PolicyArn: ARN }));

    expect(iam.actions).toHaveLength(3);
    expect(answer.Policy?.DefaultVersionId).toBe('v3');
    expect(answer.$metadata.attempts).toBe(3);
  });
});

describe('isIamQuotaError and iamFailure', () => {
  const limit = (message: string) => new LimitExceededException({ message, $metadata: {} });

  test.each([VERSIONS, POLICY_SIZE, TRUST_SIZE, TAGS, TAGS_PER_POLICY, INLINE_TOTAL, 'Cannot exceed quota for PoliciesPerRole: 10'])('quota: %s', (message) => {
    expect(isIamQuotaError(limit(message))).toBe(true);
    // Unmodelled spelling of the same error (the wire code only).
    expect(isIamQuotaError(Object.assign(new Error(message), { Code: 'LimitExceeded' }))).toBe(true);
  });

  test.each(['Rate exceeded', 'rate exceeded for this account', 'Throttling: too many requests'])('not a quota: LimitExceeded saying %j', (message) => {
    expect(isIamQuotaError(limit(message))).toBe(false);
  });

  test('not a quota: other errors, throttling included', () => {
    const throttled = new IAMServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: {} });
    expect(isIamQuotaError(throttled)).toBe(false);
    expect(isIamQuotaError(new Error(POLICY_SIZE))).toBe(false);
    expect(isIamQuotaError(undefined)).toBe(false);
  });

  test('iamFailure: a rate-limit LimitExceeded that outlasted the retries reads as throttling', () => {
    const failure = iamFailure(limit('Rate exceeded'), 'iam:GetPolicy', ARN);
    expect(failure).toBeInstanceOf(SyncError);
    expect(failure).toMatchObject({ code: 'iam-throttled', message: expect.stringContaining(`IAM kept throttling iam:GetPolicy on ${ARN} after several retries: Rate exceeded.`) });
    expect(iamFailure(limit(POLICY_SIZE), 'iam:GetPolicy', ARN)).toMatchObject({ code: 'iam-error', message: `iam:GetPolicy on ${ARN} failed: LimitExceeded: ${POLICY_SIZE}.` });
  });
});
