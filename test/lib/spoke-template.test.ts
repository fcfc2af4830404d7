import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';
import { checkFleet } from '../../lib/fleet-props';
import { PLACEHOLDER_POLICY_DOCUMENT, POLICY_DESCRIPTION } from '../../lib/placeholder-policy';
import { HUB_ROLE_ARN_PARAMETER, SPOKE_POLICY_ACTIONS, spokeTemplate } from '../../lib/spoke-template';
import type { SpokeTemplateOptions } from '../../lib/spoke-template';

// The spoke template as a template of its own: what every member account gets, reviewed without the hub.
const DEFAULTS = checkFleet({ organizationalUnitIds: ['ou-abcd-12345678'] });
const CUSTOM: SpokeTemplateOptions = {
  spokeRoleName: 'RosaAllowlistSpoke',
  policyName: 'rosa-allowlist',
  policyPath: '/allowlists/',
  rolesToProtect: ['ManagedOpenShift-Support-Role', 'ManagedOpenShift-Installer-Role'],
  organizationId: 'o-abcdef1234',
};
const json = spokeTemplate(DEFAULTS);
const template = Template.fromJSON(json as unknown as Record<string, unknown>);

type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };
const roleOf = (t: ReturnType<typeof spokeTemplate>) => t.Resources.SpokeRole as { Properties: Record<string, unknown> };
const statementsOf = (t: ReturnType<typeof spokeTemplate>) =>
  (roleOf(t).Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap((p) => p.PolicyDocument.Statement);
const trustOf = (t: ReturnType<typeof spokeTemplate>) => (roleOf(t).Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
/** An `Fn::Sub` ARN as IAM sees it in one account. */
const inAccount = (value: unknown, account: string) => (value as { 'Fn::Sub': string })['Fn::Sub'].replace('${AWS::Partition}', 'aws').replace('${AWS::AccountId}', account);

describe('the spoke template on its own', () => {
  test('only IAM: one role, one managed policy; no Lambda, no asset, no custom resource, no transform', () => {
    expect(Object.keys(json.Resources).sort()).toEqual(['AllowlistPolicy', 'SpokeRole']);
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    const text = JSON.stringify(json);
    for (const absent of ['Custom::', 'AWS::Lambda', 'AWS::Serverless', 'Transform', 'aws:asset', 'cdk-hnb659fds', 'AssetParameters', 'S3Bucket']) expect(text).not.toContain(absent);
  });

  test('no CDK bootstrap version rule or parameter: member accounts are never bootstrapped', () => {
    expect(Object.keys(json)).not.toContain('Rules');
    expect(Object.keys(json.Parameters)).toEqual([HUB_ROLE_ARN_PARAMETER]);
    expect(JSON.stringify(json)).not.toContain('BootstrapVersion');
    template.templateMatches({ Parameters: { HubRoleArn: { Type: 'String' } } });
  });

  test('literal JSON: the same options give the same bytes, and it round-trips through JSON', () => {
    expect(JSON.stringify(spokeTemplate(DEFAULTS))).toBe(JSON.stringify(json));
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  test('the HubRoleArn parameter takes a role ARN of any partition, nothing else', () => {
    const pattern = new RegExp(json.Parameters.HubRoleArn.AllowedPattern as string);
    expect(pattern.test('arn:aws:iam::123456789012:role/AllowlistSync-AllowlistSyncRole-eu-west-1')).toBe(true);
    expect(pattern.test('arn:aws-us-gov:iam::123456789012:role/path/Hub')).toBe(true);
    expect(pattern.test('arn:aws:iam::123456789012:user/alice')).toBe(false);
    expect(pattern.test('arn:aws:iam::123456789012:root')).toBe(false);
    expect(pattern.test('*')).toBe(false);
  });

  test('the policy: the constant placeholder, retained on deletion and replacement, attached to the roles to protect', () => {
    expect(json.Resources.AllowlistPolicy).toEqual({
      Type: 'AWS::IAM::ManagedPolicy',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        ManagedPolicyName: 'rosa-trusted-ips',
        Path: '/',
        Description: POLICY_DESCRIPTION,
        PolicyDocument: PLACEHOLDER_POLICY_DOCUMENT,
        Roles: ['ManagedOpenShift-Support-Role'],
      },
    });
  });

  test('the policy resource never depends on the role, the trust or the organization (a StackSet update never writes a version)', () => {
    const other = spokeTemplate({ ...DEFAULTS, spokeRoleName: 'Other', organizationId: 'o-abcdef1234' });
    expect(JSON.stringify(other.Resources.AllowlistPolicy)).toBe(JSON.stringify(json.Resources.AllowlistPolicy));
  });

  test('the role trusts only the hub role, only from the organization', () => {
    expect(roleOf(json).Properties.RoleName).toBe('AllowlistSyncSpoke');
    expect(trustOf(json)).toEqual([
      {
        Sid: 'OnlyTheHubSyncFunction',
        Effect: 'Allow',
        Principal: { AWS: { Ref: 'HubRoleArn' } },
        Action: 'sts:AssumeRole',
        // No organization id given: the policy variable holds the hub to this account's own organization.
        Condition: { StringEquals: { 'aws:PrincipalOrgID': '${aws:ResourceOrgID}' } },
      },
    ]);
    expect(trustOf(spokeTemplate(CUSTOM))[0].Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } });
  });

  test('least privilege: the role may keep its one policy and attach it to the roles to protect, nothing else', () => {
    const account = '210987654321';
    const statements = statementsOf(spokeTemplate(CUSTOM));
    // The contract: the hub computes arn:<partition>:iam::<ACCOUNT>:policy<policyPath><policyName>.
    const policyArn = `arn:aws:iam::${account}:policy/allowlists/rosa-allowlist`;
    expect(statements.map((s) => s.Sid)).toEqual(['KeepTheAllowlistPolicy', 'AttachTheAllowlistPolicyAgain']);
    const [keep, attach] = statements;
    expect(keep.Effect).toBe('Allow');
    expect([keep.Action].flat().sort()).toEqual(
      [
        'iam:CreatePolicyVersion',
        'iam:DeletePolicyVersion',
        'iam:GetPolicy',
        'iam:GetPolicyVersion',
        'iam:ListEntitiesForPolicy',
        'iam:ListPolicyTags',
        'iam:ListPolicyVersions',
        'iam:SetDefaultPolicyVersion',
        'iam:TagPolicy',
        'iam:UntagPolicy',
      ].sort(),
    );
    expect(SPOKE_POLICY_ACTIONS).toHaveLength(10);
    expect(inAccount(keep.Resource, account)).toBe(policyArn);
    expect(keep.Condition).toBeUndefined();
    expect(attach).toMatchObject({ Effect: 'Allow', Action: 'iam:AttachRolePolicy' });
    expect((attach.Resource as unknown[]).map((r) => inAccount(r, account))).toEqual([
      `arn:aws:iam::${account}:role/ManagedOpenShift-Support-Role`,
      `arn:aws:iam::${account}:role/ManagedOpenShift-Installer-Role`,
    ]);
    const condition = attach.Condition as { ArnEquals: { 'iam:PolicyARN': unknown } };
    expect(Object.keys(condition)).toEqual(['ArnEquals']);
    expect(inAccount(condition.ArnEquals['iam:PolicyARN'], account)).toBe(policyArn);
    // No wildcard anywhere: not in an action, not in a resource.
    for (const s of statements) {
      for (const a of [s.Action].flat()) expect(a).not.toMatch(/\*/);
      expect(JSON.stringify(s.Resource)).not.toContain('*');
    }
    // No detach, no other principal kind, no permission to edit the role itself.
    const actions = statements.flatMap((s) => [s.Action].flat());
    for (const forbidden of ['iam:DetachRolePolicy', 'iam:AttachUserPolicy', 'iam:AttachGroupPolicy', 'iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeletePolicy']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  test('no roles to protect: the policy is attached nowhere and the role may attach it nowhere', () => {
    const none = spokeTemplate({ ...DEFAULTS, rolesToProtect: [] });
    expect((none.Resources.AllowlistPolicy as { Properties: Record<string, unknown> }).Properties.Roles).toBeUndefined();
    expect(statementsOf(none).map((s) => s.Sid)).toEqual(['KeepTheAllowlistPolicy']);
  });

  test('outputs name the role and the policy', () => {
    template.hasOutput('SpokeRoleArn', { Value: { 'Fn::GetAtt': ['SpokeRole', 'Arn'] } });
    template.hasOutput('PolicyArn', { Value: { Ref: 'AllowlistPolicy' } });
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'AllowlistSyncSpoke', MaxSessionDuration: 3600, Policies: Match.anyValue() });
  });

  test('cdk-nag AwsSolutions finds nothing in it, with nothing acknowledged (and does see a wildcard put in)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-'));
    const findings = (body: unknown) => {
      const file = join(dir, 'spoke.json');
      writeFileSync(file, JSON.stringify(body));
      const stack = new Stack(new App(), 'Spoke');
      new CfnInclude(stack, 'Spoke', { templateFile: file });
      return new AwsSolutionsChecks().validateScope(stack).violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    };
    try {
      for (const options of [DEFAULTS, CUSTOM]) expect(findings(spokeTemplate(options))).toEqual([]);
      // The control: the same template with its policy statement widened to every resource.
      const widened = JSON.parse(JSON.stringify(json)) as typeof json;
      statementsOf(widened)[0].Resource = '*';
      expect(findings(widened).join('\n')).toMatch(/AwsSolutions-IAM5/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
