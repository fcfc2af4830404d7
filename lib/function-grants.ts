import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { AlertTopic } from './alert-topic';

// What the sync function may do beyond its targets (allowlist-target.ts grants those), with the reason for each
// cdk-nag finding a grant raises, one acknowledgement per finding.

/** KMS actions publishing to an SSE-KMS topic needs (what topic.grantPublish grants on the topic's masterKey). */
const PUBLISH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];
/** KMS actions reading and writing a table encrypted with a customer managed key (what aws-dynamodb's grants give). */
const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/** Publishing to the alert topic (and its key, also one given beside an existing topic), and why the key's wildcard action is fine. */
export function grantAlerts(role: iam.Role, alerts: AlertTopic): void {
  alerts.topic.grantPublish(role);
  alerts.extraKey?.grant(role, ...PUBLISH_KEY_ACTIONS);
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy || !alerts.encrypted) return;
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason:
      'Granted by topic.grantPublish on the alert topic key alone: publishing to an SSE-KMS topic needs ' +
      'GenerateDataKey (and its WithoutPlaintext variant, hence the wildcard) on that key.',
  });
}

/** Using the state table's customer managed key, when one is given; and why its wildcard actions are fine. */
export function grantStateTableKey(role: iam.Role, key: IKey): void {
  key.grant(role, ...TABLE_KEY_ACTIONS);
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason:
        'On the state table key alone: DynamoDB items encrypted with a customer managed key need the key actions ' +
        "aws-dynamodb's own grants give (Decrypt, DescribeKey, Encrypt, ReEncrypt*, GenerateDataKey*).",
    });
  }
}

/** The OCM credentials parameter and its key: only when some target takes the OCM list. */
export function grantOcmCredentials(scope: Construct, role: iam.Role, parameterName: string, keyArn: string | undefined): void {
  const stack = Stack.of(scope);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadOcmCredentials',
      actions: ['ssm:GetParameter'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: parameterName.replace(/^\//, '') })],
    }),
  );
  const viaSsm = { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` };
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'DecryptOcmCredentials',
      actions: ['kms:Decrypt'],
      // The AWS managed key alias/aws/ssm has an ID nobody knows at synth time, and an alias ARN
      // never matches a key in an IAM policy, so that case names all keys of this account and
      // region and narrows them by condition: only through SSM, only the key behind the alias.
      resources: [keyArn ?? stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
      conditions: keyArn ? { StringEquals: viaSsm } : { StringEquals: viaSsm, 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/aws/ssm'] } },
    }),
  );
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy || keyArn) return;
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
    reason:
      'kms:Decrypt for the AWS managed key alias/aws/ssm, whose key ID is unknown at synth time; restricted by ' +
      'kms:ViaService to SSM in this region and by kms:ResourceAliases to alias/aws/ssm, and ssm:GetParameter is ' +
      'granted on one parameter only.',
  });
}

/** LambdaInvoke's role invokes the function and any of its versions; say why that is fine. */
export function acknowledgeSchedulerRole(scope: Construct, fn: IFunction): void {
  const stack = Stack.of(scope);
  const fnLogicalId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('SchedulerRoleForTarget')) continue;
    const policy = child.node.tryFindChild('DefaultPolicy');
    if (!policy) continue;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${fnLogicalId}.Arn>:*]`,
      reason:
        'Added by the aws-scheduler-targets LambdaInvoke target (function.grantInvoke): lambda:InvokeFunction on the ' +
        'sync function and its versions, nothing else.',
    });
  }
}

/** The actions of the AWS policy checks (POLICY_CHECKS): both evaluate a document sent with the call, on no resource. */
export const POLICY_CHECK_ACTIONS: readonly string[] = ['iam:SimulateCustomPolicy', 'access-analyzer:ValidatePolicy'];

/** Asking IAM's simulator and Access Analyzer about a document before writing it; nothing when the checks are off. */
export function grantPolicyChecks(role: iam.Role, mode: 'auto' | 'off' | 'required' | undefined): void {
  if (mode === 'off') return;
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'CheckPolicyDocuments', actions: [...POLICY_CHECK_ACTIONS], resources: ['*'] }));
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'iam:SimulateCustomPolicy and access-analyzer:ValidatePolicy support no resource-level permissions (the ' +
      'Service Authorization Reference lists no resource type for either), so Resource "*" is the only form; both ' +
      'only evaluate the policy document passed in the request, read no account data and change nothing.',
  });
}
