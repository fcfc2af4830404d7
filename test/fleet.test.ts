/**
 * A fleet's accounts, run after run (lambda/fleet.ts): the account's own target spec and role, discovery or the
 * list, exclusions, accounts joining and leaving (their runtimes built once, let go), an empty fleet and a failed
 * discovery as errors.
 */
import { SyncError } from '../lambda/errors';
import { Fleet, FleetDiscovery, accountTargetSpec, spokeRoleArn } from '../lambda/fleet';
import type { FleetSpec, ManagedPolicySpec } from '../lambda/kinds/kind';
import { partitionOf } from '../lambda/validate';

const SPEC: FleetSpec = {
  name: 'fleet',
  kind: 'managed-policy',
  accounts: 'stackset:Spoke',
  policyName: 'rosa-trusted-ips',
  sources: ['ocm'],
  guards: { minEntries: 2 },
  attachToRoles: ['ManagedOpenShift-Support-Role'],
};

/** A fleet whose discovery answers `answers` in turn; runtimes are their specs, recorded as built and disposed. */
function fleetOf(spec: FleetSpec, answers: (FleetDiscovery | Error)[] = []) {
  const built: string[] = [];
  const disposed: string[] = [];
  const calls: string[] = [];
  const fleet = new Fleet<ManagedPolicySpec>(spec, 'aws', {
    discover: async (name, callAs) => {
      calls.push(`${name} ${callAs}`);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no answer left');
      if (answer instanceof Error) throw answer;
      return answer;
    },
    build: (accountSpec, account) => {
      built.push(account);
      return accountSpec;
    },
    dispose: (runtime) => disposed.push(runtime.name),
  });
  return { fleet, built, disposed, calls };
}

const current = (...accounts: string[]): FleetDiscovery => ({ current: accounts, skipped: [] });

