/**
 * Opt-in integration suite: the Lambda handler with real AWS SDK clients against whatever AWS_ENDPOINT_URL
 * names (a sandbox account's endpoints or an AWS-compatible emulator), OCM played by the fake SSO+OCM server on
 * 127.0.0.1. It creates its own managed policy, SSM SecureString, SNS topic and DynamoDB state table under unique
 * names and deletes them in afterAll, also when a test failed.
 *
 *   AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
 *   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test npm run test:integ
 *
 * Without AWS_ENDPOINT_URL it skips, saying so. A real (sandbox) account has no single endpoint: set the
 * SDK's per-service variables, which win over AWS_ENDPOINT_URL, e.g. AWS_ENDPOINT_URL=https://iam.amazonaws.com
 * AWS_ENDPOINT_URL_SNS=https://sns.us-east-1.amazonaws.com AWS_ENDPOINT_URL_SSM=https://ssm.us-east-1.amazonaws.com.
 * There the caller needs iam:CreatePolicy,
 * iam:DeletePolicy and the sync's own IAM actions on policies named allowlist-sync-integ-*, ssm:PutParameter /
 * DeleteParameter / GetParameter, sns:CreateTopic / DeleteTopic / Publish, dynamodb:CreateTable / DeleteTable and
 * the item actions on tables named allowlist-sync-integ-* (AWS_ENDPOINT_URL_DYNAMODB). IAM is eventually consistent, so
 * reads of what the suite itself wrote are polled.
 *
 * The fleet case (issue 13) is test/integ/fleet.integ.ts.
 */
import { randomBytes } from 'node:crypto';
import {
  CreatePolicyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { dynamoStateStore } from '../../lambda/state/dynamodb-store';
import { decodePolicyDocument } from '../../lambda/targets/managed-policy';
import { FakeOcmServer, type FakeTrustedIp } from '../helpers/ocm-server';
import { eventually } from './eventually';

type HandlerModule = typeof import('../../lambda/handler');
type HandlerResult = import('../../lambda/run').HandlerResult;

const endpoint = process.env.AWS_ENDPOINT_URL?.trim();
const SKIP_MESSAGE = 'skipped: set AWS_ENDPOINT_URL to run the integration suite (e.g. an emulator at http://127.0.0.1:4566, or a sandbox account)';

if (!endpoint) {
  describe('handler integration', () => {
    test('skipped: AWS_ENDPOINT_URL is not set', () => {
      console.log(SKIP_MESSAGE);
      expect(endpoint).toBeUndefined();
    });
  });
}

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const NAME = `allowlist-sync-integ-${runId}`;
const PARAMETER = `/allowlist-sync-integ/${runId}/ocm`;
const CLIENT_ID = `svc-integ-${runId}`;
const CLIENT_SECRET = `integ-secret-${randomBytes(12).toString('hex')}`;

const item = (id: string): FakeTrustedIp => ({ kind: 'TrustedIp', id, enabled: true });
const HAND_MADE = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'HandMade', Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.10/32', '198.51.100.0/24'] } } }],
};


