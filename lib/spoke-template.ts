import { KINDS } from '../lambda/kinds/registry';
import { PLACEHOLDER_POLICY_DOCUMENT, POLICY_DESCRIPTION } from './placeholder-policy';

/**
 * The fleet's spoke: the CloudFormation template every member account gets from the StackSet. Literal JSON built by a
 * pure function, so it can be reviewed, diffed and tested as a template on its own. Only IAM: no Lambda, no assets,
 * no CDK bootstrap version rule or parameter (member accounts are never bootstrapped). The hub function's role ARN
 * comes in as the parameter `HubRoleArn`.
 */

/** What the spoke template is built from (the fleet's settings, validated). */
export interface SpokeTemplateOptions {
  /** The role the hub assumes. */
  readonly spokeRoleName: string;
  /** The allowlist policy's name, and its IAM path (`/` or `/a/b/`). */
  readonly policyName: string;
  readonly policyPath: string;
  /** Roles (names) the policy is attached to. */
  readonly rolesToProtect: readonly string[];
  /** The organization's id; undefined: the trust compares with the spoke account's own organization. */
  readonly organizationId?: string;
}

/** A CloudFormation template as plain JSON. */
export interface SpokeTemplate {
  readonly AWSTemplateFormatVersion: '2010-09-09';
  readonly Description: string;
  readonly Parameters: Record<string, Record<string, unknown>>;
  readonly Resources: Record<string, Record<string, unknown>>;
  readonly Outputs: Record<string, Record<string, unknown>>;
}

/** The StackSet parameter carrying the hub function's role ARN. */
export const HUB_ROLE_ARN_PARAMETER = 'HubRoleArn';
/** Logical ids in the spoke template. */
export const SPOKE_IDS = { role: 'SpokeRole', policy: 'AllowlistPolicy' } as const;

/** The tag actions on the one policy (the function's writer may mark its policy; the state lives in the hub's table). */
const TAG_ACTIONS = ['iam:TagPolicy', 'iam:UntagPolicy', 'iam:ListPolicyTags'] as const;

/** What the spoke role may do on its one policy: the managed-policy kind's reads and writes, and its tags. */
export const SPOKE_POLICY_ACTIONS: readonly string[] = [...KINDS['managed-policy'].actions.read, ...KINDS['managed-policy'].actions.write, ...TAG_ACTIONS];

/** `arn:${AWS::Partition}:iam::${AWS::AccountId}:<rest>` for the account the template is deployed in. */
const inAccount = (rest: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:${rest}` });

/** The spoke template: the role the hub assumes and the allowlist policy (constant placeholder, retained). */
export function spokeTemplate(o: SpokeTemplateOptions): SpokeTemplate {
  const policyArn = inAccount(`policy${o.policyPath}${o.policyName}`);
  // A policy variable when no id is given: the hub's role must be of the same organization as this account.
  const orgCondition = { 'aws:PrincipalOrgID': o.organizationId ?? '${aws:ResourceOrgID}' };
  const statements: Array<Record<string, unknown>> = [
    {
      Sid: 'KeepTheAllowlistPolicy',
      Effect: 'Allow',
      Action: [...SPOKE_POLICY_ACTIONS],
      Resource: policyArn,
    },
  ];
  if (o.rolesToProtect.length > 0) {
    statements.push({
      Sid: 'AttachTheAllowlistPolicyAgain',
      Effect: 'Allow',
      Action: 'iam:AttachRolePolicy',
      Resource: o.rolesToProtect.map((r) => inAccount(`role/${r}`)),
      // This policy, never another one, to these roles only.
      Condition: { ArnEquals: { 'iam:PolicyARN': policyArn } },
    });
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `allowlist-sync spoke: the role the hub assumes and the ${o.policyName} allowlist policy (written only by the hub's sync function)`,
    Parameters: {
      [HUB_ROLE_ARN_PARAMETER]: {
        Type: 'String',
        Description: "ARN of the hub's sync function role, the only principal this account's spoke role trusts",
        AllowedPattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$',
        ConstraintDescription: 'an IAM role ARN',
      },
    },
    Resources: {
      [SPOKE_IDS.role]: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: o.spokeRoleName,
          Description: 'allowlist-sync: assumed by the hub sync function to keep the allowlist policy of this account',
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'OnlyTheHubSyncFunction',
                Effect: 'Allow',
                Principal: { AWS: { Ref: HUB_ROLE_ARN_PARAMETER } },
                Action: 'sts:AssumeRole',
                Condition: { StringEquals: orgCondition },
              },
            ],
          },
          Policies: [{ PolicyName: 'allowlist-sync-spoke', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
        },
      },
      [SPOKE_IDS.policy]: {
        Type: 'AWS::IAM::ManagedPolicy',
        // Kept when the instance goes (an account leaves the OU, the fleet is rolled back): the protection stays in
        // place with its last list, and the sync function's versions are never lost to a replacement.
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          ManagedPolicyName: o.policyName,
          Path: o.policyPath,
          Description: POLICY_DESCRIPTION,
          // Constant, and denying nothing: no StackSet update ever writes a version over the function's.
          PolicyDocument: PLACEHOLDER_POLICY_DOCUMENT,
          ...(o.rolesToProtect.length > 0 ? { Roles: [...o.rolesToProtect] } : {}),
        },
      },
    },
    Outputs: {
      SpokeRoleArn: { Description: 'The role the hub assumes', Value: { 'Fn::GetAtt': [SPOKE_IDS.role, 'Arn'] } },
      PolicyArn: { Description: 'The allowlist policy', Value: { Ref: SPOKE_IDS.policy } },
    },
  };
}
