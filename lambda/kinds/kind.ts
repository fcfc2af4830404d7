import type { IAMClient } from '@aws-sdk/client-iam';
import type { ConditionOptions, Guards, PolicyShape } from '../allowlist';
import type { Log, PolicyType, Target } from '../ports';

// A target kind is a type plus how to keep it, registered once (kinds/registry.ts): its spec, its validation, its
// one-writer key, its size limit, the IAM actions it needs, its CLI spelling, the shape of its document and how its
// adapter is built. The Lambda, the CLI and the construct all read the kinds from the registry.

/** What every target spec carries, whatever its kind. */
export interface TargetSpecBase {
  /** Unique short name: alert subjects, metrics dimension. */
  name: string;
  /** `ocm`, `static:CIDR,CIDR...`, `ssm:PARAMETER_NAME` or `file:PATH` (sources/grammar.ts). */
  sources: string[];
  /** Guard overrides; `sizeLimit` also raises a trust policy's default 2,048 when the account's quota is higher. */
  guards?: Partial<Guards>;
  conditions?: ConditionOptions;
  /** Only the addresses of the sources inside these blocks (a subset of a shared list). */
  include?: string[];
  /** None of the addresses of the sources inside these blocks. */
  exclude?: string[];
  /** Plan and alert, never write. */
  dryRun?: boolean;
}

/** A customer managed policy (the OCM allowlist's home). */
export interface ManagedPolicySpec extends TargetSpecBase {
  kind: 'managed-policy';
  policyArn: string;
  /** Principals (names, or ARNs for those with a path) the policy must stay attached to: checked every run. */
  attachToRoles?: string[];
  attachToUsers?: string[];
  attachToGroups?: string[];
  /** Attach the policy again to a listed principal found without it (default true; false only alerts). */
  reattach?: boolean;
}

/** One Deny of sts:AssumeRole in a role's trust policy. */
export interface TrustPolicySpec extends TargetSpecBase {
  kind: 'trust-policy';
  roleName: string;
  /** The AWS principals (ARNs) that may assume the role only from the listed addresses. */
  principals: string[];
}

/** An inline deny policy on a role. */
export interface InlinePolicySpec extends TargetSpecBase {
  kind: 'inline-policy';
  roleName: string;
  policyName: string;
}

/** A policy document in a local file (the CLI and the offline demo; the function never keeps one). */
export interface FileSpec extends TargetSpecBase {
  kind: 'file';
  path: string;
}

/** A fleet's accounts: a list of 12-digit account ids, or `stackset:NAME` (every account with a CURRENT instance of it). */
export type FleetAccounts = string[] | `stackset:${string}`;

/** Who ListStackInstances is called as: the StackSet's own account, or a CloudFormation delegated administrator. */
export type CallAs = 'SELF' | 'DELEGATED_ADMIN';

/**
 * One managed policy in many accounts (a `managed-policy` entry of ALLOWLIST_TARGETS with `accounts`). Each account
 * becomes its own managed-policy target named `NAME/ACCOUNT_ID`, kept through the role the function assumes there
 * (lambda/fleet.ts): an account is one more attribute of a target, not another kind.
 */
export interface FleetSpec extends TargetSpecBase {
  kind: 'managed-policy';
  accounts: FleetAccounts;
  /** The policy's name in every account. */
  policyName: string;
  /** The policy's path. @default '/' */
  policyPath?: string;
  /** The role assumed in each account, `arn:PARTITION:iam::ACCOUNT:role/NAME`. @default 'AllowlistSyncSpoke' */
  assumeRoleName?: string;
  /** ListStackInstances' CallAs, with `stackset:NAME`. @default 'SELF' */
  callAs?: CallAs;
  /** Accounts never touched, whatever the list or the StackSet says. */
  excludeAccounts?: string[];
  /** Each account's roles (names) the policy must stay attached to. */
  attachToRoles?: string[];
  /** Attach the policy again to a listed role found without it (default true; false only alerts). */
  reattach?: boolean;
}

