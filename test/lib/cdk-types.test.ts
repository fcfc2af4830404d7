import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AllowlistSync } from '../../lib/allowlist-sync';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { BREAK_GLASS_PRINCIPAL, KEY_ARN, TOPIC_ARN, TOPIC_KEY_ARN } from './fixtures';

// Props take CDK types where users have them (IRole, IUser, IGroup, ITopic, IKey) beside plain names and ARNs,
// and the grants follow: whatever is given is exactly what the function may use.

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** One AllowlistSync in a user's stack, built from objects of that stack. */
function build(props: (stack: Stack) => AllowlistSyncProps) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'User');
  const sync = new AllowlistSync(stack, 'Sync', props(stack));
  const template = Template.fromStack(stack);
  const logical = (c: unknown) => stack.getLogicalId((c as { node: { defaultChild: never } }).node.defaultChild);
  const statements = (): Statement[] =>
    (template.toJSON().Resources[stack.getLogicalId(sync.role.node.findChild('DefaultPolicy').node.defaultChild as never)].Properties.PolicyDocument
      .Statement as Statement[]);
  const environment = () => (template.toJSON().Resources[logical(sync.function)].Properties.Environment.Variables as Record<string, unknown>);
  return { app, stack, sync, template, logical, statements, environment };
}

