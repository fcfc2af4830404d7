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
 * The fleet case (issue 13) needs an endpoint with StackSets and several accounts: the suite reaches a member
 * account (FLEET_MEMBER_ACCOUNT, default 210987654321) through the role Organizations creates there
 * (FLEET_MEMBER_ROLE, default OrganizationAccountAccessRole), gives it the spoke role and the policy, makes a
 * self-managed StackSet with an instance there, and the function keeps that account's policy through the spoke role
 * it assumes. It skips, saying why, when the endpoint has no StackSets or cannot reach the member account.
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
import {
  CloudFormationClient,
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  DeleteStackInstancesCommand,
  DeleteStackSetCommand,
  ListStackInstancesCommand,
  ListStackSetsCommand,
} from '@aws-sdk/client-cloudformation';
import { CreateRoleCommand, DeleteRoleCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { PLACEHOLDER_POLICY_DOCUMENT } from '../../lambda/allowlist/placeholder';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { dynamoStateStore } from '../../lambda/state/dynamodb-store';
import { decodePolicyDocument } from '../../lambda/targets/managed-policy';
import { FakeOcmServer, type FakeTrustedIp } from '../helpers/ocm-server';

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

/** Polls `check` until it stops throwing (IAM's eventual consistency on a real account). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

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

(endpoint ? describe : describe.skip)(`a fleet against ${endpoint ?? 'AWS_ENDPOINT_URL'}`, () => {
  const savedEnv = { ...process.env };
  const region = process.env.AWS_REGION?.trim() || process.env.AWS_DEFAULT_REGION?.trim() || 'us-east-1';
  const member = process.env.FLEET_MEMBER_ACCOUNT?.trim() || '210987654321';
  const stackSet = `allowlist-sync-integ-${runId}`.replace(/[^A-Za-z0-9-]/g, '-');
  const roleName = `allowlist-sync-integ-spoke-${runId}`.slice(0, 64);
  const policyName = `allowlist-sync-integ-fleet-${runId}`;
  const cfn = new CloudFormationClient({ region });
  const sts = new STSClient({ region });
  const memberRole = process.env.FLEET_MEMBER_ROLE?.trim() || 'OrganizationAccountAccessRole';
  // The member account, through the role Organizations gives the management account there.
  let memberIam = new IAMClient({ region });
  let skip: string | undefined;
  let created = { stackSet: false, instance: false, role: false, policy: false };
  let server: FakeOcmServer | undefined;
  let handler: HandlerModule['handler'];
  const policyArn = `arn:aws:iam::${member}:policy/${policyName}`;

  const invoke = (): Promise<{ status: string; targets: { target: string; status: string }[] }> =>
    handler({}, { functionName: 'allowlist-sync-integ', awsRequestId: randomBytes(8).toString('hex'), getRemainingTimeInMillis: () => 60_000 } as Context) as unknown as Promise<{ status: string; targets: { target: string; status: string }[] }>;

  beforeAll(async () => {
    try {
      await cfn.send(new ListStackSetsCommand({}));
    } catch (err) {
      skip = `the endpoint has no StackSets (${String(err)})`;
      return;
    }
    const hub = (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '000000000000';
    try {
      const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member}:role/${memberRole}`, RoleSessionName: 'allowlist-sync-integ' }))).Credentials;
      memberIam.destroy();
      memberIam = new IAMClient({ region, credentials: { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' } });
    } catch (err) {
      skip = `the suite cannot reach account ${member} through ${memberRole} (${String(err)})`;
      return;
    }
    try {
      await cfn.send(
        new CreateStackSetCommand({
          StackSetName: stackSet,
          PermissionModel: 'SELF_MANAGED',
          TemplateBody: JSON.stringify({ Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } }),
        }),
      );
      created.stackSet = true;
      await cfn.send(new CreateStackInstancesCommand({ StackSetName: stackSet, Accounts: [member], Regions: [region] }));
      created.instance = true;
      await eventually(async () => {
        const summaries = (await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSet }))).Summaries ?? [];
        expect(summaries.some((i) => i.Account === member && i.Status === 'CURRENT')).toBe(true);
      }, 60_000);
    } catch (err) {
      skip = `the endpoint cannot give StackSet ${stackSet} a CURRENT instance in account ${member} (${String(err)})`;
      return;
    }
    await memberIam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${hub}:root` }, Action: 'sts:AssumeRole' }] }),
      }),
    );
    created.role = true;
    await memberIam.send(new CreatePolicyCommand({ PolicyName: policyName, PolicyDocument: JSON.stringify(PLACEHOLDER_POLICY_DOCUMENT) }));
    created.policy = true;
    server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, items: [item('192.0.2.10'), item('198.51.100.0/24')] });
    Object.assign(process.env, {
      AWS_REGION: region,
      ALLOWLIST_TARGETS: JSON.stringify([{ name: 'fleet', kind: 'managed-policy', policyName, accounts: `stackset:${stackSet}`, assumeRoleName: roleName, sources: ['ocm'] }]),
      OCM_CLIENT_ID: CLIENT_ID,
      OCM_CLIENT_SECRET: CLIENT_SECRET,
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
    if (created.policy) {
      steps.push([
        `policy ${policyArn}`,
        async () => {
          const versions = (await memberIam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn }))).Versions ?? [];
          for (const v of versions) if (!v.IsDefaultVersion) await memberIam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: v.VersionId }));
          await memberIam.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
        },
      ]);
    }
    if (created.role) steps.push([`role ${roleName} in ${member}`, () => memberIam.send(new DeleteRoleCommand({ RoleName: roleName }))]);
    if (created.stackSet) {
      steps.push([
        `StackSet ${stackSet}`,
        async () => {
          if (created.instance) {
            await cfn.send(new DeleteStackInstancesCommand({ StackSetName: stackSet, Accounts: [member], Regions: [region], RetainStacks: false }));
            await eventually(async () => expect((await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSet }))).Summaries ?? []).toEqual([]), 60_000);
          }
          await cfn.send(new DeleteStackSetCommand({ StackSetName: stackSet }));
        },
      ]);
    }
    const results = await Promise.allSettled(steps.map(([, run]) => run()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') console.error(`cleanup of ${steps[i][0]} failed; delete it by hand: ${String(r.reason)}`);
    });
    await server?.close();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    created = { stackSet: false, instance: false, role: false, policy: false };
    cfn.destroy();
    sts.destroy();
    memberIam.destroy();
  });

  test('the member account found through the StackSet is synced through the spoke role, then left unchanged', async () => {
    if (skip) {
      console.log(`fleet case skipped: ${skip}`);
      return;
    }
    const first = await invoke();
    expect(first.targets).toEqual([expect.objectContaining({ target: `fleet/${member}`, status: 'updated' })]);
    await eventually(async () => {
      const versionId = (await memberIam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy?.DefaultVersionId ?? '';
      const document = (await memberIam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }))).PolicyVersion?.Document ?? '';
      expect(decodePolicyDocument(document)).toBe(serializePolicy(renderDenyPolicy(['192.0.2.10/32', '198.51.100.0/24'])));
    });
    const second = await invoke();
    expect(second.targets).toEqual([expect.objectContaining({ target: `fleet/${member}`, status: 'unchanged' })]);
  });
});
