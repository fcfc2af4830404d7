import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TargetSpec } from '../lambda/kinds/kind';
import { KINDS } from '../lambda/kinds/registry';
import { formatSource } from '../lambda/sources/grammar';
import { PLACEHOLDER_POLICY_DOCUMENT, POLICY_DESCRIPTION } from './placeholder-policy';
import { PolicyAttachments } from './policy-attachments';
import type { AlarmTiming } from './schedule';
import { TargetAlarms } from './sync-alarms';
import { attachmentsOf, principalRef, principalText } from './targets';
import type { PrincipalInput } from './targets';
import type { AllowlistTargetKind, AllowlistTargetProps } from './targets';
import type { PrincipalKind, PrincipalRef } from '../lambda/validate';

/** What the function may do to each kind of target (reads, and writes on that one resource only): the kinds' own. */
export const TARGET_ACTIONS = Object.fromEntries(Object.entries(KINDS).filter(([, k]) => k.deployable).map(([name, k]) => [name, k.actions])) as Readonly<
  Record<AllowlistTargetKind, { readonly read: readonly string[]; readonly write: readonly string[] }>
>;

/** The allowlist's sources as the function reads them (lambda/sources/grammar.ts): `ocm`, `static:CIDR,...`, `ssm:NAME`. */
export function sourcesOf(s: { ocm?: boolean; cidrs?: string[]; cidrsParameterName?: string }): string[] {
  return [
    ...(s.ocm ? [formatSource({ kind: 'ocm' })] : []),
    ...(s.cidrs?.length ? [formatSource({ kind: 'static', entries: s.cidrs })] : []),
    ...(s.cidrsParameterName ? [formatSource({ kind: 'ssm', parameterName: s.cidrsParameterName })] : []),
  ];
}

/** ARN of an SSM parameter of this stack's account and region, by name (with or without a leading slash). */
export function parameterArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
}

/** The Sids of the function's statements on one target. */
export interface TargetSids {
  readonly read: string;
  readonly write: string;
  readonly readCidrs: string;
  /** Attaching the policy again to the principals it must stay attached to (attachTo*). */
  readonly reattach: string;
}

/** How {@link addTargetResources} builds one target's resources. */
export interface TargetResourceOptions {
  /** The sync function's role: it gets exactly this target's permissions. */
  readonly role: iam.IRole;
  /** Sids of its statements. */
  readonly sids: TargetSids;
  /** What becomes of a created policy when it leaves the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly policyRemovalPolicy?: RemovalPolicy;
}

/** One target's resources, and what the function is told about it. */
export interface TargetResources {
  /** managed-policy: the policy's ARN. */
  readonly policyArn?: string;
  /** managed-policy: the created policy; undefined when adopted. */
  readonly policy?: iam.CfnManagedPolicy;
  /** managed-policy: attachments to existing principals, when any. */
  readonly attachments?: PolicyAttachments;
  /** trust-policy and inline-policy: the role's ARN. */
  readonly roleArn?: string;
  /** The target's spec in ALLOWLIST_TARGETS. */
  readonly spec: TargetSpec;
}

/**
 * One target's resources in `scope`, the same way for the main allowlist (target 0, in the AllowlistSync construct
 * itself, so its logical IDs never change) and for every other target: its policy when the stack creates one (a
 * constant placeholder, never updated, retained), its attachments, the function's permissions on it and nothing else.
 */
export function addTargetResources(scope: Construct, t: AllowlistTargetProps, options: TargetResourceOptions): TargetResources {
  let resource: string;
  let own: Pick<TargetResources, 'policyArn' | 'policy' | 'attachments' | 'roleArn'>;
  let reattach: (() => void) | undefined;
  let fields: { policyArn: string; attachToRoles?: string[]; attachToUsers?: string[]; attachToGroups?: string[] } | { roleName: string; principals: string[] } | { roleName: string; policyName: string };

  if (t.kind === 'managed-policy') {
    let policy: iam.CfnManagedPolicy | undefined;
    let policyArn = t.existingPolicyArn;
    if (!policyArn) {
      // L1 on purpose: every property here is either constant or immutable (name, path), so no redeploy ever
      // updates this resource and CloudFormation never writes a version over the function's. Attachments live in
      // their own resources for the same reason.
      policy = new iam.CfnManagedPolicy(scope, 'Policy', {
        policyDocument: PLACEHOLDER_POLICY_DOCUMENT,
        description: POLICY_DESCRIPTION,
        managedPolicyName: t.policyName,
        path: t.policyPath,
      });
      policy.applyRemovalPolicy(options.policyRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
      policyArn = policy.ref;
    }
    // Validated already (validateTarget / checkTarget): a failure here is a bug.
    const principals = attachmentsOf(t, (field, problem) => {
      throw new Error(`${field}: ${problem}`);
    });
    // Harmless before the first sync: the placeholder denies nothing.
    const attachments = principals.length > 0 ? new PolicyAttachments(scope, 'Attachments', { policyArn, principals }) : undefined;
    own = { policyArn, ...(policy ? { policy } : {}), ...(attachments ? { attachments } : {}) };
    resource = policyArn;
    // The function keeps the policy attached there (attachTo* in its spec), and may attach this policy, and no
    // other, to those principals only.
    fields = {
      policyArn,
      ...(t.attachToRoles?.length ? { attachToRoles: t.attachToRoles.map((r) => principalText('role', r)) } : {}),
      ...(t.attachToUsers?.length ? { attachToUsers: t.attachToUsers.map((u) => principalText('user', u)) } : {}),
      ...(t.attachToGroups?.length ? { attachToGroups: t.attachToGroups.map((g) => principalText('group', g)) } : {}),
    };
    reattach = () => grantReattach(scope, options.role, options.sids.reattach, policyArn as string, principals);
  } else {
    const role = principalRef('role', t.roleName as PrincipalInput) as PrincipalRef;
    const roleArn = role.arn ?? Stack.of(scope).formatArn({ service: 'iam', region: '', resource: 'role', resourceName: role.name });
    own = { roleArn };
    resource = roleArn;
    fields = t.kind === 'trust-policy' ? { roleName: role.name, principals: t.principals ?? [] } : { roleName: role.name, policyName: t.policyName as string };
  }

  const actions = KINDS[t.kind].actions;
  options.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: options.sids.read, actions: [...actions.read], resources: [resource] }));
  options.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: options.sids.write, actions: [...actions.write], resources: [resource] }));
  if (t.cidrsParameterName) {
    options.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: options.sids.readCidrs, actions: ['ssm:GetParameter'], resources: [parameterArn(scope, t.cidrsParameterName)] }),
    );
  }
  reattach?.();

  const guards = Object.fromEntries(Object.entries(t.guards ?? {}).filter(([, g]) => g !== undefined));
  const conditions = Object.fromEntries(Object.entries(t.conditions ?? {}).filter(([, c]) => c !== undefined));
  const spec = {
    name: t.name,
    kind: t.kind,
    ...fields,
    sources: sourcesOf(t),
    ...(Object.keys(guards).length ? { guards } : {}),
    ...(Object.keys(conditions).length ? { conditions } : {}),
    ...(t.include !== undefined ? { include: t.include } : {}),
    ...(t.exclude !== undefined ? { exclude: t.exclude } : {}),
    ...(t.dryRun !== undefined ? { dryRun: t.dryRun } : {}),
  } as TargetSpec;
  return { ...own, spec };
}