describe('roles, users and groups as CDK objects', () => {
  const s = build((stack) => ({
    attachToRoles: [
      iam.Role.fromRoleArn(stack, 'Support', 'arn:aws:iam::123456789012:role/rosa/ManagedOpenShift-Support-Role'),
      new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal(), path: '/ops/' }),
      'Plain-Role',
    ],
    attachToUsers: [new iam.User(stack, 'Bot')],
    attachToGroups: [iam.Group.fromGroupArn(stack, 'Admins', 'arn:aws:iam::123456789012:group/admins')],
  }));
  const ops = s.stack.node.findChild('Ops') as iam.Role;
  const bot = s.stack.node.findChild('Bot') as iam.User;
  const opsArn = { 'Fn::GetAtt': [s.logical(ops), 'Arn'] };

  test('each is attached by its name, with a permission on its ARN (which keeps its path)', () => {
    const calls = Object.values(s.template.findResources('Custom::AllowlistPolicyAttachment')).map((r) => JSON.stringify(r.Properties.Create));
    expect(calls).toHaveLength(5);
    expect(calls.some((c) => c.includes('"RoleName\\":\\"ManagedOpenShift-Support-Role\\"'))).toBe(true);
    expect(calls.some((c) => c.includes('"RoleName\\":\\"Plain-Role\\"'))).toBe(true);
    expect(calls.some((c) => c.includes(`{"Ref":"${s.logical(ops)}"}`))).toBe(true);
    expect(calls.some((c) => c.includes(`{"Ref":"${s.logical(bot)}"}`))).toBe(true);
    expect(calls.some((c) => c.includes('"GroupName\\":\\"admins\\"'))).toBe(true);
  });

  test('the function may re-attach this policy to exactly those ARNs', () => {
    const reattach = s.statements().filter((st) => st.Sid?.startsWith('ReattachAllowlistPolicy'));
    expect(reattach.map((st) => st.Action)).toEqual(['iam:AttachRolePolicy', 'iam:AttachRolePolicy', 'iam:AttachRolePolicy', 'iam:AttachUserPolicy', 'iam:AttachGroupPolicy']);
    expect(reattach[0].Resource).toBe('arn:aws:iam::123456789012:role/rosa/ManagedOpenShift-Support-Role');
    expect(reattach[1].Resource).toEqual(opsArn);
    expect(JSON.stringify(reattach[2].Resource)).toContain(':role/Plain-Role');
    expect(reattach[3].Resource).toEqual({ 'Fn::GetAtt': [s.logical(bot), 'Arn'] });
    expect(reattach[4].Resource).toBe('arn:aws:iam::123456789012:group/admins');
  });

  test('the function is told their ARNs (ATTACH_TO_*), so it re-attaches the right principal, path and all', () => {
    const env = s.environment();
    expect(env.ATTACH_TO_ROLES).toEqual({ 'Fn::Join': ['', ['arn:aws:iam::123456789012:role/rosa/ManagedOpenShift-Support-Role,', opsArn, ',Plain-Role']] });
    expect(env.ATTACH_TO_USERS).toEqual({ 'Fn::GetAtt': [s.logical(bot), 'Arn'] });
    expect(env.ATTACH_TO_GROUPS).toBe('arn:aws:iam::123456789012:group/admins');
  });

  test("the function's own role is refused as an object too", () => {
    // The function role's name is "<prefix>-<region>", the prefix fixed by the construct's path (User/Sync here too).
    const roleName = s.template.toJSON().Resources[s.logical(s.sync.role)].Properties.RoleName as { 'Fn::Join': [string, [string]] };
    const prefix = roleName['Fn::Join'][1][0];
    const again = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'User');
    const own = iam.Role.fromRoleName(again, 'Own', `${prefix}eu-west-1`);
    expect(() => new AllowlistSync(again, 'Sync', { attachToRoles: [own] })).toThrow(
      `AllowlistSync User/Sync: invalid attachToRoles: "${prefix}eu-west-1" is the sync function's own role; an allowlist there would lock the function out of the policies it maintains`,
    );
  });

  test('a trust-policy target on an iam.IRole: its name to the function, its ARN in the grants', () => {
    const t = build((stack) => ({
      additionalTargets: [
        {
          name: 'vpn',
          kind: 'trust-policy',
          roleName: iam.Role.fromRoleArn(stack, 'BreakGlass', `arn:aws:iam::${stack.account}:role/emergency/BreakGlass`),
          principals: [BREAK_GLASS_PRINCIPAL],
          cidrs: ['203.0.113.0/24'],
        },
      ],
    }));
    expect(JSON.stringify(t.environment().ALLOWLIST_TARGETS)).toContain('\\"roleName\\":\\"BreakGlass\\"');
    const arn = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':role/emergency/BreakGlass']] };
    expect(t.statements().filter((st) => st.Sid?.startsWith('TargetVpn')).map((st) => st.Resource)).toEqual([arn, arn]);
  });

  test("a trust-policy target on a role this app creates is refused: CloudFormation owns that trust policy", () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'User');
    const role = new iam.Role(stack, 'BreakGlass', { assumedBy: new iam.AccountRootPrincipal() });
    const target = { name: 'vpn', kind: 'trust-policy' as const, roleName: role, principals: [BREAK_GLASS_PRINCIPAL], cidrs: ['203.0.113.0/24'] };
    expect(() => new AllowlistSync(stack, 'Sync', { additionalTargets: [target] })).toThrow(
      'AllowlistSync User/Sync: invalid additionalTargets[0] ("vpn").roleName: the construct User/BreakGlass is a role this CDK app creates, so CloudFormation owns ' +
        'its trust policy and would put its own back; keep the allowlist in an inline-policy target on it, or a managed policy attached to it',
    );
    // An inline policy on it is the tool's own document: fine.
    expect(() => new AllowlistSync(stack, 'Sync2', { additionalTargets: [{ name: 'vpn', kind: 'inline-policy', roleName: role, policyName: 'allowlist', cidrs: ['203.0.113.0/24'] }] })).not.toThrow();
  });
});

