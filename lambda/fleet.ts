import { SyncError, describeError } from './errors';
import { DEFAULT_SPOKE_ROLE_NAME, FLEET_FIELDS, stackSetOf } from './kinds/fleet';
import type { FleetSpec, ManagedPolicySpec } from './kinds/kind';

// A fleet is one managed policy in many accounts. Each run it becomes one managed-policy target per account,
// named NAME/ACCOUNT_ID, with the account's policy ARN (so its own state record, alerts and metrics) and the role
// assumed there: an account is one more attribute of a target, the sync does not know it is in a fleet.

/** Where the fleet's accounts come from this run: the StackSet's CURRENT instances (a list needs no call). */
export interface FleetDiscovery {
  current: string[];
  /** Accounts left out because none of their instances is CURRENT (region and status each, and why when known). */
  skipped: { account: string; instances: string[]; reason?: string }[];
}

/** What a fleet needs of the world: discovery, and building and letting go of one account's runtime. */
export interface FleetPorts<R> {
  /** The StackSet's accounts now (ListStackInstances); never called for a list of accounts. */
  discover(stackSetName: string, callAs: 'SELF' | 'DELEGATED_ADMIN'): Promise<FleetDiscovery>;
  /** One account's runtime: built the first run the account is in the fleet, kept while it stays. */
  build(spec: ManagedPolicySpec, account: string): R;
  /** An account that left the fleet: its runtime (and its credentials) are let go. */
  dispose(runtime: R): void;
}

/** One run's accounts of a fleet. */
export interface FleetRun<R> {
  /** Each account's runtime, in the order discovered. */
  runtimes: R[];
  accounts: string[];
  /** Accounts new since the last run of this container, and those gone. */
  joined: string[];
  left: string[];
  /** Listed by the StackSet but left out: not CURRENT there, or excluded by `excludeAccounts`. */
  skipped: { account: string; why: string }[];
  /** The accounts left out because no instance of theirs is CURRENT (excluded ones not among them): not synced, told. */
  notCurrent: FleetDiscovery['skipped'];
}

/** `arn:PARTITION:iam::ACCOUNT:role/NAME`: the role the function assumes in the account. */
export function spokeRoleArn(fleet: FleetSpec, account: string, partition: string): string {
  return `arn:${partition}:iam::${account}:role/${fleet.assumeRoleName ?? DEFAULT_SPOKE_ROLE_NAME}`;
}

/** The account's own managed-policy target: `NAME/ACCOUNT_ID`, `arn:PARTITION:iam::ACCOUNT:policy<path><name>`. */
export function accountTargetSpec(fleet: FleetSpec, account: string, partition: string): ManagedPolicySpec {
  // The common fields and the attachments carry over; the fleet's own fields say where, not what.
  const common = Object.fromEntries(Object.entries(fleet).filter(([key]) => !(FLEET_FIELDS as readonly string[]).includes(key))) as Omit<FleetSpec, (typeof FLEET_FIELDS)[number]>;
  return { ...common, name: `${fleet.name}/${account}`, kind: 'managed-policy', policyArn: `arn:${partition}:iam::${account}:policy${fleet.policyPath ?? '/'}${fleet.policyName}` };
}

/** What the fleet's `accounts` says, for messages: `StackSet NAME` or `the list of N accounts`. */
export function accountsSource(fleet: FleetSpec): string {
  const stackSet = stackSetOf(fleet.accounts);
  return stackSet !== undefined ? `StackSet ${stackSet}` : `its list of ${fleet.accounts.length} account${fleet.accounts.length === 1 ? '' : 's'}`;
}

/**
 * A fleet's accounts, run after run: discovery (or the list), exclusions removed, then each account's runtime,
 * kept from the runs before while the account stays (its credentials with it), built for one that joined, let go
 * for one that left. A discovery that fails or finds no account throws a SyncError: the fleet entry fails, loudly.
 */
export class Fleet<R> {
  private readonly accounts = new Map<string, R>();

  constructor(
    readonly spec: FleetSpec,
    private readonly partition: string,
    private readonly ports: FleetPorts<R>,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  async resolve(): Promise<FleetRun<R>> {
    const { spec } = this;
    const stackSet = stackSetOf(spec.accounts);
    let found: FleetDiscovery;
    if (stackSet === undefined) {
      found = { current: [...(spec.accounts as string[])], skipped: [] };
    } else {
      try {
        found = await this.ports.discover(stackSet, spec.callAs ?? 'SELF');
      } catch (err) {
        if (err instanceof SyncError) throw err;
        throw new SyncError('stackset-error', `Fleet ${spec.name}: could not list the instances of StackSet ${stackSet}: ${describeError(err)}.`, 'The next run tries again.', { cause: err });
      }
    }
    const excluded = new Set(spec.excludeAccounts ?? []);
    const accounts = found.current.filter((a) => !excluded.has(a));
    const notCurrent = found.skipped.filter((s) => !excluded.has(s.account));
    const skipped = [
      ...notCurrent.map((s) => ({ account: s.account, why: `no CURRENT instance (${s.instances.join(', ')})` })),
      ...[...found.current, ...found.skipped.map((s) => s.account)].filter((a) => excluded.has(a)).map((account) => ({ account, why: 'excludeAccounts' })),
    ];
    // Every instance not CURRENT (a StackSet operation under way, or failed): each account is told as skipped, not
    // the fleet as empty. Only a StackSet that lists no account to keep at all is a failure.
    if (accounts.length === 0 && notCurrent.length === 0) {
      const listed = found.current.length + found.skipped.length;
      const left = listed > 0 ? `; excludeAccounts removes all ${listed} it lists` : '';
      throw new SyncError(
        'fleet-empty',
        `Fleet ${spec.name}: ${accountsSource(spec)} gives no account to keep${left}; no account's policy is synced.`,
        stackSet !== undefined
          ? `List the instances (aws cloudformation list-stack-instances --stack-set-name ${stackSet}${spec.callAs === 'DELEGATED_ADMIN' ? ' --call-as DELEGATED_ADMIN' : ''}) and check the StackSet's deployment targets.`
          : 'Fix the fleet entry\'s accounts or excludeAccounts.',
      );
    }
    const joined = accounts.filter((a) => !this.accounts.has(a));
    // An account whose instance is not CURRENT is still the StackSet's: its runtime (and credentials) wait for it.
    const waiting = new Set(notCurrent.map((s) => s.account));
    const left = [...this.accounts.keys()].filter((a) => !accounts.includes(a) && !waiting.has(a));
    for (const account of left) {
      const runtime = this.accounts.get(account) as R;
      this.accounts.delete(account);
      this.ports.dispose(runtime);
    }
    for (const account of joined) this.accounts.set(account, this.ports.build(accountTargetSpec(spec, account, this.partition), account));
    return { runtimes: accounts.map((a) => this.accounts.get(a) as R), accounts, joined, left, skipped, notCurrent };
  }
}