/** One entry of ALLOWLIST_TARGETS: a target, or a fleet of them. */
export type TargetEntry = TargetSpec | FleetSpec;

/** True for a fleet entry (it carries `accounts`). */
export function isFleetSpec(entry: TargetEntry): entry is FleetSpec {
  return 'accounts' in entry;
}

/** Every kind of target, as a discriminated union. */
export type TargetSpec = ManagedPolicySpec | TrustPolicySpec | InlinePolicySpec | FileSpec;

/** The name of a kind. */
export type KindName = TargetSpec['kind'];

/** The spec of one kind. */
export type SpecOf<K extends KindName> = Extract<TargetSpec, { kind: K }>;

/** The fields of a kind's spec beyond the common ones. */
export type OwnFields<K extends KindName> = Omit<SpecOf<K>, keyof TargetSpecBase | 'kind'>;

/** What building an adapter needs. */
export interface AdapterDeps {
  /** The IAM client, created on first use (a file target needs none). */
  iam: () => IAMClient;
  log?: Log;
  /** Waits for IAM to report a new default version. */
  confirmDelaysMs?: readonly number[];
}

/** Says what is wrong with a field and stops: the caller names the target (and the variable or flag). */
export type Fail = (field: string, problem: string) => never;

/** One kind of target: everything the rest of the tool needs to know about it. */
export interface TargetKind<K extends KindName> {
  readonly kind: K;
  /** Human name, for messages: `managed policy`, `trust policy`. */
  readonly title: string;
  /** False for kinds only the CLI keeps (a local file): ALLOWLIST_TARGETS and the construct refuse them. */
  readonly deployable: boolean;
  /** The spec's own fields (beyond name, sources, guards, conditions, dryRun), for unknown-key checks. */
  readonly fields: readonly (keyof OwnFields<K>)[];
  /** Those of `fields` a spec may leave out (the CLI's spelling never carries them). */
  readonly optionalFields?: readonly (keyof OwnFields<K>)[];
  /** Checks and returns the kind's own fields of a raw spec (JSON from ALLOWLIST_TARGETS). */
  validate(raw: Record<string, unknown>, fail: Fail): OwnFields<K>;
  /** The one-writer key of the document: two targets with the same key write the same document. */
  documentKey(spec: SpecOf<K>): string;
  /** IAM's limit for the document, and the most a raised quota allows (non-whitespace characters). */
  readonly sizeLimit: { readonly default: number; readonly max: number };
  /** What the function may do on the resource: reads, and writes on that resource only. */
  readonly actions: { readonly read: readonly string[]; readonly write: readonly string[] };
  /** The CLI spelling's prefix: `iam` for `--target iam:ARN`. */
  readonly prefix: string;
  /** The kind's own fields from the CLI's argument (after `prefix:`), or what is wrong with it. */
  parseCli(argument: string, options: { principals: readonly string[] }): OwnFields<K> | string;
  /** The CLI's `--target` (and flags) for a spec: what an alert tells an operator to type. */
  formatCli(spec: SpecOf<K>): string;
  /** What the AWS policy engines are told the document is (POLICY_CHECKS); unset, they are not asked (a local file). */
  readonly policyType?: PolicyType;
  /** The shape of the document: what the tool owns in it and how it renders. */
  shape(spec: SpecOf<K>): PolicyShape;
  /** The adapter that reads and writes it. */
  target(spec: SpecOf<K>, deps: AdapterDeps): Target;
  /** What results and alerts name: a policy ARN, `role/NAME (trust policy)`. */
  resource(spec: SpecOf<K>): string;
  /**
   * Targets whose lanes are equal are written one after the other, never at once (two inline policies of one role
   * share its 10,240-character budget). Without it, a target is its own lane.
   */
  lane?(spec: SpecOf<K>): string;
}
