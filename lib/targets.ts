import { Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { GUARD_RANGES as DOMAIN_GUARD_RANGES } from '../lambda/allowlist/guards';
import type { KindName } from '../lambda/kinds/kind';
import { DEPLOYABLE_KINDS, KINDS } from '../lambda/kinds/registry';
import * as v from '../lambda/validate';
import type { PrincipalKind, PrincipalRef } from '../lambda/validate';
import { isCreatedRole, literalRoleName, principalRef } from './principals';
import type { PrincipalInput } from './principals';
import { checkShapes, show } from './shapes';
import type { ShapeName } from './shapes';

export { literalRoleName, principalRef, principalText } from './principals';
export type { PrincipalInput } from './principals';

/**
 * Targets of one deployment (the main allowlist is target 0): their props, and the validation shared by the
 * construct (which names props) and the context parser (which names the `targets` key). Kept free of constructs
 * so either can use it before anything is built. What a kind is (its size limit, its actions) is the kinds'
 * registry's (lambda/kinds/), read here, never restated.
 */

/** Where a target's allowlist lives: a kind the function can keep (lambda/kinds/registry.ts). */
export type AllowlistTargetKind = Exclude<KindName, 'file'>;

/** Every kind a deployment can keep. */
export const TARGET_KINDS = DEPLOYABLE_KINDS as readonly AllowlistTargetKind[];

/**
 * The largest document IAM takes for each kind, once its quota is raised as far as it goes (a managed policy
 * 6,144; a role's trust policy 2,048 by default, 4,096 at most; a role's inline policies 10,240 in total).
 */
export const TARGET_SIZE_LIMITS = Object.fromEntries(TARGET_KINDS.map((k) => [k, KINDS[k].sizeLimit.max])) as Readonly<Record<AllowlistTargetKind, number>>;

/** Guard overrides of one target; unset ones keep the function's defaults. */
export interface AllowlistTargetGuards {
  /** Refuse a list with fewer entries than this. @default - the function's default (1) */
  readonly minEntries?: number;
  /** Refuse a change removing more than this fraction of entries, 0-1. @default - the function's default (0.3) */
  readonly maxRemovalFraction?: number;
  /** Refuse IPv4 CIDRs broader than this prefix length. @default - the function's default (8) */
  readonly broadestIpv4Prefix?: number;
  /** Refuse IPv6 CIDRs broader than this prefix length. @default - the function's default (32) */
  readonly broadestIpv6Prefix?: number;
  /** Refuse a plan newly allowing more IPv4 addresses than this. @default - the function's default (65,536: one /16) */
  readonly maxAddedIpv4Addresses?: number;
  /** Refuse a plan newly allowing more IPv6 addresses than one block of this prefix holds. @default - the function's default (40) */
  readonly maxAddedIpv6Prefix?: number;
  /** Days the largest allowlist in force stays the removal guard's baseline. @default - the function's default (7) */
  readonly baselineWindowDays?: number;
  /** Hours an approval of a refused plan stays valid after the refusal. @default - the function's default (24) */
  readonly approvalMaxAgeHours?: number;
  /** Refuse a document larger than this (non-whitespace characters); raise it for a trust policy once the account's quota is raised (at most 4,096). @default - the kind's IAM limit as the function knows it */
  readonly sizeLimit?: number;
}

/** Condition options of one target's deny statement. */
export interface AllowlistTargetConditions {
  /** `Bool aws:ViaAWSService false`: AWS services calling on the caller's behalf stay allowed. @default true */
  readonly viaAwsServiceExemption?: boolean;
  /** `Null kms:ViaService true`: KMS calls made through another service stay allowed. @default false */
  readonly kmsViaServiceExemption?: boolean;
  /**
   * VPC ids (`vpc-...`) and VPC endpoint ids (`vpce-...`) whose requests are exempt from the deny (requests
   * through a VPC endpoint carry no `aws:SourceIp`). Whoever can use a listed VPC or endpoint is then trusted.
   * @default - none
   */
  readonly vpcExemption?: string[];
}

/**
 * One more allowlist kept by the same deployment, with its own sources, guards and alarms. Which
 * fields apply depends on `kind`; a field that does not apply is refused rather than ignored.
 */
export interface AllowlistTargetProps {
  /** Unique short name (1-64 of A-Z a-z 0-9 . _ -): alert subjects, alarm names, the metrics `service` dimension. */
  readonly name: string;
  /** managed-policy: a customer managed policy (created here, or adopted); trust-policy: a role's trust policy; inline-policy: an inline policy on a role. */
  readonly kind: AllowlistTargetKind;

  /** Take Red Hat OCM's trusted IP list as a source (with the deployment's OCM credentials). @default false */
  readonly ocm?: boolean;
  /** CIDRs always in this allowlist (a `static:` source). @default - none */
  readonly cidrs?: string[];
  /** Name of an SSM String or StringList parameter holding more CIDRs (an `ssm:` source, read on every run). @default - none */
  readonly cidrsParameterName?: string;
  /** Guard overrides. @default - the function's defaults */
  readonly guards?: AllowlistTargetGuards;
  /** Condition options of the deny statement. @default - viaAwsServiceExemption on, kmsViaServiceExemption off */
  readonly conditions?: AllowlistTargetConditions;
  /** Keep only the sources' addresses inside these CIDRs (a subset of a shared list, e.g. for a 2,048-character trust policy). @default - all */
  readonly include?: string[];
  /** Leave out the sources' addresses inside these CIDRs. @default - none */
  readonly exclude?: string[];
  /** Plan and alert, never write this target. @default false */
  readonly dryRun?: boolean;

  /** managed-policy: ARN of an existing customer managed policy to adopt. @default - a policy is created (constant placeholder, retained) */
  readonly existingPolicyArn?: string;
  /** managed-policy: name of the created policy (immutable); inline-policy (required): the inline policy's name on the role. @default - generated (managed-policy) */
  readonly policyName?: string;
  /** managed-policy: IAM path of the created policy (immutable). @default '/' */
  readonly policyPath?: string;
  /** managed-policy: existing roles (names, ARNs for roles with a path, or `iam.IRole`) to attach it to. @default - none */
  readonly attachToRoles?: Array<string | iam.IRole>;
  /** managed-policy: existing users (names, ARNs or `iam.IUser`) to attach it to, e.g. CI machines. @default - none */
  readonly attachToUsers?: Array<string | iam.IUser>;
  /** managed-policy: existing groups (names, ARNs or `iam.IGroup`) to attach it to. @default - none */
  readonly attachToGroups?: Array<string | iam.IGroup>;

  /** trust-policy and inline-policy (required): the role, by name, by ARN for a role with a path, or as `iam.IRole`. */
  readonly roleName?: string | iam.IRole;
  /** trust-policy (required): ARNs of the principals that may assume the role only from the listed addresses. */
  readonly principals?: string[];
}

/** A target that cannot be used: which one (index, name when known), which field, and why. */
export class TargetError extends Error {
  constructor(
    /** Position in the list. */
    public readonly index: number,
    /** The target's name, when it has a usable one. */
    public readonly targetName: string | undefined,
    /** The offending field, when one is to blame. */
    public readonly field: string | undefined,
    /** What is wrong. */
    public readonly problem: string,
  ) {
    super(`${TargetError.where(index, targetName, field)}: ${problem}`);
    this.name = 'TargetError';
  }

  /** `[1] ("office-vpn").roleName`: where a problem is, for messages that prefix it with the list's name. */
  static where(index: number, targetName: string | undefined, field: string | undefined): string {
    return `[${index}]${targetName ? ` ("${targetName}")` : ''}${field ? `.${field}` : ''}`;
  }
}

/** What the main target contributes to the cross-target checks. */
export interface MainTarget {
  /** The main allowlist's name (a target may not reuse it). */
  readonly name: string;
  /** The main target's adopted policy, when any (a target may not write it too). */
  readonly existingPolicyArn?: string;
}

const ALL = TARGET_KINDS;
const FIELDS: Record<keyof AllowlistTargetProps, { type: ShapeName; kinds: readonly AllowlistTargetKind[] }> = {
  name: { type: 'string', kinds: ALL },
  kind: { type: 'string', kinds: ALL },
  ocm: { type: 'boolean', kinds: ALL },
  cidrs: { type: 'strings', kinds: ALL },
  cidrsParameterName: { type: 'string', kinds: ALL },
  guards: { type: 'object', kinds: ALL },
  conditions: { type: 'object', kinds: ALL },
  include: { type: 'strings', kinds: ALL },
  exclude: { type: 'strings', kinds: ALL },
  dryRun: { type: 'boolean', kinds: ALL },
  existingPolicyArn: { type: 'string', kinds: ['managed-policy'] },
  policyName: { type: 'string', kinds: ['managed-policy', 'inline-policy'] },
  policyPath: { type: 'string', kinds: ['managed-policy'] },
  attachToRoles: { type: 'roles', kinds: ['managed-policy'] },
  attachToUsers: { type: 'users', kinds: ['managed-policy'] },
  attachToGroups: { type: 'groups', kinds: ['managed-policy'] },
  roleName: { type: 'role', kinds: ['trust-policy', 'inline-policy'] },
  principals: { type: 'strings', kinds: ['trust-policy'] },
};
// One table of ranges for the function, the CLI and the construct.
const GUARD_RANGES: Readonly<Record<keyof AllowlistTargetGuards, readonly [min: number, max: number, integer: boolean]>> = DOMAIN_GUARD_RANGES;
const CONDITIONS: ReadonlyArray<keyof AllowlistTargetConditions> = ['viaAwsServiceExemption', 'kmsViaServiceExemption', 'vpcExemption'];
const ATTACH: ReadonlyArray<[PrincipalKind, 'attachToRoles' | 'attachToUsers' | 'attachToGroups']> = [
  ['role', 'attachToRoles'],
  ['user', 'attachToUsers'],
  ['group', 'attachToGroups'],
];

const literal = (s: string) => !Token.isUnresolved(s);

/** Says what is wrong with a field (undefined: the target as a whole) and stops. */
export type FieldFail = (field: string | undefined, problem: string) => never;

/** The principals a managed-policy target is attached to, parsed; a bad or repeated one fails, naming its field. */
export function attachmentsOf(
  target: Pick<AllowlistTargetProps, 'attachToRoles' | 'attachToUsers' | 'attachToGroups'>,
  fail: FieldFail,
): Array<{ kind: PrincipalKind; ref: PrincipalRef }> {
  const out: Array<{ kind: PrincipalKind; ref: PrincipalRef }> = [];
  for (const [principalKind, field] of ATTACH) {
    const seen = new Set<string>();
    for (const entry of target[field] ?? []) {
      const ref = principalRef(principalKind, entry);
      if (typeof ref === 'string') return fail(field, ref);
      out.push({ kind: principalKind, ref });
      if (!literal(ref.name)) continue;
      // IAM names are unique regardless of case; a duplicate would attach twice and detach early.
      if (seen.has(ref.name.toLowerCase())) fail(field, `"${ref.name}" is listed twice`);
      seen.add(ref.name.toLowerCase());
    }
  }
  return out;
}

/**
 * The allowlist on the sync function's own role would lock it out of ever fixing what it keeps: no trust or inline
 * policy on it, no managed policy attached to it. Any role named with the construct's prefix is its function role
 * in some region, so all are refused (names built with a token keep their literal parts, so those are caught too).
 */
export function refuseOwnRole(target: Pick<AllowlistTargetProps, 'roleName' | 'attachToRoles'>, rolePrefix: string, fail: FieldFail): void {
  const prefix = `${rolePrefix}-`.toLowerCase();
  const roles: Array<[string, PrincipalInput]> = [
    ...(target.roleName !== undefined ? [['roleName', target.roleName] as [string, PrincipalInput]] : []),
    ...(target.attachToRoles ?? []).map((r) => ['attachToRoles', r] as [string, PrincipalInput]),
  ];
  for (const [field, value] of roles) {
    const ref = principalRef('role', value);
    if (typeof ref === 'string' || !ref.name.toLowerCase().startsWith(prefix)) continue;
    fail(field, `"${ref.name}" is the sync function's own role; an allowlist there would lock the function out of the policies it maintains`);
  }
}

/** Validates one target, from code or from JSON; throws a {@link TargetError} naming the target and field. */
export function validateTarget(value: unknown, index: number): AllowlistTargetProps {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TargetError(index, undefined, undefined, `expected an object, got ${JSON.stringify(value)}`);
  const t = value as Record<string, unknown>;
  const name = typeof t.name === 'string' && literal(t.name) && !v.checkAllowlistName(t.name) ? t.name : undefined;
  return checkTarget(t, (field, problem) => {
    throw new TargetError(index, name, field, problem);
  });
}

/**
 * Checks one target, reporting through `fail`: the additional targets name `additionalTargets[i] ("name").field`,
 * the main allowlist names its own props (its sources and guards are props of the construct).
 */
export function checkTarget(t: Record<string, unknown>, fail: FieldFail): AllowlistTargetProps {
  if (t.name === undefined) fail('name', 'is required');
  if (typeof t.name !== 'string') fail('name', `expected a string, got ${JSON.stringify(t.name)}`);
  if (!literal(t.name as string)) fail('name', 'must be a literal string (it names alarms and construct ids), not a token');
  const nameProblem = v.checkAllowlistName(t.name as string);
  if (nameProblem) fail('name', nameProblem);
  if (!TARGET_KINDS.includes(t.kind as AllowlistTargetKind)) fail('kind', `${JSON.stringify(t.kind)} is not one of ${TARGET_KINDS.join(', ')}`);
  const kind = t.kind as AllowlistTargetKind;

  assertShape(t, kind, fail);
  const target = t;
  const check = (field: string, s: string | undefined, checker: (s: string) => string | undefined) => {
    if (s === undefined || !literal(s)) return;
    const problem = checker(s);
    if (problem) fail(field, problem);
  };

  // Kind-specific requirements.
  if (kind === 'managed-policy') {
    check('existingPolicyArn', target.existingPolicyArn, v.checkPolicyArn);
    check('policyName', target.policyName, v.checkPolicyName);
    check('policyPath', target.policyPath, v.checkIamPath);
    if (target.existingPolicyArn !== undefined) {
      for (const field of ['policyName', 'policyPath'] as const) {
        if (target[field] !== undefined) fail(field, 'does not apply with existingPolicyArn (an adopted policy is not created by the stack)');
      }
    }
    attachmentsOf(target, fail);
  } else {
    if (target.roleName === undefined) fail('roleName', `is required for a ${kind} target (the role whose ${KINDS[kind].title} holds the allowlist)`);
    const ref = principalRef('role', target.roleName as PrincipalInput);
    if (typeof ref === 'string') fail('roleName', ref);
  }
  if (kind === 'inline-policy') {
    if (target.policyName === undefined) fail('policyName', 'is required for an inline-policy target (the inline policy\'s name on the role)');
    check('policyName', target.policyName, v.checkPolicyName);
  }
  if (kind === 'trust-policy') {
    // One writer: CloudFormation owns the trust policy of a role it creates and puts its own back on an update.
    if (isCreatedRole(target.roleName)) {
      fail('roleName', `${show(target.roleName)} is a role this CDK app creates, so CloudFormation owns its trust policy and would put its own back; keep the allowlist in an inline-policy target on it, or a managed policy attached to it`);
    }
    if (!target.principals?.length) fail('principals', 'must list at least one principal ARN (the deny must name who it applies to)');
    for (const p of target.principals ?? []) check('principals', p, v.checkAssumingPrincipalArn);
  }

  // Sources: at least one.
  if (!target.ocm && !target.cidrs?.length && target.cidrsParameterName === undefined) {
    fail(undefined, 'has no source: set ocm: true, cidrs, or cidrsParameterName');
  }
  for (const cidr of target.cidrs ?? []) check('cidrs', cidr, v.checkCidr);
  check('cidrsParameterName', target.cidrsParameterName, v.checkParameterName);

  for (const [key, guard] of Object.entries(target.guards ?? {})) {
    if (guard === undefined) continue;
    const range = GUARD_RANGES[key as keyof AllowlistTargetGuards];
    if (!range) fail(`guards.${key}`, `${v.unknownField(key, Object.keys(GUARD_RANGES), 'a guard')}; given ${show(guard)}`);
    if (typeof guard !== 'number') fail(`guards.${key}`, `expected a number, got ${JSON.stringify(guard)}`);
    if (Token.isUnresolved(guard)) continue;
    const [min, max, integer] = key === 'sizeLimit' ? [1, TARGET_SIZE_LIMITS[kind], true] : range;
    const problem = v.checkNumber(guard as number, min, max, integer);
    if (problem) fail(`guards.${key}`, key === 'sizeLimit' ? `${problem} (IAM's limit for a ${kind})` : problem);
  }
  for (const [key, condition] of Object.entries(target.conditions ?? {})) {
    if (condition === undefined) continue;
    if (!CONDITIONS.includes(key as keyof AllowlistTargetConditions)) fail(`conditions.${key}`, `${v.unknownField(key, CONDITIONS, 'a condition option')}; given ${show(condition)}`);
    if (key === 'vpcExemption') {
      if (!Array.isArray(condition) || !condition.every((id) => typeof id === 'string')) fail(`conditions.${key}`, `expected a list of VPC or VPC endpoint ids, got ${JSON.stringify(condition)}`);
      for (const id of condition as string[]) check(`conditions.${key}`, id, v.checkVpcExemptionId);
      continue;
    }
    if (typeof condition !== 'boolean') fail(`conditions.${key}`, `expected true or false, got ${JSON.stringify(condition)}`);
  }
  for (const field of ['include', 'exclude'] as const) for (const cidr of target[field] ?? []) check(field, cidr, v.checkFilterCidr);
  if (target.include !== undefined && target.include.length === 0) fail('include', 'is empty, which keeps nothing: leave it unset to keep every address of the sources');
  return target;
}

/** Known fields only, each of its shape, each meant for this kind: then `t` is the props it claims to be. */
function assertShape(t: Record<string, unknown>, kind: AllowlistTargetKind, fail: FieldFail): asserts t is Record<string, unknown> & AllowlistTargetProps {
  const shapes = Object.fromEntries(Object.entries(FIELDS).map(([field, spec]) => [field, spec.type])) as Record<string, ShapeName>;
  checkShapes(t, shapes, 'a target field', fail);
  for (const [field, fieldValue] of Object.entries(t)) {
    if (fieldValue === undefined) continue;
    const spec = FIELDS[field as keyof AllowlistTargetProps];
    if (!spec.kinds.includes(kind)) fail(field, `does not apply to ${kind} targets (only to ${spec.kinds.join(' and ')})`);
  }
}

/**
 * Validates the whole list: each target, then what only the list shows. Names are unique (and not the
 * main allowlist's), and no two targets write the same document: one writer per policy.
 */
export function validateTargets(value: unknown, main: MainTarget): AllowlistTargetProps[] {
  if (!Array.isArray(value)) throw new TargetError(0, undefined, undefined, `expected a list of targets, got ${JSON.stringify(value)}`);
  const targets = value.map((t, i) => validateTarget(t, i));
  const seen = new Map<string, string>();
  const claim = (key: string, index: number, name: string, field: string | undefined, what: string) => {
    const owner = seen.get(key);
    if (owner !== undefined) throw new TargetError(index, name, field, `${what} is already ${owner}`);
    seen.set(key, `${index < 0 ? 'the main allowlist' : `target "${name}"`}'s`);
  };
  // The one-writer keys are the kinds' own (lambda/kinds/), so the construct refuses what the function would.
  const claims = (t: AllowlistTargetProps, i: number) => {
    const out: Array<[string, string | undefined, string]> = [[`name:${t.name.toLowerCase()}`, 'name', `the name "${t.name}"`]];
    const roleName = literalRoleName(t.roleName);
    const base = { name: t.name, sources: [] };
    if (t.kind === 'managed-policy' && t.existingPolicyArn && literal(t.existingPolicyArn)) {
      out.push([KINDS['managed-policy'].documentKey({ ...base, kind: t.kind, policyArn: t.existingPolicyArn }), 'existingPolicyArn', `the policy ${t.existingPolicyArn}`]);
    }
    if (t.kind === 'trust-policy' && roleName) {
      out.push([KINDS['trust-policy'].documentKey({ ...base, kind: t.kind, roleName, principals: [] }), 'roleName', `the trust policy of role "${roleName}"`]);
    }
    if (t.kind === 'inline-policy' && roleName && t.policyName && literal(t.policyName)) {
      out.push([KINDS['inline-policy'].documentKey({ ...base, kind: t.kind, roleName, policyName: t.policyName }), 'policyName', `the inline policy "${t.policyName}" of role "${roleName}"`]);
    }
    return out.map(([key, field, what]) => ({ key, field, what, i }));
  };
  const mainClaims = [{ key: `name:${main.name.toLowerCase()}`, field: 'name', what: `the name "${main.name}"` }];
  if (main.existingPolicyArn) mainClaims.push({ key: main.existingPolicyArn, field: 'existingPolicyArn', what: `the policy ${main.existingPolicyArn}` });
  for (const c of mainClaims) claim(c.key, -1, main.name, c.field, c.what);
  targets.forEach((t, i) => {
    for (const c of claims(t, i)) claim(c.key, i, t.name, c.field, c.what);
  });
  return targets;
}
