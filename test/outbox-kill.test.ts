/**
 * Nothing unannounced, proved with a real kill: the CLI (a child process) applies a change to a managed policy on
 * the IAM stand-in (real HTTP on 127.0.0.1) with the state table on dynalite, and is SIGKILLed the moment IAM has
 * created the new version, before it could announce it. The next run, another process, announces it, late, naming
 * the version in force.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { dynamoStateStore } from '../lambda/state/dynamodb-store';
import { AwsStandIn } from './helpers/aws-stand-in';
import { LocalDynamo, TEST_CREDENTIALS } from './helpers/dynamodb';

const REPO = join(__dirname, '..');
const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:allowlist-sync-alerts';
const ENTRIES = ['192.0.2.10/32', '198.51.100.0/24'];

jest.setTimeout(60_000);

let aws: AwsStandIn;
let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  aws = await AwsStandIn.start({ policyArn: ARN, parameter: { name: '/unused', value: '{}' } });
});
afterAll(async () => {
  await aws.close();
  await dynamo.stop();
});

function env(): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|OCM_|STATE_TABLE|ALERT_TOPIC_ARN|ALLOWLIST_)/.test(k)));
  return {
    ...base,
    AWS_ENDPOINT_URL: aws.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_MAX_ATTEMPTS: '1',
    STATE_TABLE: dynamo.table,
    ALERT_TOPIC_ARN: TOPIC,
    ALLOWLIST_NAME: 'rosa-trusted-ips',
  };
}

const applyArgs = ['bin/allowlist-sync.js', 'apply', '--source', `static:${[...ENTRIES, '203.0.113.0/28'].join(',')}`, '--target', `iam:${ARN}`, '--json'];

test('a CLI killed right after CreatePolicyVersion: the next run announces the write, naming the version in force', async () => {
  aws.reset(serializePolicy(renderDenyPolicy(ENTRIES)));
  const child: ChildProcess = spawn(process.execPath, applyArgs, { cwd: REPO, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  aws.beforeAnswer = (call) => {
    if (call.action !== 'CreatePolicyVersion') return;
    aws.beforeAnswer = undefined;
    child.kill('SIGKILL');
  };
  const signal = await new Promise<string | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));

  expect(signal).toBe('SIGKILL');
  // IAM holds the new version; nobody was told.
  expect(aws.defaultDocument).toBe(serializePolicy(renderDenyPolicy([...ENTRIES, '203.0.113.0/28'])));
  expect(aws.published).toEqual([]);
  const client = dynamo.client();
  const owed = (await dynamoStateStore(client, dynamo.table).load(ARN)).outbox ?? [];
  expect(owed).toHaveLength(1);
  expect(owed[0]).toMatchObject({ baseVersionId: 'v1', writer: expect.stringMatching(/^cli:/), addedEntries: ['203.0.113.0/28 (16 addresses)'] });

  const run = () =>
    new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, applyArgs, { cwd: REPO, env: env() }, (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout })),
    );
  // While the killed process's lease lasts (its own deadline), a run leaves its announcement alone: it might still be
  // on its way. It finds the policy up to date.
  const store = dynamoStateStore(client, dynamo.table);
  expect((await store.load(ARN)).lease?.holder).toMatch(/^cli:.* pid \d+$/);
  const during = await run();
  expect(JSON.parse(during.stdout)).toMatchObject({ status: 'unchanged' });
  expect(aws.published).toEqual([]);

  // Once that deadline has passed (forwarded here), the next run (another process: a cold start) announces it.
  const lease = (await store.load(ARN)).lease;
  await store.update(ARN, { lease: lease ? { ...lease, expiresAt: Date.now() - 1 } : null });
  const next = await run();
  expect(next.code).toBe(0);
  expect(JSON.parse(next.stdout)).toMatchObject({ status: 'unchanged' });
  expect(aws.published).toHaveLength(1);
  expect(aws.published[0]).toMatchObject({ event: 'updated', subject: 'allowlist-sync: rosa-trusted-ips updated (+1 -0, late)' });
  expect(aws.published[0].message).toContain('In force now: v2.');
  expect(aws.published[0].message).toMatch(/Announced late: the run that wrote it \(cli:\S+ pid \d+, \S+\) ended before it could announce it/);
  expect(aws.published[0].message).toContain('Version:  v1 -> v2');
  expect((await store.load(ARN)).outbox).toBeUndefined();
  expect((await store.load(ARN)).lease).toBeUndefined();
  client.destroy();
});
