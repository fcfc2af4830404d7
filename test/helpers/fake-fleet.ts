/**
 * A fleet of accounts behind aws-sdk-client-mock: one FakeIam per account (its policy
 * `arn:aws:iam::ACCOUNT:policy/rosa-trusted-ips`), STS AssumeRole handing out credentials per account
 * (access key `ASIA<ACCOUNT>`, so every IAM call is checked to be signed for the account whose policy it names),
 * and ListStackInstances paged `pageSize` at a time. Attachments per account (ListEntitiesForPolicy,
 * AttachRolePolicy, and GetPolicy's AttachmentCount once `attached` has the account). `latencyMs` delays every STS and IAM answer; `maxInFlight` is the most accounts that had a call
 * outstanding at once.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  SetDefaultPolicyVersionCommand,
  TagPolicyCommand,
  UntagPolicyCommand,
} from '@aws-sdk/client-iam';
import { ListStackInstancesCommand, StackInstanceSummary, StackSetNotFoundException } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, STSServiceException } from '@aws-sdk/client-sts';
import type { cfnMock, iamMock, stsMock } from './lambda-harness';
import { FakeIam, IamMock } from './fake-iam';

export const POLICY_NAME = 'rosa-trusted-ips';
export const STACK_SET = 'AllowlistSyncSpoke';
export const policyArnOf = (account: string): string => `arn:aws:iam::${account}:policy/${POLICY_NAME}`;
export const roleArnOf = (account: string, role = 'AllowlistSyncSpoke'): string => `arn:aws:iam::${account}:role/${role}`;
/** `count` account ids, 100000000001 on. */
export const accountIds = (count: number, from = 1): string[] => Array.from({ length: count }, (_, i) => String(100000000000 + from + i));

const IAM_COMMANDS = [
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListPolicyVersionsCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  SetDefaultPolicyVersionCommand,
  ListPolicyTagsCommand,
  TagPolicyCommand,
  UntagPolicyCommand,
] as const;

type Handler = (input: Record<string, unknown>) => unknown;

/** The function's own credentials (AWS_ACCESS_KEY_ID in the fleet tests' environment). */
export const HUB_ACCESS_KEY = 'AKIAHUBEXAMPLE000001';
export const HUB_CREDENTIALS = { AWS_ACCESS_KEY_ID: HUB_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'hub-secret-not-real' };
const hubAccount = (hub: FakeIam): string => /^arn:aws:iam::(\d{12}):/.exec(hub.arn)?.[1] ?? 'hub';