describe('the alert topic as an sns.ITopic', () => {
  test("a topic of the user's stack with its own key: no topic or key created; publish and the key granted", () => {
    const s = build((stack) => {
      const key = new kms.Key(stack, 'UserKey', { enableKeyRotation: true });
      return { alertTopic: new sns.Topic(stack, 'UserTopic', { masterKey: key, enforceSSL: true }), notifyEmails: ['sre@example.com'] };
    });
    const topic = s.stack.node.findChild('UserTopic') as sns.Topic;
    const key = s.stack.node.findChild('UserKey') as kms.Key;
    s.template.resourceCountIs('AWS::SNS::Topic', 1);
    s.template.resourceCountIs('AWS::KMS::Key', 1);
    expect(s.sync.topic).toBe(topic);
    expect(s.sync.topicKey).toBeUndefined();
    expect(s.statements()).toContainEqual({ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: s.logical(topic) } });
    expect(s.statements()).toContainEqual({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': [s.logical(key), 'Arn'] } });
    expect(s.environment().ALERT_TOPIC_ARN).toEqual({ Ref: s.logical(topic) });
    s.template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: { Ref: s.logical(topic) }, Endpoint: 'sre@example.com' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: s.logical(topic) }] });
  });

  test('an imported topic and its key given apart: the function may use that key (GenerateDataKey, Decrypt)', () => {
    const s = build((stack) => ({ alertTopic: sns.Topic.fromTopicArn(stack, 'T', TOPIC_ARN), alertTopicKey: kms.Key.fromKeyArn(stack, 'K', TOPIC_KEY_ARN) }));
    s.template.resourceCountIs('AWS::SNS::Topic', 0);
    s.template.resourceCountIs('AWS::KMS::Key', 0);
    expect(s.statements()).toContainEqual({ Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC_ARN });
    expect(s.statements()).toContainEqual({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: TOPIC_KEY_ARN });
  });

  test('an imported unencrypted topic: publish only, no KMS statement', () => {
    const s = build((stack) => ({ alertTopic: sns.Topic.fromTopicArn(stack, 'T', TOPIC_ARN), syncOnDeploy: false }));
    const kmsActions = s.statements().filter((st) => [st.Action].flat().some((a) => a.startsWith('kms:')) && st.Sid !== 'DecryptOcmCredentials');
    expect(kmsActions).toEqual([]);
  });
});

describe('KMS keys as kms.IKey', () => {
  test('alertTopicKey without a topic: the created topic uses it (no new key), CloudWatch may use it', () => {
    const s = build((stack) => ({ alertTopicKey: new kms.Key(stack, 'UserKey', { enableKeyRotation: true }) }));
    const key = s.stack.node.findChild('UserKey') as kms.Key;
    s.template.resourceCountIs('AWS::KMS::Key', 1);
    s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [s.logical(key), 'Arn'] } });
    s.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowCloudWatchAlarmsToPublish', Principal: { Service: 'cloudwatch.amazonaws.com' } })]) },
    });
    expect(s.sync.topicKey).toBeUndefined();
  });

  test('an imported alertTopicKey for the created topic: a warning says its key policy must let CloudWatch in', () => {
    const s = build((stack) => ({ alertTopicKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }));
    Annotations.fromStack(s.stack).hasWarning(
      '/User/Sync',
      `alertTopicKey ${KEY_ARN} is imported, so its key policy is not changed here: it must allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*, or the alarms cannot publish to the alert topic [ack: Annotation::AllowlistSyncAlertTopicKeyPolicy]`,
    );
  });

  test('stateTableKey: the table is encrypted with it, and the function may use it for items', () => {
    const s = build((stack) => ({ stateTableKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }));
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: KEY_ARN } });
    expect(s.statements()).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
      Resource: KEY_ARN,
    });
  });

  test('ocmCredentialsKey: the parameter key named exactly, still only via SSM', () => {
    const s = build((stack) => ({ ocmCredentialsKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }));
    expect(s.statements().find((st) => st.Sid === 'DecryptOcmCredentials')).toEqual({
      Sid: 'DecryptOcmCredentials',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    });
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding with every CDK-typed prop at once', () => {
    const s = build((stack) => ({
      alertTopic: sns.Topic.fromTopicArn(stack, 'T', TOPIC_ARN),
      alertTopicKey: kms.Key.fromKeyArn(stack, 'TK', TOPIC_KEY_ARN),
      stateTableKey: new kms.Key(stack, 'TableKey', { enableKeyRotation: true }),
      ocmCredentialsKey: kms.Key.fromKeyArn(stack, 'OK', KEY_ARN),
      attachToRoles: [iam.Role.fromRoleName(stack, 'R', 'ManagedOpenShift-Support-Role')],
    }));
    const violations = new AwsSolutionsChecks().validateScope(s.stack).violations;
    expect(violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
