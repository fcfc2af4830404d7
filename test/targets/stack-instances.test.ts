/**
 * The accounts of a StackSet (lambda/targets/stack-instances.ts), CloudFormation over aws-sdk-client-mock: every
 * page, CURRENT instances only, each account once, and answers that could be turned against the function refused.
 */
import { CloudFormationClient, CloudFormationServiceException, ListStackInstancesCommand, StackInstanceSummary, StackSetNotFoundException } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { stackSetAccounts } from '../../lambda/targets/stack-instances';

const cfn = new CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDHUB', secretAccessKey: 'hub' } });
const cfnMock = mockClient(cfn);
const instance = (Account: string, Status: StackInstanceSummary['Status'] = 'CURRENT', Region = 'eu-west-1', DetailedStatus?: 'FAILED' | 'SUCCEEDED'): StackInstanceSummary => ({
  Account,
  Status,
  Region,
  ...(DetailedStatus ? { StackInstanceStatus: { DetailedStatus } } : {}),
});

beforeEach(() => cfnMock.reset());

test('reads every page with the CallAs given, keeps CURRENT accounts once each, and says which were left out', async () => {
  cfnMock
    .on(ListStackInstancesCommand)
    .resolvesOnce({ Summaries: [instance('111111111111'), instance('222222222222', 'OUTDATED', 'eu-west-1', 'FAILED')], NextToken: 'p2' })
    .resolvesOnce({ Summaries: [instance('111111111111', 'CURRENT', 'us-east-1'), instance('333333333333', 'CURRENT'), instance('444444444444', 'INOPERABLE')], NextToken: 'p3' })
    .resolvesOnce({ Summaries: [instance('444444444444', 'OUTDATED', 'us-east-1')] });

  const found = await stackSetAccounts(cfn, 'Spoke', 'DELEGATED_ADMIN');

  expect(found).toEqual({
    current: ['111111111111', '333333333333'],
    skipped: [
      { account: '222222222222', instances: ['eu-west-1 OUTDATED (FAILED)'] },
      { account: '444444444444', instances: ['eu-west-1 INOPERABLE', 'us-east-1 OUTDATED'] },
    ],
  });
  expect(cfnMock.commandCalls(ListStackInstancesCommand).map((c) => c.args[0].input)).toEqual([
    { StackSetName: 'Spoke', CallAs: 'DELEGATED_ADMIN', MaxResults: 100 },
    { StackSetName: 'Spoke', CallAs: 'DELEGATED_ADMIN', MaxResults: 100, NextToken: 'p2' },
    { StackSetName: 'Spoke', CallAs: 'DELEGATED_ADMIN', MaxResults: 100, NextToken: 'p3' },
  ]);
});

test('an account CURRENT in one region and OUTDATED in another is covered (IAM is global)', async () => {
  cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [instance('111111111111', 'OUTDATED', 'us-east-1'), instance('111111111111')] });
  await expect(stackSetAccounts(cfn, 'Spoke', 'SELF')).resolves.toEqual({ current: ['111111111111'], skipped: [] });
});

test('a skipped account carries the first StatusReason CloudFormation gives, on one line and clipped', async () => {
  const reason = `Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role\n with trust ${'x'.repeat(400)}`;
  cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [instance('222222222222', 'OUTDATED', 'eu-west-1', 'FAILED'), { ...instance('222222222222', 'OUTDATED', 'us-east-1'), StatusReason: reason }] });
  const [skipped] = (await stackSetAccounts(cfn, 'Spoke', 'SELF')).skipped;
  expect(skipped.instances).toEqual(['eu-west-1 OUTDATED (FAILED)', 'us-east-1 OUTDATED']);
  expect(skipped.reason).toMatch(/^Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role with trust x+$/);
  expect(skipped.reason).toHaveLength(300);
});

test.each([
  ['an account that is not 12 digits', { Summaries: [instance('111111111111:role/x')] }, 'listed an instance whose account is not a 12-digit id: "111111111111:role/x"'],
  ['no account', { Summaries: [{ Status: 'CURRENT' }] }, 'listed an instance whose account is not a 12-digit id: null'],
])('%s is refused: it would become part of a role ARN', async (_what, page, message) => {
  cfnMock.on(ListStackInstancesCommand).resolves(page as { Summaries: StackInstanceSummary[] });
  await expect(stackSetAccounts(cfn, 'Spoke', 'SELF')).rejects.toMatchObject({ code: 'stackset-error', message: expect.stringContaining(message) });
});

test('a page token handed back twice is refused rather than looped on', async () => {
  cfnMock.on(ListStackInstancesCommand).resolves({ Summaries: [instance('111111111111')], NextToken: 'again' });
  await expect(stackSetAccounts(cfn, 'Spoke', 'SELF')).rejects.toMatchObject({ code: 'stackset-error', message: expect.stringContaining('returned the same page token twice') });
  expect(cfnMock).toHaveReceivedCommandTimes(ListStackInstancesCommand, 2);
});

test('a missing StackSet, a denial and anything else are named with the StackSet and the CallAs', async () => {
  cfnMock.on(ListStackInstancesCommand).rejects(new StackSetNotFoundException({ message: 'StackSet Spoke not found', $metadata: {} }));
  await expect(stackSetAccounts(cfn, 'Spoke', 'SELF')).rejects.toMatchObject({
    code: 'stackset-not-found',
    message: expect.stringContaining('cloudformation:ListStackInstances on StackSet Spoke (CallAs SELF): the StackSet does not exist (StackSet Spoke not found).'),
    hint: expect.stringContaining('"DELEGATED_ADMIN"'),
  });
  cfnMock.on(ListStackInstancesCommand).rejects(new CloudFormationServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not authorized', $metadata: {} }));
  await expect(stackSetAccounts(cfn, 'Spoke', 'DELEGATED_ADMIN')).rejects.toMatchObject({ code: 'stackset-access-denied', message: expect.stringContaining('(CallAs DELEGATED_ADMIN) was denied: not authorized') });
  cfnMock.on(ListStackInstancesCommand).rejects(new Error('socket hang up'));
  await expect(stackSetAccounts(cfn, 'Spoke', 'SELF')).rejects.toMatchObject({ code: 'stackset-error' });
});