/** STS's AccessDenied for AssumeRole (a missing role reads the same). */
export function assumeDenied(roleArn: string): STSServiceException {
  return new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: `User: arn:aws:sts::123456789012:assumed-role/allowlist-sync-role/allowlist-sync-fn is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    $metadata: { httpStatusCode: 403 },
  });
}

export class FakeFleet {
  readonly iams = new Map<string, FakeIam>();
  /** Stack instances as ListStackInstances lists them. */
  instances: StackInstanceSummary[] = [];
  pageSize = 2;
  /** How long issued credentials live; default one hour. */
  credentialsTtlMs = 3600_000;
  /** AssumeRole of these accounts fails with the error. */
  readonly assumeFailures = new Map<string, Error>();
  /** ListStackInstances fails with this. */
  listFailure: Error | undefined;
  /** Roles each account's policy is attached to. */
  readonly attached = new Map<string, Set<string>>();
  latencyMs = 0;
  maxInFlight = 0;
  /** Every IAM call as `ACCOUNT Action`. */
  readonly iamCalls: string[] = [];
  private readonly inFlight = new Map<string, number>();

  constructor(accounts: readonly string[], document: string) {
    for (const account of accounts) this.add(account, document);
  }

  /** An account joins: its policy exists with `document`, and a CURRENT stack instance lists it. */
  add(account: string, document: string, status: StackInstanceSummary['Status'] = 'CURRENT'): FakeIam {
    const fake = new FakeIam({ arn: policyArnOf(account), document });
    this.iams.set(account, fake);
    this.instances.push({ StackSetId: `${STACK_SET}:1`, Region: 'eu-west-1', Account: account, Status: status, StackInstanceStatus: { DetailedStatus: status === 'CURRENT' ? 'SUCCEEDED' : 'FAILED' } });
    return fake;
  }

  /** An account leaves the StackSet (its policy stays, as the spoke template retains it). */
  remove(account: string): void {
    this.instances = this.instances.filter((i) => i.Account !== account);
  }

  iam(account: string): FakeIam {
    const fake = this.iams.get(account);
    if (!fake) throw new Error(`fake fleet: no account ${account}`);
    return fake;
  }

  /** IAM calls per account, e.g. `{ '100000000001': ['GetPolicy', 'GetPolicyVersion'] }`. */
  callsByAccount(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const call of this.iamCalls) {
      const [account, action] = call.split(' ');
      (out[account] ??= []).push(action);
    }
    return out;
  }

  private async enter<T>(account: string, run: () => T | Promise<T>): Promise<T> {
    this.inFlight.set(account, (this.inFlight.get(account) ?? 0) + 1);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      return await run();
    } finally {
      const left = (this.inFlight.get(account) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(account);
      else this.inFlight.set(account, left);
    }
  }

  /**
   * Registers the fleet's answers on the harness's mocks (after their reset). `hub`: the hub account's own policy
   * (the harness's FakeIam), for calls signed with the function's own credentials on a policy outside the fleet.
   */
  install(iam: typeof iamMock, sts: typeof stsMock, cfn: typeof cfnMock, hub?: FakeIam): void {
    const handlers = new Map<string, Map<unknown, Handler>>();
    for (const [account, fake] of [...this.iams, ...(hub ? ([[hubAccount(hub), hub]] as const) : [])]) {
      const own = new Map<unknown, Handler>();
      const recorder = { on: (command: unknown) => ({ callsFake: (fn: Handler) => own.set(command, fn) }) };
      fake.install(recorder as unknown as IamMock);
      handlers.set(account, own);
    }
    const accountOf = (arn: unknown): string => /^arn:aws:iam::(\d{12}):/.exec(String(arn))?.[1] ?? 'unknown';
    for (const command of IAM_COMMANDS) {
      iam.on(command as typeof GetPolicyCommand).callsFake(async (input: Record<string, unknown>, getClient: () => { config: { credentials: () => Promise<{ accessKeyId: string }> } }) => {
        const account = accountOf(input.PolicyArn);
        const { accessKeyId } = await getClient().config.credentials();
        // Every call on an account's policy is signed with that account's assumed credentials, never the hub's.
        const expected = hub && account === hubAccount(hub) ? HUB_ACCESS_KEY : `ASIA${account}`;
        if (accessKeyId !== expected) throw new Error(`fake fleet: ${command.name} on ${String(input.PolicyArn)} signed with ${accessKeyId}`);
        this.iamCalls.push(`${account} ${command.name.replace(/Command$/, '')}`);
        const handler = handlers.get(account)?.get(command);
        if (!handler) throw new Error(`fake fleet: no account ${account}`);
        const answer = await this.enter(account, () => handler(input));
        // GetPolicy's AttachmentCount is the account's attachments as ListEntitiesForPolicy lists them.
        if (command === GetPolicyCommand && this.attached.has(account)) {
          const { Policy } = answer as { Policy: Record<string, unknown> };
          return { ...(answer as object), Policy: { ...Policy, AttachmentCount: this.attached.get(account)?.size ?? 0 } };
        }
        return answer;
      });
    }
    iam.on(ListEntitiesForPolicyCommand).callsFake((input: { PolicyArn: string }) => {
      const account = accountOf(input.PolicyArn);
      this.iamCalls.push(`${account} ListEntitiesForPolicy`);
      return this.enter(account, () => ({ PolicyRoles: [...(this.attached.get(account) ?? [])].map((RoleName) => ({ RoleName })), IsTruncated: false }));
    });
    iam.on(AttachRolePolicyCommand).callsFake((input: { PolicyArn: string; RoleName: string }) => {
      const account = accountOf(input.PolicyArn);
      this.iamCalls.push(`${account} AttachRolePolicy`);
      return this.enter(account, () => {
        const roles = this.attached.get(account) ?? new Set<string>();
        roles.add(input.RoleName);
        this.attached.set(account, roles);
        return {};
      });
    });
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string; RoleSessionName: string }) => {
      const account = /^arn:aws:iam::(\d{12}):role\//.exec(input.RoleArn)?.[1] ?? 'unknown';
      return this.enter(account, () => {
        const failure = this.assumeFailures.get(account);
        if (failure) throw failure;
        return {
          Credentials: { AccessKeyId: `ASIA${account}`, SecretAccessKey: `secret-of-${account}`, SessionToken: `token-of-${account}`, Expiration: new Date(Date.now() + this.credentialsTtlMs) },
          AssumedRoleUser: { Arn: `arn:aws:sts::${account}:assumed-role/AllowlistSyncSpoke/${input.RoleSessionName}`, AssumedRoleId: 'AROAEXAMPLE:allowlist-sync' },
        };
      });
    });
    cfn.on(ListStackInstancesCommand).callsFake((input: { StackSetName: string; NextToken?: string }) => {
      if (this.listFailure) throw this.listFailure;
      if (input.StackSetName !== STACK_SET) throw new StackSetNotFoundException({ message: `StackSet ${input.StackSetName} not found`, $metadata: { httpStatusCode: 404 } });
      const start = Number(input.NextToken ?? '0');
      const next = start + this.pageSize;
      return { Summaries: this.instances.slice(start, next), ...(next < this.instances.length ? { NextToken: String(next) } : {}) };
    });
  }
}
