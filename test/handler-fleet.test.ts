/**
 * A fleet through the Lambda handler (issue 13): one `managed-policy` entry with `accounts` becomes one target per
 * account, NAME/ACCOUNT_ID, reached through the spoke role assumed there. The container harness
 * (test/helpers/lambda-harness.ts) with test/helpers/fake-fleet.ts: FakeIam per account, STS and CloudFormation
 * over aws-sdk-client-mock, the real OCM source against the fake OCM server, the state table on dynalite.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { ListStackInstancesCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { noSuchPolicy } from './helpers/fake-iam';
import { FakeFleet, HUB_CREDENTIALS, POLICY_NAME, STACK_SET, accountIds, assumeDenied, policyArnOf, roleArnOf } from './helpers/fake-fleet';
import { HAND_MADE, SYNCED_DOC, alerts, cfnMock, coldStart, fakeIam, iamMock, installLambdaHarness, item, out, server, ssmMock, stsMock, tableItems } from './helpers/lambda-harness';

installLambdaHarness();

interface FleetResult {
  status: string;
  targets: { target: string; status: string; policyArn: string; versionId?: string }[];
}

const FLEET = { name: 'fleet', kind: 'managed-policy', policyName: POLICY_NAME, accounts: `stackset:${STACK_SET}`, assumeRoleName: 'AllowlistSyncSpoke', sources: ['ocm'] };
const targets = (...entries: object[]): Record<string, string> => ({ ALLOWLIST_TARGETS: JSON.stringify(entries), ...HUB_CREDENTIALS });

let fleet: FakeFleet;

function useFleet(accounts: readonly string[]): FakeFleet {
  fleet = new FakeFleet(accounts, HAND_MADE);
  fleet.install(iamMock, stsMock, cfnMock, fakeIam);
  return fleet;
}

const assumed = (): string[] => stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn ?? '');

afterEach(() => {
  // The spoke credentials never reach a log line, an EMF blob or an alert.
  for (const text of [out.text, JSON.stringify(alerts())]) expect(text).not.toMatch(/secret-of-|token-of-/);
});

describe('a fleet from a StackSet', () => {
  test('a cold run syncs every account through its own role: one OCM fetch, one AssumeRole each, results NAME/ACCOUNT', async () => {
    const accounts = accountIds(3);
    useFleet(accounts);
    fleet.pageSize = 2;

    const result = (await coldStart(targets(FLEET)).invoke()) as unknown as FleetResult;

    expect(result.status).toBe('updated');
    expect(result.targets.map((t) => [t.target, t.status, t.policyArn, t.versionId])).toEqual(accounts.map((a) => [`fleet/${a}`, 'updated', policyArnOf(a), 'v2']));
    for (const a of accounts) expect(fleet.iam(a).defaultDocument).toBe(SYNCED_DOC);
    // Two pages of instances, called as SELF by default.
    expect(cfnMock.commandCalls(ListStackInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { StackSetName: STACK_SET, CallAs: 'SELF', MaxResults: 100 },
      { StackSetName: STACK_SET, CallAs: 'SELF', MaxResults: 100, NextToken: '2' },
    ]);
    expect(assumed()).toEqual(expect.arrayContaining(accounts.map((a) => roleArnOf(a))));
    expect(assumed()).toHaveLength(3);
    expect(stsMock.commandCalls(AssumeRoleCommand).every((c) => c.args[0].input.RoleSessionName === 'allowlist-sync')).toBe(true);
    // OCM once for all: one token, one page.
    expect(server.requestsTo('token')).toHaveLength(1);
    expect(server.requestsTo('api')).toHaveLength(1);
    // Each account has its own alert, its own metrics dimension and its own state record (the key is its policy ARN).
    expect(alerts().map((a) => a.subject).sort()).toEqual(accounts.map((a) => `allowlist-sync: fleet/${a} updated (+1 -0)`));
    expect(new Set(out.emf().map((b) => b.service))).toEqual(new Set(['fleet', ...accounts.map((a) => `fleet/${a}`)]));
    // The fleet's roll-ups (what its alarms read): every account synced.
    expect(out.emf().find((b) => b.service === 'fleet')).toMatchObject({ SyncSucceeded: 1, FleetAccountsRefused: 0, FleetAccountsFailed: 0, FleetAccountsNotSynced: 0 });
    const keys = (await tableItems()).map((i) => (i as { pk: { S: string } }).pk.S);
    for (const a of accounts) expect(keys).toContain(`target#${policyArnOf(a)}`);
  });

  test('an SSM list is read once per run for all accounts, like OCM', async () => {
    useFleet(accountIds(3));
    ssmMock.on(GetParameterCommand, { Name: '/allowlists/vpn' }).resolves({ Parameter: { Name: '/allowlists/vpn', Type: 'StringList', Value: '203.0.113.0/24' } });
    const fn = coldStart(targets({ ...FLEET, sources: ['ocm', 'ssm:/allowlists/vpn'] }));

    const result = (await fn.invoke()) as unknown as FleetResult;
    expect(result.targets.map((t) => t.status)).toEqual(['updated', 'updated', 'updated']);
    expect(ssmMock.commandCalls(GetParameterCommand, { Name: '/allowlists/vpn' })).toHaveLength(1);
    await fn.invoke();
    expect(ssmMock.commandCalls(GetParameterCommand, { Name: '/allowlists/vpn' })).toHaveLength(2);
  });

  test('attachToRoles: the first run lists the attachments; unchanged runs after cost exactly 2 IAM reads per account, a cold container 1 AssumeRole more', async () => {
    const accounts = accountIds(4);
    useFleet(accounts);
    for (const a of accounts) fleet.attached.set(a, new Set(['ManagedOpenShift-Support-Role']));
    const env = targets({ ...FLEET, attachToRoles: ['ManagedOpenShift-Support-Role'] });
    const fn = coldStart(env);
    await fn.invoke();
    expect(assumed()).toHaveLength(4);
    // No full check recorded yet (a cold start of the state): each account's attachments are listed once.
    for (const a of accounts) expect(fleet.callsByAccount()[a]).toContain('ListEntitiesForPolicy');
    fleet.iamCalls.length = 0;
    stsMock.resetHistory();

    const second = (await fn.invoke()) as unknown as FleetResult;

    expect(second.targets.map((t) => t.status)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(fleet.callsByAccount()).toEqual(Object.fromEntries(accounts.map((a) => [a, ['GetPolicy', 'GetPolicyVersion']])));
    expect(assumed()).toEqual([]);

    // A cold container, the full check recorded in the state table minutes ago: 1 AssumeRole and 2 reads per account.
    fleet.iamCalls.length = 0;
    stsMock.resetHistory();
    await coldStart(env).invoke();
    expect(fleet.callsByAccount()).toEqual(Object.fromEntries(accounts.map((a) => [a, ['GetPolicy', 'GetPolicyVersion']])));
    expect(assumed()).toHaveLength(4);
  });

  test('attachToRoles: a detachment lowers AttachmentCount and is found at once; an hour on, the attachments are listed again', async () => {
    const [a, b] = accountIds(2);
    useFleet([a, b]);
    for (const x of [a, b]) fleet.attached.set(x, new Set(['ManagedOpenShift-Support-Role']));
    const fn = coldStart(targets({ ...FLEET, attachToRoles: ['ManagedOpenShift-Support-Role'] }));
    await fn.invoke();
    fleet.iamCalls.length = 0;

    // Someone detaches the policy in account b: its count drops from 1 to 0.
    fleet.attached.set(b, new Set());
    await fn.invoke();

    expect(fleet.callsByAccount()).toEqual({ [a]: ['GetPolicy', 'GetPolicyVersion'], [b]: ['GetPolicy', 'GetPolicyVersion', 'ListEntitiesForPolicy', 'AttachRolePolicy'] });
    expect(fleet.attached.get(b)).toEqual(new Set(['ManagedOpenShift-Support-Role']));
    expect(alerts().filter((x) => x.event === 'detached').map((x) => x.subject)).toEqual([`allowlist-sync: fleet/${b} detached from role/ManagedOpenShift-Support-Role, re-attached`]);

    // Re-attached: the count is back to what was recorded, so the next run costs 2 reads again.
    fleet.iamCalls.length = 0;
    await fn.invoke();
    expect(fleet.callsByAccount()).toEqual(Object.fromEntries([a, b].map((x) => [x, ['GetPolicy', 'GetPolicyVersion']])));

    // An hour after the last full check, whatever the count says, every account's attachments are listed again.
    const realNow = Date.now.bind(Date);
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 61 * 60_000);
    try {
      fleet.iamCalls.length = 0;
      await fn.invoke();
      expect(fleet.callsByAccount()).toEqual(Object.fromEntries([a, b].map((x) => [x, ['GetPolicy', 'GetPolicyVersion', 'ListEntitiesForPolicy']])));
    } finally {
      clock.mockRestore();
    }
  });

  test('the same without attachments: 2 IAM reads per account, nothing else', async () => {
    const accounts = accountIds(2);
    useFleet(accounts);
    const fn = coldStart(targets(FLEET));
    await fn.invoke();
    fleet.iamCalls.length = 0;
    stsMock.resetHistory();

    await fn.invoke();

    expect(fleet.callsByAccount()).toEqual(Object.fromEntries(accounts.map((a) => [a, ['GetPolicy', 'GetPolicyVersion']])));
    expect(assumed()).toEqual([]);
  });

  test('credentials with under 5 minutes left are assumed again at the next run, not before', async () => {
    const accounts = accountIds(2);
    useFleet(accounts);
    const fn = coldStart(targets(FLEET));
    await fn.invoke();
    expect(assumed()).toHaveLength(2);
    const realNow = Date.now.bind(Date);
    const clock = jest.spyOn(Date, 'now');
    try {
      // 54 minutes on: 6 minutes left of the hour, still used.
      clock.mockImplementation(() => realNow() + 54 * 60_000);
      await fn.invoke();
      expect(assumed()).toHaveLength(2);
      // 56 minutes on: 4 minutes left, assumed again, once per account.
      clock.mockImplementation(() => realNow() + 56 * 60_000);
      await fn.invoke();
      expect(assumed()).toHaveLength(4);
    } finally {
      clock.mockRestore();
    }
    await fn.invoke();
    expect(assumed()).toHaveLength(4);
  });

  test('an account joining is synced on the next run; one leaving is no longer touched', async () => {
    const [a, b, c] = accountIds(3);
    useFleet([a, b]);
    const fn = coldStart(targets(FLEET));
    const first = (await fn.invoke()) as unknown as FleetResult;
    expect(first.targets.map((t) => t.target)).toEqual([`fleet/${a}`, `fleet/${b}`]);

    fleet.add(c, HAND_MADE);
    fleet.remove(a);
    iamMock.reset();
    fleet.install(iamMock, stsMock, cfnMock, fakeIam);
    fleet.iamCalls.length = 0;
    stsMock.resetHistory();
    server.items = [...server.items, item('203.0.113.0/28')];

    const second = (await fn.invoke()) as unknown as FleetResult;

    expect(second.targets.map((t) => [t.target, t.status])).toEqual([
      [`fleet/${b}`, 'updated'],
      [`fleet/${c}`, 'updated'],
    ]);
    expect(Object.keys(fleet.callsByAccount()).sort()).toEqual([b, c]);
    expect(assumed()).toEqual([roleArnOf(c)]);
    // The account that left keeps the document it had; nothing was written there.
    expect(fleet.iam(a).versionIds()).toEqual(['v1', 'v2']);
    expect(fleet.iam(c).defaultDocument).toContain('203.0.113.0/28');
  });

  test('only CURRENT instances count, an account listed in two regions is one target, excludeAccounts are never touched', async () => {
    const [a, b, c, d] = accountIds(4);
    useFleet([a, b, c]);
    fleet.add(d, HAND_MADE, 'OUTDATED');
    fleet.instances.push({ ...fleet.instances[0], Region: 'us-east-1' });
    fleet.install(iamMock, stsMock, cfnMock, fakeIam);

    const result = (await coldStart(targets({ ...FLEET, excludeAccounts: [b], callAs: 'DELEGATED_ADMIN' })).invoke()) as unknown as FleetResult;

    expect(result.targets.map((t) => t.target)).toEqual([`fleet/${a}`, `fleet/${c}`]);
    expect(Object.keys(fleet.callsByAccount()).sort()).toEqual([a, c]);
    expect(assumed().sort()).toEqual([roleArnOf(a), roleArnOf(c)]);
    expect(cfnMock.commandCalls(ListStackInstancesCommand).every((call) => call.args[0].input.CallAs === 'DELEGATED_ADMIN')).toBe(true);
    expect(out.logs().find((l) => l.message === 'fleet accounts found')).toMatchObject({ leftOut: [{ account: d, why: 'no CURRENT instance (eu-west-1 OUTDATED (FAILED))' }, { account: b, why: 'excludeAccounts' }] });
    // The account not CURRENT is told, once, by the fleet; the excluded one never.
    expect(alerts().filter((x) => x.event === 'skipped').map((x) => x.subject)).toEqual([`allowlist-sync: fleet/${d} skipped (eu-west-1 OUTDATED (FAILED))`]);
  });
});

describe('an account whose stack instance is not CURRENT', () => {
  const skippedAlerts = () => alerts().filter((x) => x.event === 'skipped' || (x.event === 'recovered' && x.subject.includes('CURRENT')));
  const fleetMetric = () => out.emf().filter((b) => b.service === 'fleet').map((b) => b.FleetAccountsSkipped);

  test('is told once per status, counted every run, told again when its status changes, and told as recovered (and synced) once CURRENT', async () => {
    const [a, b] = accountIds(2);
    useFleet([a]);
    fleet.add(b, HAND_MADE, 'OUTDATED');
    fleet.instances[1].StatusReason = 'Account 100000000002 should have \'AWSCloudFormationStackSetExecutionRole\' role';
    fleet.install(iamMock, stsMock, cfnMock, fakeIam);
    const env = targets(FLEET);
    const fn = coldStart(env);

    const first = (await fn.invoke()) as unknown as FleetResult & { skipped?: unknown };
    expect(first.targets.map((t) => t.target)).toEqual([`fleet/${a}`]);
    const reason = "its stack instance in eu-west-1 is OUTDATED (FAILED) (reason: Account 100000000002 should have 'AWSCloudFormationStackSetExecutionRole' role): not synced until CURRENT";
    expect(first.skipped).toEqual([{ target: `fleet/${b}`, reason }]);
    expect(skippedAlerts().map((x) => x.subject)).toEqual([`allowlist-sync: fleet/${b} skipped (eu-west-1 OUTDATED (FAILED))`]);
    expect(skippedAlerts()[0].body).toContain(`fleet/${b} skipped: ${reason}`);
    expect(fleetMetric()).toEqual([1]);

    // The same status again, in this container or a cold one (the record is in the state table): not told again.
    await fn.invoke();
    await coldStart(env).invoke();
    expect(skippedAlerts()).toHaveLength(1);
    expect(fleetMetric()).toEqual([1, 1, 1]);

    // Another status (a retry under way): told again.
    fleet.instances[1].StackInstanceStatus = { DetailedStatus: 'RUNNING' };
    const again = coldStart(env);
    await again.invoke();
    expect(skippedAlerts().map((x) => x.subject)).toEqual([`allowlist-sync: fleet/${b} skipped (eu-west-1 OUTDATED (FAILED))`, `allowlist-sync: fleet/${b} skipped (eu-west-1 OUTDATED (RUNNING))`]);

    // CURRENT again: told once as recovered, and synced in the same run.
    fleet.instances[1] = { ...fleet.instances[1], Status: 'CURRENT', StackInstanceStatus: { DetailedStatus: 'SUCCEEDED' } };
    const back = (await again.invoke()) as unknown as FleetResult & { skipped?: unknown };
    expect(back.targets.map((t) => [t.target, t.status])).toEqual([[`fleet/${a}`, 'unchanged'], [`fleet/${b}`, 'updated']]);
    expect(back.skipped).toBeUndefined();
    expect(skippedAlerts().map((x) => [x.event, x.subject])).toEqual([
      ['skipped', expect.stringContaining('FAILED')],
      ['skipped', expect.stringContaining('RUNNING')],
      ['recovered', `allowlist-sync: fleet/${b} CURRENT again, synced`],
    ]);
    await again.invoke();
    expect(skippedAlerts()).toHaveLength(3);
    expect(fleetMetric().slice(-2)).toEqual([0, 0]);
  });

  test('every instance OUTDATED (a StackSet update under way) is no fleet-empty failure: the result and one alert say skipped', async () => {
    const [a, b] = accountIds(2);
    useFleet([]);
    fleet.add(a, HAND_MADE, 'OUTDATED');
    fleet.add(b, HAND_MADE, 'OUTDATED');
    for (const i of fleet.instances) i.StackInstanceStatus = { DetailedStatus: 'RUNNING' };
    fleet.install(iamMock, stsMock, cfnMock, fakeIam);

    const result = (await coldStart(targets(FLEET)).invoke()) as unknown as FleetResult & { skipped?: { target: string }[] };

    expect(result.status).toBe('unchanged');
    expect(result.targets).toEqual([]);
    expect(result.skipped?.map((s) => s.target)).toEqual([`fleet/${a}`, `fleet/${b}`]);
    expect(alerts().map((x) => [x.event, x.subject])).toEqual([['skipped', 'allowlist-sync: fleet 2 accounts skipped (not CURRENT)']]);
    expect(out.emf().find((x) => x.service === 'fleet')).toMatchObject({ SyncSucceeded: 1, FleetAccountsSkipped: 2 });
    expect(assumed()).toEqual([]);
  });
});

describe('one account failing never blocks the others', () => {
  test('AccessDenied on AssumeRole, a missing policy and a refusal: the rest are synced, each failure alerted naming its account', async () => {
    const [ok, denied, missing, refused] = accountIds(4);
    useFleet([ok, denied, missing, refused]);
    fleet.assumeFailures.set(denied, assumeDenied(roleArnOf(denied)));
    fleet.iam(missing).failOn('GetPolicy', noSuchPolicy(policyArnOf(missing)));
    // A policy holding a much longer list: OCM's three entries would remove over 30% of it.
    const long = HAND_MADE.replace('"198.51.100.0/24"', '"198.51.100.0/24","203.0.113.1","203.0.113.2","203.0.113.3","203.0.113.4"');
    fleet.iam(refused).addVersion(long, true);

    const err = await coldStart(targets(FLEET)).fail();

    expect(err.message).toMatch(new RegExp(`^2 of 4 targets failed: fleet/${denied}: Account ${denied}: the function could not assume ${roleArnOf(denied)}.* \\| fleet/${missing}: .*${missing}.*\\(the others: fleet/${ok} updated, fleet/${refused} refused\\)\\.$`));
    expect(fleet.iam(ok).defaultDocument).toBe(SYNCED_DOC);
    expect(fleet.iam(refused).versionIds()).toEqual(['v1', 'v2']);
    const byEvent = alerts().map((a) => [a.event, a.subject]);
    expect(byEvent).toEqual(
      expect.arrayContaining([
        ['updated', `allowlist-sync: fleet/${ok} updated (+1 -0)`],
        ['failed', expect.stringContaining(`fleet/${denied}`)],
        ['failed', expect.stringContaining(`fleet/${missing}`)],
        ['refused', expect.stringContaining(`fleet/${refused}`)],
      ]),
    );
    expect(alerts().find((a) => a.subject.includes(denied))?.body).toContain(`Account ${denied}`);
    expect(out.emf().find((b) => b.service === `fleet/${denied}`)).toMatchObject({ SyncSucceeded: 0 });
    expect(out.emf().find((b) => b.service === `fleet/${ok}`)).toMatchObject({ SyncSucceeded: 1, PolicyUpdated: 1 });
    // The fleet's roll-ups count them on its own dimension, for its alarms: 1 refused, 2 failed, 3 not synced.
    expect(out.emf().filter((b) => b.service === 'fleet')).toEqual([expect.objectContaining({ FleetAccountsRefused: 1, FleetAccountsFailed: 2, FleetAccountsNotSynced: 3 })]);
  });
});

describe('finding the accounts', () => {
  const SINGLE = { name: 'hub', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/rosa-trusted-ips', sources: ['ocm'] };

  test('a StackSet that does not exist fails the fleet alone: alerted once, the other targets still synced', async () => {
    useFleet(accountIds(2));
    const fn = coldStart(targets(SINGLE, { ...FLEET, accounts: 'stackset:Nope' }));

    const err = await fn.fail();

    expect(err.message).toMatch(/^1 of 2 targets failed: fleet: cloudformation:ListStackInstances on StackSet Nope \(CallAs SELF\): the StackSet does not exist .*\(the others: hub updated\)\.$/);
    expect(alerts().filter((a) => a.event === 'failed').map((a) => a.subject)).toEqual([expect.stringContaining('fleet')]);
    expect(out.emf().find((b) => b.service === 'fleet')).toMatchObject({ SyncSucceeded: 0 });
    expect(assumed()).toEqual([]);
    // The same failure again is not told again.
    await fn.fail();
    expect(alerts().filter((a) => a.event === 'failed')).toHaveLength(1);
  });

  test('a StackSet without a CURRENT instance is reported as a failure, not a silent success; its recovery is told', async () => {
    const [a] = accountIds(1);
    useFleet([]);
    const fn = coldStart(targets(FLEET));

    const err = await fn.fail();

    expect(err.message).toContain(`fleet: Fleet fleet: StackSet ${STACK_SET} gives no account to keep`);
    expect(alerts().map((x) => x.event)).toEqual(['failed']);

    fleet.add(a, HAND_MADE);
    fleet.install(iamMock, stsMock, cfnMock, fakeIam);
    const result = (await fn.invoke()) as unknown as FleetResult;
    expect(result.targets.map((t) => t.target)).toEqual([`fleet/${a}`]);
    expect(alerts().map((x) => [x.event, x.subject.includes('fleet/') ? 'account' : 'fleet'])).toEqual([
      ['failed', 'fleet'],
      ['recovered', 'fleet'],
      ['updated', 'account'],
    ]);
  });

  test('a list of accounts needs no discovery; an event can name the fleet or one account', async () => {
    const [a, b] = accountIds(2);
    useFleet([a, b]);
    const fn = coldStart(targets({ ...FLEET, accounts: [a, b] }));

    const one = (await fn.invoke({ target: `fleet/${b}`, dryRun: true })) as unknown as FleetResult;
    expect(one.targets.map((t) => [t.target, t.status])).toEqual([[`fleet/${b}`, 'changes']]);
    expect(assumed()).toEqual([roleArnOf(b)]);
    // One account says nothing of the others: no roll-up, which would reset the fleet's stale alarm.
    expect(out.metric('FleetAccountsNotSynced')).toEqual([]);
    const all = (await fn.invoke({ target: 'fleet' })) as unknown as FleetResult;
    expect(all.targets.map((t) => t.target)).toEqual([`fleet/${a}`, `fleet/${b}`]);
    expect(out.metric('FleetAccountsNotSynced')).toEqual([0]);
    expect(cfnMock.commandCalls(ListStackInstancesCommand)).toHaveLength(0);
    const unknown = await fn.fail({ target: 'fleet/999999999999' });
    expect(unknown.message).toContain('that account is not in the fleet now');
    const approve = await fn.fail({ target: 'fleet', approve: '0123456789abcdef' });
    expect(approve.message).toContain('An approval must name its target');
  });

  test('an account that a single target already keeps is refused in the fleet (one writer per document)', async () => {
    const [a, b] = accountIds(2);
    useFleet([a, b]);
    const err = await coldStart(targets({ ...SINGLE, policyArn: policyArnOf(a), name: 'own' }, FLEET)).fail();
    expect(err.message).toContain(`fleet/${a}: Configuration error: fleet/${a} writes the same document as own`);
    // Not run, so not synced: counted as failed in the fleet's roll-ups.
    expect(out.emf().find((b) => b.service === 'fleet')).toMatchObject({ FleetAccountsRefused: 0, FleetAccountsFailed: 1, FleetAccountsNotSynced: 1 });
  });
});

describe('bounded parallelism', () => {
  async function runMany(count: number, env: Record<string, string> = {}): Promise<FleetResult> {
    useFleet(accountIds(count));
    fleet.pageSize = 100;
    fleet.latencyMs = 15;
    // The state in the container's memory: the pool is what is measured here, not the table.
    return (await coldStart({ ...targets(FLEET), STATE_TABLE: '', ...env }).invoke()) as unknown as FleetResult;
  }

  test('50 accounts run 8 at a time by default: never more in flight, and all 8 lanes busy', async () => {
    const result = await runMany(50);
    expect(result.targets).toHaveLength(50);
    expect(result.targets.every((t) => t.status === 'updated')).toBe(true);
    expect(fleet.maxInFlight).toBe(8);
    expect(server.requestsTo('api')).toHaveLength(1);
  });

  test('a handful run all at once: 5 accounts, 5 lanes', async () => {
    await runMany(5);
    expect(fleet.maxInFlight).toBe(5);
  });

  test('TARGET_CONCURRENCY bounds a fleet too', async () => {
    await runMany(12, { TARGET_CONCURRENCY: '3' });
    expect(fleet.maxInFlight).toBe(3);
  });
});
