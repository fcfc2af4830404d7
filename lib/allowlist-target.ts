import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TargetSpec } from '../lambda/target-config';
import { PLACEHOLDER_POLICY_DOCUMENT, POLICY_DESCRIPTION } from './placeholder-policy';
import { PolicyAttachments } from './policy-attachments';
import type { AlarmTiming } from './schedule';
import { TargetAlarms } from './sync-alarms';
import { principalRef } from './targets';
import type { AllowlistTargetKind, AllowlistTargetProps } from './targets';
import type { PrincipalKind, PrincipalRef } from '../lambda/validate';

/** What the function may do to each kind of target: reads, and writes on that one resource only. */
export const TARGET_ACTIONS: Record<AllowlistTargetKind, { readonly read: string[]; readonly write: string[] }> = {
  // No tag actions: the alert state lives in the state table, never on the resource it protects.
  'managed-policy': {
    read: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions'],
    write: ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
  },
  'trust-policy': {
    read: ['iam:GetRole'],
    write: ['iam:UpdateAssumeRolePolicy'],
  },
  'inline-policy': {
    read: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies'],
    write: ['iam:PutRolePolicy'],
  },
};

/** What the function may do to the state table: its own items, nothing else (no scans, no table changes). */
export const STATE_TABLE_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'];

/** The allowlist's sources as the function reads them: `ocm`, `static:CIDR,...`, `ssm:NAME`. */
export function sourcesOf(s: { ocm?: boolean; cidrs?: string[]; cidrsParameterName?: string }): string[] {
  return [
    ...(s.ocm ? ['ocm'] : []),
    ...(s.cidrs?.length ? [`static:${s.cidrs.join(',')}`] : []),
    ...(s.cidrsParameterName ? [`ssm:${s.cidrsParameterName}`] : []),
  ];
}

/** ARN of an SSM parameter of this stack's account and region, by name (with or without a leading slash). */
export function parameterArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
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

/**
 * One additional target: its policy when the stack creates one (the same constant placeholder as the
 * main policy, never updated, retained), its attachments, the function's permissions on it and nothing
 * else, its alarms, and the spec the function reads from ALLOWLIST_TARGETS.
 */
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
    let resource: string;
    let spec: Pick<TargetSpec, 'policyArn' | 'roleName' | 'policyName' | 'principals'>;

    if (t.kind === 'managed-policy') {
      if (t.existingPolicyArn) {
        this.policyArn = t.existingPolicyArn;
      } else {
        // As for the main policy: L1, constant document, immutable name and path, so no redeploy
        // ever updates it and CloudFormation never writes a version over the function's.
        this.policy = new iam.CfnManagedPolicy(this, 'Policy', {
          policyDocument: PLACEHOLDER_POLICY_DOCUMENT,
          description: POLICY_DESCRIPTION,
          managedPolicyName: t.policyName,
          path: t.policyPath,
        });
        this.policy.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
        this.policyArn = this.policy.ref;
      }
      const principals: Array<{ kind: PrincipalKind; ref: PrincipalRef }> = [];
      for (const [kind, list] of [['role', t.attachToRoles], ['user', t.attachToUsers], ['group', t.attachToGroups]] as const) {
        for (const entry of list ?? []) principals.push({ kind, ref: principalRef(kind, entry) as PrincipalRef });
      }
      if (principals.length > 0) this.attachments = new PolicyAttachments(this, 'Attachments', { policyArn: this.policyArn, principals });
      resource = this.policyArn;
      spec = { policyArn: this.policyArn };
    } else {
      const role = principalRef('role', t.roleName as string) as PrincipalRef;
      this.roleArn = role.arn ?? Stack.of(this).formatArn({ service: 'iam', region: '', resource: 'role', resourceName: role.name });
      resource = this.roleArn;
      spec = t.kind === 'trust-policy' ? { roleName: role.name, principals: t.principals } : { roleName: role.name, policyName: t.policyName };
    }

    const actions = TARGET_ACTIONS[t.kind];
    props.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: `Target${this.key}Read`, actions: actions.read, resources: [resource] }));
    props.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: `Target${this.key}Write`, actions: actions.write, resources: [resource] }));
    if (t.cidrsParameterName) {
      props.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: `Target${this.key}ReadCidrs`, actions: ['ssm:GetParameter'], resources: [parameterArn(this, t.cidrsParameterName)] }),
      );
    }

    this.alarms = new TargetAlarms(this, 'Alarms', { topic: props.topic, namespace: props.namespace, targetName: t.name, timing: props.timing });

    const guards = Object.fromEntries(Object.entries(t.guards ?? {}).filter(([, g]) => g !== undefined));
    const conditions = Object.fromEntries(Object.entries(t.conditions ?? {}).filter(([, c]) => c !== undefined));
    this.spec = {
      name: t.name,
      kind: t.kind,
      ...spec,
      sources: sourcesOf(t),
      ...(Object.keys(guards).length ? { guards } : {}),
      ...(Object.keys(conditions).length ? { conditions } : {}),
      ...(t.dryRun !== undefined ? { dryRun: t.dryRun } : {}),
    };
  }
}