(endpoint ? describe : describe.skip)(`handler against ${endpoint ?? 'AWS_ENDPOINT_URL'}`, () => {
  const savedEnv = { ...process.env };
  const region = process.env.AWS_REGION?.trim() || process.env.AWS_DEFAULT_REGION?.trim() || 'us-east-1';
  const iam = new IAMClient({ region });
  const sns = new SNSClient({ region });
  const ssm = new SSMClient({ region });
  const dynamodb = new DynamoDBClient({ region });
  let tableCreated = false;
  let server: FakeOcmServer | undefined;
  let policyArn: string | undefined;
  let topicArn: string | undefined;
  let parameterCreated = false;
  let handler: HandlerModule['handler'];

  const invoke = (event: unknown = {}): Promise<HandlerResult> =>
    handler(event, {
      callbackWaitsForEmptyEventLoop: true,
      functionName: 'allowlist-sync-integ',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:allowlist-sync-integ',
      memoryLimitInMB: '256',
      awsRequestId: randomBytes(8).toString('hex'),
      logGroupName: '/aws/lambda/allowlist-sync-integ',
      logStreamName: 'integ',
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context) as Promise<HandlerResult>;

  async function defaultDocument(): Promise<{ versionId: string; document: string }> {
    const versionId = (await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.DefaultVersionId ?? '';
    const encoded = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }))).PolicyVersion?.Document ?? '';
    return { versionId, document: decodePolicyDocument(encoded) };
  }

  /** The alert state the function keeps for the policy in the state table. */
  async function alertState(): Promise<Record<string, string | undefined>> {
    const alert = (await dynamoStateStore(dynamodb, NAME).load(policyArn ?? '')).alert;
    return { status: alert?.status, key: alert?.key };
  }

  async function versionIds(): Promise<string[]> {
    const out = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn }));
    return (out.Versions ?? []).map((v) => v.VersionId ?? '').sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  beforeAll(async () => {
    server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, items: [item('192.0.2.10'), item('198.51.100.0/24'), item('2001:db8::/48')] });
    await dynamodb.send(
      new CreateTableCommand({
        TableName: NAME,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    tableCreated = true;
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 60 }, { TableName: NAME });
    const policy = await iam.send(
      new CreatePolicyCommand({ PolicyName: NAME, PolicyDocument: JSON.stringify(HAND_MADE, null, 2), Description: 'allowlist-sync integration test; safe to delete' }),
    );
    policyArn = policy.Policy?.Arn;
    topicArn = (await sns.send(new CreateTopicCommand({ Name: NAME }))).TopicArn;
    await ssm.send(new PutParameterCommand({ Name: PARAMETER, Type: 'SecureString', Value: JSON.stringify({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }) }));
    parameterCreated = true;
    await eventually(() => iam.send(new GetPolicyCommand({ PolicyArn: policyArn })));

    Object.assign(process.env, {
      AWS_REGION: region,
      POLICY_ARN: policyArn,
      ALERT_TOPIC_ARN: topicArn,
      STATE_TABLE: NAME,
      ALLOWLIST_NAME: NAME,
      OCM_CREDENTIALS_PARAMETER: PARAMETER,
      OCM_API_URL: server.apiUrl,
      OCM_TOKEN_URL: server.tokenUrl,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    jest.isolateModules(() => {
      handler = jest.requireActual<HandlerModule>('../../lambda/handler').handler;
    });
  });

  afterAll(async () => {
    const steps: [string, () => Promise<unknown>][] = [];
    if (policyArn) {
      const arn = policyArn;
      steps.push([
        `policy ${arn}`,
        async () => {
          const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
          for (const v of versions) if (!v.IsDefaultVersion) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v.VersionId }));
          await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
        },
      ]);
    }
    if (topicArn) steps.push([`topic ${topicArn}`, () => sns.send(new DeleteTopicCommand({ TopicArn: topicArn }))]);
    if (parameterCreated) steps.push([`parameter ${PARAMETER}`, () => ssm.send(new DeleteParameterCommand({ Name: PARAMETER }))]);
    if (tableCreated) steps.push([`table ${NAME}`, () => dynamodb.send(new DeleteTableCommand({ TableName: NAME }))]);
    const results = await Promise.allSettled(steps.map(([, run]) => run()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') console.error(`cleanup of ${steps[i][0]} failed; delete it by hand: ${String(r.reason)}`);
    });
    await server?.close();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    iam.destroy();
    sns.destroy();
    ssm.destroy();
    dynamodb.destroy();
  });

  test('adopts the hand-made policy: a new default version, the alert state stored in the state table', async () => {
    const result = await invoke();

    expect(result).toMatchObject({
      status: 'updated',
      added: ['2001:db8::/48'],
      removed: [],
      entries: ['192.0.2.10/32', '198.51.100.0/24', '2001:db8::/48'],
      policyArn,
      versionId: 'v2',
      previousVersionId: 'v1',
      reasons: [],
    });
    await eventually(async () => expect(await defaultDocument()).toEqual({ versionId: 'v2', document: serializePolicy(renderDenyPolicy(result.entries)) }));
    await eventually(async () => expect((await alertState()).status).toBe('ok'));
  });

  test('runs again without writing anything', async () => {
    const result = await invoke();

    expect(result.status).toBe('unchanged');
    expect(await versionIds()).toEqual(['v1', 'v2']);
  });

  test('a dry run plans an OCM change without writing it', async () => {
    server?.items.push(item('203.0.113.0/28'));

    const result = await invoke({ dryRun: true });

    expect(result).toMatchObject({ status: 'changes', added: ['203.0.113.0/28'], removed: [], dryRun: true });
    expect(await versionIds()).toEqual(['v1', 'v2']);
  });

  test('follows OCM changes, keeping at most four versions (the next create always has a free slot)', async () => {
    const added: string[] = [];
    for (let i = 0; i < 5; i++) {
      const block = `203.0.113.${32 * (i + 1)}/28`;
      server?.items.push(item(block));
      added.push(block);
      const result = await invoke();
      expect(result).toMatchObject({ status: 'updated', added: i === 0 ? ['203.0.113.0/28', block].sort() : [block], removed: [] });
      expect(result.versionId).toBe(`v${3 + i}`);
      await eventually(async () => expect((await defaultDocument()).versionId).toBe(result.versionId));
    }
    const versions = await versionIds();
    expect(versions).toEqual(['v4', 'v5', 'v6', 'v7']);
  });

  test('refuses an empty OCM list: nothing written, the refusal stored in the state table', async () => {
    const before = await defaultDocument();
    if (server) server.items = [];

    const result = await invoke();

    expect(result.status).toBe('refused');
    expect(result.reasons[0]).toBe('the allowlist is empty: writing it would deny every request');
    expect(await defaultDocument()).toEqual(before);
    await eventually(async () => expect(await alertState()).toEqual({ status: 'refused', key: result.planId }));
  });
});
