import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { PrincipalKind, PrincipalRef } from '../lambda/validate';

/** Props of {@link PolicyAttachments}. */
export interface PolicyAttachmentsProps {
  /** The managed policy to attach. */
  readonly policyArn: string;
  /** Principals to attach it to, by kind. */
  readonly principals: ReadonlyArray<{ readonly kind: PrincipalKind; readonly ref: PrincipalRef }>;
}

const API: Record<PrincipalKind, { attach: string; detach: string; param: string }> = {
  role: { attach: 'AttachRolePolicy', detach: 'DetachRolePolicy', param: 'RoleName' },
  user: { attach: 'AttachUserPolicy', detach: 'DetachUserPolicy', param: 'UserName' },
  group: { attach: 'AttachGroupPolicy', detach: 'DetachGroupPolicy', param: 'GroupName' },
};

/**
 * Attaches the managed policy to existing roles, users and groups, one custom resource each.
 *
 * Not through the policy resource's own Roles/Users/Groups properties: those would make the
 * policy resource change whenever the list does, and an adopted policy has no resource here at
 * all. Removing a principal from the list (or deleting the stack) detaches the policy from it.
 */
export class PolicyAttachments extends Construct {
  /** One custom resource per principal, for ordering (the first sync runs after them). */
  public readonly resources: AwsCustomResource[] = [];

  constructor(scope: Construct, id: string, props: PolicyAttachmentsProps) {
    super(scope, id);
    props.principals.forEach(({ kind, ref }, i) => {
      const api = API[kind];
      const params = { [api.param]: ref.name, PolicyArn: props.policyArn };
      const principalArn = ref.arn ?? Stack.of(this).formatArn({ service: 'iam', region: '', resource: kind, resourceName: ref.name });
      const constructId = Token.isUnresolved(ref.name) ? `${kind}${i}` : `${kind}-${ref.name}`;
      const resource = new AwsCustomResource(this, constructId, {
        resourceType: 'Custom::AllowlistPolicyAttachment',
        installLatestAwsSdk: false,
        onCreate: {
          service: 'IAM',
          action: api.attach,
          parameters: params,
          // Changes with the policy ARN, so CloudFormation detaches from the old policy (a Delete
          // with the old properties) when the target policy changes.
          physicalResourceId: PhysicalResourceId.of(`${props.policyArn}|${kind}/${ref.name}`),
        },
        onDelete: {
          service: 'IAM',
          action: api.detach,
          parameters: params,
          // Already gone (principal deleted, or detached by hand): nothing left to undo.
          ignoreErrorCodesMatching: 'NoSuchEntity',
        },
        policy: AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: [`iam:${api.attach}`, `iam:${api.detach}`],
            resources: [principalArn],
            // Only this policy, never another one, can be attached with this permission.
            conditions: { ArnEquals: { 'iam:PolicyARN': props.policyArn } },
          }),
        ]),
      });
      this.resources.push(resource);
    });
    if (this.resources.length > 0) acknowledgeProvider(Stack.of(this));
  }
}

/** The AwsCustomResource provider is a CDK singleton at stack level; say why its findings are fine. */
function acknowledgeProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild(`AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
  const role = provider?.node.tryFindChild('ServiceRole');
  if (!role) return;
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'Role of the CDK-managed AwsCustomResource provider that attaches the allowlist policy; the managed policy only ' +
      'lets it write its own CloudWatch logs, and its IAM rights are scoped per principal and to this one policy ARN.',
  });
}