describe('an account of a fleet', () => {
  test('is a managed-policy target named NAME/ACCOUNT on its own policy ARN, the fleet fields left behind', () => {
    expect(accountTargetSpec({ ...SPEC, policyPath: '/allowlists/', excludeAccounts: ['222222222222'], callAs: 'SELF', assumeRoleName: 'Spoke' }, '111111111111', 'aws-us-gov')).toEqual({
      name: 'fleet/111111111111',
      kind: 'managed-policy',
      policyArn: 'arn:aws-us-gov:iam::111111111111:policy/allowlists/rosa-trusted-ips',
      sources: ['ocm'],
      guards: { minEntries: 2 },
      attachToRoles: ['ManagedOpenShift-Support-Role'],
    });
    expect(accountTargetSpec(SPEC, '111111111111', 'aws').policyArn).toBe('arn:aws:iam::111111111111:policy/rosa-trusted-ips');
  });

  test('is reached through arn:PARTITION:iam::ACCOUNT:role/NAME, AllowlistSyncSpoke by default', () => {
    expect(spokeRoleArn(SPEC, '111111111111', 'aws')).toBe('arn:aws:iam::111111111111:role/AllowlistSyncSpoke');
    expect(spokeRoleArn({ ...SPEC, assumeRoleName: 'Other' }, '111111111111', 'aws-cn')).toBe('arn:aws-cn:iam::111111111111:role/Other');
  });

  test.each([
    ['eu-west-1', 'aws'],
    [undefined, 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
  ])('the partition of region %s is %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });
});

describe('a fleet run after run', () => {
  test('accounts are built once, kept while they stay, let go when they leave, built again when they join', async () => {
    const { fleet, built, disposed, calls } = fleetOf(SPEC, [current('111111111111', '222222222222'), current('222222222222', '333333333333'), current('222222222222', '333333333333')]);

    const first = await fleet.resolve();
    expect(first).toMatchObject({ accounts: ['111111111111', '222222222222'], joined: ['111111111111', '222222222222'], left: [] });
    const second = await fleet.resolve();
    expect(second).toMatchObject({ accounts: ['222222222222', '333333333333'], joined: ['333333333333'], left: ['111111111111'] });
    // The account that stayed is the same runtime as before.
    expect(second.runtimes[0]).toBe(first.runtimes[1]);
    await fleet.resolve();

    expect(built).toEqual(['111111111111', '222222222222', '333333333333']);
    expect(disposed).toEqual(['fleet/111111111111']);
    expect(calls).toEqual(['Spoke SELF', 'Spoke SELF', 'Spoke SELF']);
  });

  test('excludeAccounts and accounts that are not CURRENT are left out, and said so', async () => {
    const { fleet } = fleetOf({ ...SPEC, excludeAccounts: ['222222222222'], callAs: 'DELEGATED_ADMIN' }, [
      { current: ['111111111111', '222222222222'], skipped: [{ account: '333333333333', instances: ['eu-west-1 OUTDATED (FAILED)'] }] },
    ]);
    const run = await fleet.resolve();
    expect(run.accounts).toEqual(['111111111111']);
    expect(run.skipped).toEqual([
      { account: '333333333333', why: 'no CURRENT instance (eu-west-1 OUTDATED (FAILED))' },
      { account: '222222222222', why: 'excludeAccounts' },
    ]);
  });

  test('a list of accounts is used as it is, with no discovery', async () => {
    const { fleet, calls } = fleetOf({ ...SPEC, accounts: ['111111111111', '222222222222'], excludeAccounts: ['111111111111'] });
    expect((await fleet.resolve()).accounts).toEqual(['222222222222']);
    expect(calls).toEqual([]);
  });

  test('no account to keep is an error naming the StackSet and what was left out, and the accounts kept are not let go', async () => {
    const { fleet, disposed } = fleetOf({ ...SPEC, excludeAccounts: ['111111111111', '222222222222'] }, [
      current('333333333333'),
      { current: ['111111111111'], skipped: [{ account: '222222222222', instances: ['eu-west-1 OUTDATED (RUNNING)'] }] },
    ]);
    await fleet.resolve();
    const err = await fleet.resolve().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'fleet-empty' });
    expect((err as Error).message).toBe(
      'Fleet fleet: StackSet Spoke gives no account to keep; excludeAccounts removes all 2 it lists; no account\'s policy is synced.' +
        " List the instances (aws cloudformation list-stack-instances --stack-set-name Spoke) and check the StackSet's deployment targets.",
    );
    expect(disposed).toEqual([]);
  });

  test('every instance not CURRENT (a StackSet operation under way) is no failure: no account this run, each one skipped, its runtime kept', async () => {
    const { fleet, disposed, built } = fleetOf(SPEC, [
      current('111111111111'),
      { current: [], skipped: [{ account: '111111111111', instances: ['eu-west-1 OUTDATED (RUNNING)'], reason: 'User initiated operation' }] },
      current('111111111111'),
    ]);
    await fleet.resolve();
    const run = await fleet.resolve();
    expect(run).toMatchObject({ runtimes: [], accounts: [], left: [], notCurrent: [{ account: '111111111111', instances: ['eu-west-1 OUTDATED (RUNNING)'], reason: 'User initiated operation' }] });
    expect(disposed).toEqual([]);
    // CURRENT again: the same runtime, nothing built anew.
    expect((await fleet.resolve()).joined).toEqual([]);
    expect(built).toEqual(['111111111111']);
  });

  test('a discovery that fails is the fleet\'s failure: a SyncError passes as it is, anything else is wrapped naming the StackSet', async () => {
    const denied = new SyncError('stackset-access-denied', 'denied');
    const { fleet } = fleetOf(SPEC, [denied, new Error('socket hang up')]);
    await expect(fleet.resolve()).rejects.toBe(denied);
    await expect(fleet.resolve()).rejects.toMatchObject({ code: 'stackset-error', message: 'Fleet fleet: could not list the instances of StackSet Spoke: socket hang up. The next run tries again.' });
  });
});