const ATTACH_ACTIONS: Record<PrincipalKind, string> = { role: 'iam:AttachRolePolicy', user: 'iam:AttachUserPolicy', group: 'iam:AttachGroupPolicy' };

/** `iam:Attach*Policy` on exactly these principals, one statement each, for exactly this policy (`iam:PolicyARN`). */
function grantReattach(scope: Construct, role: iam.IRole, sid: string, policyArn: string, principals: ReadonlyArray<{ kind: PrincipalKind; ref: PrincipalRef }>): void {
  principals.forEach(({ kind, ref }, i) => {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `${sid}${i + 1}`,
        actions: [ATTACH_ACTIONS[kind]],
        resources: [ref.arn ?? Stack.of(scope).formatArn({ service: 'iam', region: '', resource: kind, resourceName: ref.name })],
        conditions: { ArnEquals: { 'iam:PolicyARN': policyArn } },
      }),
    );
  });
}

/** Props of {@link AllowlistTarget}. */
export interface AllowlistTargetConstructProps {
  /** The target, already validated (validateTargets). */
  readonly target: AllowlistTargetProps;
  /** Alphanumeric key unique within the deployment: statement Sids and output ids. */
  readonly key: string;
  /** The sync function's role: it gets exactly this target's permissions. */
  readonly role: iam.IRole;
  /** Where this target's alarms go. */
  readonly topic: ITopic;
  /** Metrics namespace of the function. */
  readonly namespace: string;
  /** Alarm periods of the deployment. */
  readonly timing: AlarmTiming;
}

/** One additional target: its resources ({@link addTargetResources}) and its alarms. */
export class AllowlistTarget extends Construct {
  /** The target's name. */
  public readonly targetName: string;
  /** Where its allowlist lives. */
  public readonly kind: AllowlistTargetKind;
  /** Alphanumeric key (Sids, outputs). */
  public readonly key: string;
  /** managed-policy: the policy's ARN. */
  public readonly policyArn?: string;
  /** managed-policy: the created policy; undefined when adopted. */
  public readonly policy?: iam.CfnManagedPolicy;
  /** managed-policy: attachments to existing principals, when any. */
  public readonly attachments?: PolicyAttachments;
  /** trust-policy and inline-policy: the role's ARN. */
  public readonly roleArn?: string;
  /** Refused and stale alarms of this target. */
  public readonly alarms: TargetAlarms;
  /** What the function is told about this target. */
  public readonly spec: TargetSpec;

  constructor(scope: Construct, id: string, props: AllowlistTargetConstructProps) {
    super(scope, id);
    const t = props.target;
    this.targetName = t.name;
    this.kind = t.kind;
    this.key = props.key;
    const built = addTargetResources(this, t, {
      role: props.role,
      sids: { read: `Target${this.key}Read`, write: `Target${this.key}Write`, readCidrs: `Target${this.key}ReadCidrs`, reattach: `Target${this.key}Reattach` },
    });
    this.policyArn = built.policyArn;
    this.policy = built.policy;
    this.attachments = built.attachments;
    this.roleArn = built.roleArn;
    this.spec = built.spec;
    this.alarms = new TargetAlarms(this, 'Alarms', { topic: props.topic, namespace: props.namespace, targetName: t.name, timing: props.timing });
  }
}
