/**
 * A fleet account's IAM through the role assumed there (lambda/targets/spoke-credentials.ts), STS over
 * aws-sdk-client-mock and a clock the test moves: one AssumeRole until 5 minutes before expiry, shared by
 * concurrent callers, failures said per account and never kept.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, AssumeRoleCommandOutput, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SyncError } from '../../lambda/errors';
import { REFRESH_BEFORE_MS, SpokeCredentials, spokeAccess } from '../../lambda/targets/spoke-credentials';

const ROLE = 'arn:aws:iam::111111111111:role/AllowlistSyncSpoke';
const HOUR = 3600_000;
const sts = new STSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDHUB', secretAccessKey: 'hub' } });
const stsMock = mockClient(sts);

let clock = 1_700_000_000_000;
let issued = 0;
const made: { credentials: SpokeCredentials; client: IAMClient; destroyed: boolean }[] = [];

function answerFor(lifetimeMs: number) {
  return () => {
    issued++;
    return { Credentials: { AccessKeyId: `ASIA${issued}`, SecretAccessKey: `s${issued}`, SessionToken: `t${issued}`, Expiration: new Date(clock + lifetimeMs) } };
  };
}

function access() {
  return spokeAccess({
    sts: () => sts,
    roleArn: ROLE,
    account: '111111111111',
    now: () => clock,
    iamWith: (credentials) => {
      const client = new IAMClient({ region: 'us-east-1', credentials });
      const entry = { credentials, client, destroyed: false };
      jest.spyOn(client, 'destroy').mockImplementation(() => {
        entry.destroyed = true;
      });
      made.push(entry);
      return client;
    },
  });
}

beforeEach(() => {
  stsMock.reset();
  issued = 0;
  made.length = 0;
  clock = 1_700_000_000_000;
});

test('assumes once with the fixed session name, and keeps the client until 5 minutes before expiry', async () => {
  stsMock.on(AssumeRoleCommand).callsFake(answerFor(HOUR));
  const spoke = access();

  const first = await spoke.iam();
  expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: ROLE, RoleSessionName: 'allowlist-sync' });
  expect(made[0].credentials).toEqual({ accessKeyId: 'ASIA1', secretAccessKey: 's1', sessionToken: 't1', expiration: new Date(clock + HOUR) });
  clock += HOUR - REFRESH_BEFORE_MS - 1;
  expect(await spoke.iam()).toBe(first);
  expect(issued).toBe(1);

  clock += 1;
  const second = await spoke.iam();
  expect(issued).toBe(2);
  expect(second).not.toBe(first);
  expect(made.map((m) => m.destroyed)).toEqual([true, false]);
  spoke.close();
  expect(made[1].destroyed).toBe(true);
});

test('callers at once share one AssumeRole', async () => {
  stsMock.on(AssumeRoleCommand).callsFake(answerFor(HOUR));
  const spoke = access();
  const clients = await Promise.all([spoke.iam(), spoke.iam(), spoke.iam()]);
  expect(new Set(clients).size).toBe(1);
  expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
});

test('credentials with less than twice the margin to live are kept for half their life: never an AssumeRole per call', async () => {
  stsMock.on(AssumeRoleCommand).callsFake(answerFor(4 * 60_000));
  const spoke = access();
  const first = await spoke.iam();
  clock += 2 * 60_000 - 1;
  expect(await spoke.iam()).toBe(first);
  clock += 1;
  await spoke.iam();
  expect(issued).toBe(2);
});

test('AccessDenied names the account, the role and what to check; a failure is not kept, the next call tries again', async () => {
  stsMock.on(AssumeRoleCommand).rejectsOnce(new STSServiceException({ name: 'AccessDenied', $fault: 'client', message: `not authorized to perform: sts:AssumeRole on resource: ${ROLE}`, $metadata: {} })).callsFake(answerFor(HOUR));
  const spoke = access();
  const err = await spoke.iam().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SyncError);
  expect(err).toMatchObject({ code: 'spoke-access-denied' });
  expect((err as Error).message).toContain(`Account 111111111111: the function could not assume ${ROLE} (sts:AssumeRole: not authorized`);
  expect((err as SyncError).hint).toContain('check the spoke StackSet\'s instance in account 111111111111');
  await expect(spoke.iam()).resolves.toBeInstanceOf(IAMClient);
  expect(issued).toBe(1);
});

test.each([
  ['no credentials', {}],
  ['no session token', { Credentials: { AccessKeyId: 'A', SecretAccessKey: 'S', Expiration: new Date() } }],
  ['no expiration', { Credentials: { AccessKeyId: 'A', SecretAccessKey: 'S', SessionToken: 'T' } }],
])('an answer with %s is refused, nothing built', async (_what, answer) => {
  // Answers the SDK's types forbid, as a broken endpoint or emulator may send them.
  stsMock.on(AssumeRoleCommand).resolves(answer as AssumeRoleCommandOutput);
  await expect(access().iam()).rejects.toMatchObject({ code: 'spoke-assume-failed', message: expect.stringContaining(`Account 111111111111: sts:AssumeRole on ${ROLE} returned no usable credentials.`) });
  expect(made).toEqual([]);
});

test('other STS errors are named with their code', async () => {
  stsMock.on(AssumeRoleCommand).rejects(new STSServiceException({ name: 'RegionDisabledException', $fault: 'client', message: 'STS is not activated in this region', $metadata: {} }));
  await expect(access().iam()).rejects.toMatchObject({ code: 'spoke-region-disabled' });
  stsMock.on(AssumeRoleCommand).rejects(new STSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: {} }));
  await expect(access().iam()).rejects.toMatchObject({ code: 'spoke-assume-failed', message: expect.stringContaining('failed: Throttling: Rate exceeded') });
});
