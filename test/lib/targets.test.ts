import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AllowlistSync, AllowlistSyncPropsError } from '../../lib/allowlist-sync';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { ContextError, parseContext } from '../../lib/context';
import { PLACEHOLDER_POLICY_DOCUMENT } from '../../lib/placeholder-policy';
import type { AllowlistTargetProps } from '../../lib/targets';
import { BREAK_GLASS_PRINCIPAL, KEY_ARN, PARTNER_POLICY_ARN, POLICY_ARN, TARGETS } from './fixtures';
import { acknowledgements, logicalId, only, resourcesOfType, synth } from './support';
import type { CfnJson, Synth } from './support';

// Several targets in one deployment (issue 7). Syntheses are shared; each one costs seconds.
const [VPN, VENDOR, CI, PARTNERS] = TARGETS;
/** The main OCM allowlist attached to the ROSA role, plus one target of each kind. */
const multi = synth({ attachToRoles: ['ManagedOpenShift-Support-Role'], additionalTargets: TARGETS });
/** No OCM at all: a static list on the main policy. */
const staticOnly = synth({ ocmEnabled: false, extraCidrs: ['203.0.113.0/24', '2001:db8::/48'] });
/** Main from SSM and static CIDRs; OCM only for one target, with a customer managed key. */
const mixed = synth({
  ocmEnabled: false,
  extraCidrs: ['203.0.113.0/24'],
  cidrsParameterName: '/office/cidrs',
  ocmCredentialsKeyArn: KEY_ARN,
  ocmApiUrl: 'https://api.stage.openshift.com',
  additionalTargets: [VENDOR, CI],
});

const ref = (id: string) => ({ Ref: id });
const partitionArn = (service: string, rest: string, region = true) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...(region ? [`:${service}:`, { Ref: 'AWS::Region' }, ':'] : [`:${service}::`]), { Ref: 'AWS::AccountId' }, rest]],
});
const parameterArn = (name: string) => partitionArn('ssm', `:parameter${name}`);
const roleArn = (name: string) => partitionArn('iam', `:role/${name}`, false);

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const statementsOf = (r: CfnJson) => (r.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
const functionStatements = (s: Synth) => statementsOf(s.json.Resources[logicalId(s, s.stack.sync.role.node.findChild('DefaultPolicy'))]);
const env = (s: Synth) =>
  ((s.json.Resources[logicalId(s, s.stack.sync.function)].Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables);
const target = (s: Synth, name: string) => s.stack.sync.targets.find((t) => t.targetName === name)!;
const mainPolicy = (s: Synth) => logicalId(s, s.stack.sync.policy!);
const targetPolicy = (s: Synth, name: string) => logicalId(s, target(s, name).policy!);

/** ALLOWLIST_TARGETS as the function reads it, with each CloudFormation reference shown as `<logical id>`. */
function targetsEnv(s: Synth): unknown {
  const value = env(s).ALLOWLIST_TARGETS as string | { 'Fn::Join': [string, Array<string | { Ref: string }>] } | undefined;
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : `<${part.Ref}>`)).join('');
  return JSON.parse(text);
}

describe('ALLOWLIST_TARGETS', () => {
  test('lists the main allowlist first, then every target as the function expects it', () => {
    expect(targetsEnv(multi)).toEqual([
      // The principals a managed policy must stay attached to travel with it: the function keeps it attached there.
      { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: `<${mainPolicy(multi)}>`, sources: ['ocm'], attachToRoles: ['ManagedOpenShift-Support-Role'] },
      {
        name: 'office-vpn',
        kind: 'trust-policy',
        roleName: 'BreakGlass',
        principals: [BREAK_GLASS_PRINCIPAL],
        sources: ['ssm:/office/vpn-cidrs'],
        guards: { minEntries: 2, sizeLimit: 4096 },
      },
      {
        name: 'acme-vendor',
        kind: 'inline-policy',
        // A role given by ARN (it has a path) is named without it: the IAM role APIs want the bare name.
        roleName: 'AcmeSupport',
        policyName: 'allowlist-sync-ips',
        sources: ['static:198.51.100.0/24,192.0.2.10'],
        conditions: { viaAwsServiceExemption: false, kmsViaServiceExemption: true },
      },
      {
        name: 'ci',
        kind: 'managed-policy',
        policyArn: `<${targetPolicy(multi, 'ci')}>`,
        attachToUsers: ['ci-runner'],
        attachToGroups: ['ci-machines'],
        sources: ['ocm', 'static:203.0.113.64/26'],
        dryRun: true,
      },
      { name: 'partners', kind: 'managed-policy', policyArn: PARTNER_POLICY_ARN, sources: ['ssm:/partners/cidrs'], guards: { maxRemovalFraction: 0.5 } },
    ]);
  });

  test('the single-target variables stay for the main allowlist', () => {
    expect(env(multi)).toMatchObject({
      POLICY_ARN: ref(mainPolicy(multi)),
      ALLOWLIST_NAME: 'rosa-trusted-ips',
      OCM_CREDENTIALS_PARAMETER: '/allowlist-sync/ocm-credentials',
    });
    expect(env(multi).OCM_ENABLED).toBeUndefined();
  });

  test('the main spec carries its guards, conditions, dry run, static and SSM sources', () => {
    const s = synth({
      existingPolicyArn: POLICY_ARN,
      extraCidrs: ['203.0.113.0/24'],
      cidrsParameterName: 'office-cidrs',
      minEntries: 3,
      broadestIpv4Prefix: 16,
      kmsViaServiceExemption: true,
      dryRun: false,
      syncOnDeploy: false,
    });
    expect(targetsEnv(s)).toEqual([
      {
        name: 'rosa-trusted-ips',
        kind: 'managed-policy',
        policyArn: POLICY_ARN,
        sources: ['ocm', 'static:203.0.113.0/24', 'ssm:office-cidrs'],
        guards: { minEntries: 3, broadestIpv4Prefix: 16 },
        conditions: { kmsViaServiceExemption: true },
        dryRun: false,
      },
    ]);
    expect(functionStatements(s)).toContainEqual({ Sid: 'ReadAllowlistCidrs', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('/office-cidrs') });
  });

  test('the main dryRun pauses the main allowlist only: in its spec, not in DRY_RUN (which the function applies to every target)', () => {
    const s = synth({ dryRun: true, syncOnDeploy: false, additionalTargets: [VENDOR] });
    expect(env(s).DRY_RUN).toBeUndefined();
    expect(targetsEnv(s)).toEqual([expect.objectContaining({ name: 'rosa-trusted-ips', dryRun: true }), expect.not.objectContaining({ dryRun: expect.anything() })]);
  });

  test('not set when the single-target variables say it all', () => {
    expect(targetsEnv(staticOnly)).toBeUndefined();
  });
});

describe('without OCM', () => {
  test('static only: OCM_ENABLED=false, the list in EXTRA_CIDRS, no OCM variable', () => {
    const vars = env(staticOnly);
    expect(vars).toMatchObject({ OCM_ENABLED: 'false', EXTRA_CIDRS: '203.0.113.0/24,2001:db8::/48' });
    for (const key of ['OCM_CREDENTIALS_PARAMETER', 'OCM_API_URL', 'OCM_TOKEN_URL', 'ALLOWLIST_TARGETS']) expect(vars[key]).toBeUndefined();
  });

  test('static only: no permission on the OCM parameter or any KMS key', () => {
    const { stack } = staticOnly;
    expect(functionStatements(staticOnly).map((st) => st.Sid ?? st.Action)).toEqual([
      'ReadAllowlistPolicy',
      'WriteAllowlistPolicy',
      'UseStateTable',
      'sns:Publish',
      ['kms:Decrypt', 'kms:GenerateDataKey*'], // the alert topic's own key, for publishing
      'CheckPolicyDocuments', // the AWS policy checks (test/lib/policy-checks.test.ts)
      'WriteOwnLogs',
    ]);
    // ...and no acknowledgement left over for the KMS wildcard that is no longer granted.
    expect(acknowledgements(stack).map((a) => a.id)).not.toContainEqual(expect.stringContaining(':key/*'));
  });

  test('OCM for a target only: the credentials are granted and passed, the main allowlist still skips OCM', () => {
    expect(env(mixed)).toMatchObject({ OCM_ENABLED: 'false', OCM_CREDENTIALS_PARAMETER: '/allowlist-sync/ocm-credentials', OCM_API_URL: 'https://api.stage.openshift.com' });
    const statements = functionStatements(mixed);
    expect(statements.find((st) => st.Sid === 'ReadOcmCredentials')).toMatchObject({ Resource: parameterArn('/allowlist-sync/ocm-credentials') });
    expect(statements.find((st) => st.Sid === 'DecryptOcmCredentials')).toMatchObject({ Resource: KEY_ARN });
    expect((targetsEnv(mixed) as Array<{ sources: string[] }>).map((t) => t.sources)).toEqual([
      ['static:203.0.113.0/24', 'ssm:/office/cidrs'],
      ['static:198.51.100.0/24,192.0.2.10'],
      ['ocm', 'static:203.0.113.64/26'],
    ]);
  });
});

describe('least privilege per target', () => {
  const managedRead = ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy'];
  const onlyThisPolicy = (policy: unknown) => ({ ArnEquals: { 'iam:PolicyARN': policy } });
  const principalArn = (kind: string, name: string) => partitionArn('iam', `:${kind}/${name}`, false);
  const managedWrite = ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'];
  const vendorRole = 'arn:aws:iam::123456789012:role/vendors/AcmeSupport';

  test('each statement names exactly its target', () => {
    const statements = functionStatements(multi).filter((st) => st.Sid?.startsWith('Target'));
    expect(statements).toEqual([
      { Sid: 'TargetOfficeVpnRead', Effect: 'Allow', Action: 'iam:GetRole', Resource: roleArn('BreakGlass') },
      { Sid: 'TargetOfficeVpnWrite', Effect: 'Allow', Action: 'iam:UpdateAssumeRolePolicy', Resource: roleArn('BreakGlass') },
      { Sid: 'TargetOfficeVpnReadCidrs', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('/office/vpn-cidrs') },
      { Sid: 'TargetAcmeVendorRead', Effect: 'Allow', Action: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies'], Resource: vendorRole },
      { Sid: 'TargetAcmeVendorWrite', Effect: 'Allow', Action: 'iam:PutRolePolicy', Resource: vendorRole },
      { Sid: 'TargetCiRead', Effect: 'Allow', Action: managedRead, Resource: ref(targetPolicy(multi, 'ci')) },
      { Sid: 'TargetCiWrite', Effect: 'Allow', Action: managedWrite, Resource: ref(targetPolicy(multi, 'ci')) },
      // Attaching this policy again, to exactly the principals it must stay attached to, and no other policy.
      { Sid: 'TargetCiReattach1', Effect: 'Allow', Action: 'iam:AttachUserPolicy', Resource: principalArn('user', 'ci-runner'), Condition: onlyThisPolicy(ref(targetPolicy(multi, 'ci'))) },
      { Sid: 'TargetCiReattach2', Effect: 'Allow', Action: 'iam:AttachGroupPolicy', Resource: principalArn('group', 'ci-machines'), Condition: onlyThisPolicy(ref(targetPolicy(multi, 'ci'))) },
      { Sid: 'TargetPartnersRead', Effect: 'Allow', Action: managedRead, Resource: PARTNER_POLICY_ARN },
      { Sid: 'TargetPartnersWrite', Effect: 'Allow', Action: managedWrite, Resource: PARTNER_POLICY_ARN },
      { Sid: 'TargetPartnersReadCidrs', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('/partners/cidrs') },
    ]);
  });

  test('no cross-target write: every IAM write is on one resource, and each resource gets only its kind\'s writes', () => {
    // iam:Simulate* evaluate a document sent with the call: IAM's Read access level, no resource (policy-checks.test.ts).
    const isWrite = (action: string) => action.startsWith('iam:') && !/^iam:(Get|List|Simulate)/.test(action);
    const writes = new Map<string, Set<string>>();
    for (const st of functionStatements(multi)) {
      const actions = [st.Action].flat().filter(isWrite);
      if (actions.length === 0) continue;
      // One resource per write statement: nothing shared, nothing wildcarded.
      expect(Array.isArray(st.Resource)).toBe(false);
      const key = JSON.stringify(st.Resource);
      expect(key).not.toContain('*');
      writes.set(key, new Set([...(writes.get(key) ?? []), ...actions]));
    }
    const asSorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));
    expect(asSorted(writes)).toEqual({
      [JSON.stringify(ref(mainPolicy(multi)))]: [...managedWrite].sort(),
      [JSON.stringify(roleArn('BreakGlass'))]: ['iam:UpdateAssumeRolePolicy'],
      [JSON.stringify(vendorRole)]: ['iam:PutRolePolicy'],
      [JSON.stringify(ref(targetPolicy(multi, 'ci')))]: [...managedWrite].sort(),
      [JSON.stringify(PARTNER_POLICY_ARN)]: [...managedWrite].sort(),
      // Attachments: each principal may only have its own target's policy attached again (iam:PolicyARN).
      [JSON.stringify(principalArn('role', 'ManagedOpenShift-Support-Role'))]: ['iam:AttachRolePolicy'],
      [JSON.stringify(principalArn('user', 'ci-runner'))]: ['iam:AttachUserPolicy'],
      [JSON.stringify(principalArn('group', 'ci-machines'))]: ['iam:AttachGroupPolicy'],
    });
    for (const st of functionStatements(multi).filter((x) => /^iam:Attach/.test([x.Action].flat()[0]))) expect(st.Condition).toEqual(onlyThisPolicy(expect.anything()));
  });

  test('a role named by a token (another construct\'s role) is written through that name only', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    const breakGlass = new iam.Role(stack, 'BreakGlass', { assumedBy: new iam.AccountRootPrincipal() });
    const sync = new AllowlistSync(stack, 'Sync', {
      syncOnDeploy: false,
      additionalTargets: [{ name: 'vpn', kind: 'trust-policy', roleName: breakGlass.roleName, principals: [BREAK_GLASS_PRINCIPAL], cidrs: ['203.0.113.0/24'] }],
    });
    const doc = stack.resolve((sync.role.node.findChild('DefaultPolicy') as iam.Policy).document) as { Statement: Statement[] };
    expect(doc.Statement.find((st) => st.Sid === 'TargetVpnWrite')?.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/', { Ref: stack.getLogicalId(breakGlass.node.defaultChild as iam.CfnRole) }]],
    });
  });
});

describe('alarms per target', () => {
  const alarms = (s: Synth) => Object.values(resourcesOfType(s, 'AWS::CloudWatch::Alarm')).map((r) => r.Properties as Record<string, unknown>);
  const topic = () => ref(logicalId(multi, multi.stack.sync.topic));

  test('refused and stale for each target, by its name; function errors and dead letters stay global', () => {
    const all = alarms(multi);
    expect(all).toHaveLength(4 + 2 * TARGETS.length);
    for (const name of ['rosa-trusted-ips', ...TARGETS.map((t) => t.name)]) {
      const mine = all.filter((a) => JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'service', Value: name }]));
      expect(mine.map((a) => [a.MetricName, a.AlarmName])).toEqual([
        ['Refused', `AllowlistSync ${name}: sync refused by a guard`],
        ['SyncSucceeded', `AllowlistSync ${name}: allowlist stale`],
      ]);
      expect(mine[1]).toMatchObject({ Namespace: 'AllowlistSync', Period: 900, EvaluationPeriods: 2, TreatMissingData: 'breaching', ComparisonOperator: 'LessThanThreshold' });
      for (const a of mine) expect(a).toMatchObject({ AlarmActions: [topic()], OKActions: [topic()] });
    }
    expect(all.filter((a) => a.MetricName === 'Errors')).toHaveLength(1);
    expect(all.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(1);
  });

  test('the deploy-time sync runs after the target policies and attachments, before their alarms', () => {
    const [triggerId, trigger] = only(multi, 'Custom::Trigger');
    const attachments = Object.keys(resourcesOfType(multi, 'Custom::AllowlistPolicyAttachment'));
    expect(attachments).toHaveLength(3);
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([targetPolicy(multi, 'ci'), ...attachments]));
    for (const t of multi.stack.sync.targets) {
      for (const alarm of [t.alarms.refused, t.alarms.stale]) expect(multi.json.Resources[logicalId(multi, alarm)].DependsOn).toContain(triggerId);
    }
  });
});

describe('managed-policy targets', () => {
  test('a created one is the constant placeholder, retained, with its immutable name', () => {
    expect(multi.json.Resources[targetPolicy(multi, 'ci')]).toEqual({
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: { Description: expect.stringContaining('allowlist-sync'), ManagedPolicyName: 'ci-allowlist', PolicyDocument: PLACEHOLDER_POLICY_DOCUMENT },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    // Main plus ci; the adopted partners policy is not created.
    expect(Object.keys(resourcesOfType(multi, 'AWS::IAM::ManagedPolicy')).sort()).toEqual([mainPolicy(multi), targetPolicy(multi, 'ci')].sort());
  });

  test('attached to CI users and groups, each attachment scoped to that principal and to its own policy', () => {
    const ci = ref(targetPolicy(multi, 'ci'));
    const cases: Array<[string, string, unknown, unknown]> = [
      ['AttachUserPolicy', 'ci-runner', partitionArn('iam', ':user/ci-runner', false), ci],
      ['AttachGroupPolicy', 'ci-machines', partitionArn('iam', ':group/ci-machines', false), ci],
      ['AttachRolePolicy', 'ManagedOpenShift-Support-Role', roleArn('ManagedOpenShift-Support-Role'), ref(mainPolicy(multi))],
    ];
    const attachments = Object.values(resourcesOfType(multi, 'Custom::AllowlistPolicyAttachment'));
    for (const [action, name, principalArn, policy] of cases) {
      const resource = attachments.find((r) => JSON.stringify(r.Properties?.Create).includes(`${action}`) && JSON.stringify(r.Properties?.Create).includes(name))!;
      expect(statementsOf(multi.json.Resources[(resource.DependsOn as string[])[0]])).toEqual([
        { Effect: 'Allow', Action: [`iam:${action}`, `iam:${action.replace('Attach', 'Detach')}`], Resource: principalArn, Condition: { ArnEquals: { 'iam:PolicyARN': policy } } },
      ]);
    }
  });

  test('their ARNs are stack outputs', () => {
    expect(multi.json.Outputs.TargetCiPolicyArn.Value).toEqual(ref(targetPolicy(multi, 'ci')));
    expect(multi.json.Outputs.TargetPartnersPolicyArn.Value).toBe(PARTNER_POLICY_ARN);
  });
});

describe('one writer, never a reset, for created target policies too', () => {
  // Everything about the ci target except its name, path and kind changes, and the targets around it move.
  const changedCi: AllowlistTargetProps = {
    ...CI,
    ocm: false,
    cidrs: ['198.51.100.0/24'],
    cidrsParameterName: '/ci/cidrs',
    attachToUsers: ['other-runner'],
    attachToGroups: undefined,
    attachToRoles: ['CiRole'],
    dryRun: false,
    guards: { minEntries: 1, maxRemovalFraction: 1, broadestIpv4Prefix: 24, broadestIpv6Prefix: 64, sizeLimit: 6000 },
    conditions: { viaAwsServiceExemption: false, kmsViaServiceExemption: true },
  };
  const variants = [
    synth({ additionalTargets: [CI] }),
    synth({ ocmEnabled: false, extraCidrs: ['203.0.113.0/24'], schedule: 'rate(1 hour)', additionalTargets: [PARTNERS, changedCi, VPN] }),
  ];
  const ciPolicy = (s: Synth): [string, CfnJson] => [targetPolicy(s, 'ci'), s.json.Resources[targetPolicy(s, 'ci')]];

  test.each(variants.map((s, i) => [i, s] as const))('variant %i: same logical id, byte-identical resource', (_i, s) => {
    const [baseId, base] = ciPolicy(multi);
    const [id, policy] = ciPolicy(s);
    expect(id).toBe(baseId);
    expect(JSON.stringify(policy)).toBe(JSON.stringify(base));
  });

  test.each([multi, mixed, ...variants].map((s, i) => [i, s] as const))('synthesis %i: the placeholder is every managed policy\'s only document; only the function role writes', (_i, s) => {
    for (const policy of Object.values(resourcesOfType(s, 'AWS::IAM::ManagedPolicy'))) expect(policy.Properties?.PolicyDocument).toEqual(PLACEHOLDER_POLICY_DOCUMENT);
    const writers = new Set<string>();
    const WRITES = /^iam:(CreatePolicyVersion|SetDefaultPolicyVersion|DeletePolicyVersion|UpdateAssumeRolePolicy|PutRolePolicy|\*)$|^\*$/;
    for (const r of Object.values(resourcesOfType(s, 'AWS::IAM::Policy'))) {
      if (statementsOf(r).some((st) => st.Effect === 'Allow' && [st.Action].flat().some((a) => WRITES.test(a)))) {
        for (const role of r.Properties?.Roles as Array<{ Ref: string }>) writers.add(role.Ref);
      }
    }
    expect([...writers]).toEqual([logicalId(s, s.stack.sync.role)]);
  });
});

describe('cdk-nag AwsSolutions with targets', () => {
  /** Findings including acknowledged ones: the pack with its acknowledgement lookup switched off. */
  const allFindings = (s: Synth) => {
    const pack = new AwsSolutionsChecks();
    (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    return pack.validateScope(s.stack).violations;
  };

  test.each([['several targets', multi], ['no OCM for the main allowlist', mixed], ['static only', staticOnly]] as const)('%s: zero unacknowledged findings, every acknowledgement explained and real', (_name, s) => {
    const violations = new AwsSolutionsChecks().validateScope(s.stack).violations;
    expect(violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    const findings = allFindings(s);
    for (const ack of acknowledgements(s.stack)) {
      expect((ack.reason as string).trim().length).toBeGreaterThan(40);
      const matched = findings.some((f) => f.ruleName === ack.id && f.violatingResources.some((r) => (r.constructPath ?? '') === ack.path || (r.constructPath ?? '').startsWith(`${ack.path}/`)));
      expect(`${ack.id} at ${ack.path}: ${matched ? 'matches a finding' : 'stale'}`).toBe(`${ack.id} at ${ack.path}: matches a finding`);
    }
  });
});

describe('include, exclude and the VPC exemption', () => {
  test('reach the function: in each target\'s spec, and for the main allowlist as its variables and its spec', () => {
    const s = synth({
      includeCidrs: ['3.0.0.0/8'],
      excludeCidrs: ['3.1.0.0/16'],
      vpcExemption: ['vpce-0123456789abcdef0'],
      additionalTargets: [{ ...VPN, include: ['52.0.0.0/8'], conditions: { vpcExemption: ['vpc-0123456789abcdef0'] } } as AllowlistTargetProps],
    });
    const vars = env(s);
    expect(vars).toMatchObject({ INCLUDE_CIDRS: '3.0.0.0/8', EXCLUDE_CIDRS: '3.1.0.0/16', VPC_EXEMPTION: 'vpce-0123456789abcdef0' });
    const [main, vpn] = targetsEnv(s) as Record<string, unknown>[];
    expect(main).toMatchObject({ include: ['3.0.0.0/8'], exclude: ['3.1.0.0/16'], conditions: { vpcExemption: ['vpce-0123456789abcdef0'] } });
    expect(vpn).toMatchObject({ name: 'office-vpn', include: ['52.0.0.0/8'], conditions: { vpcExemption: ['vpc-0123456789abcdef0'] } });
  });
});

describe('synthesis fails on targets that cannot work, naming the target and the field', () => {
  const build = (props: AllowlistSyncProps) => () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new AllowlistSync(new Stack(app, 'AllowlistSync'), 'AllowlistSync', props);
  };
  const vpn = (extra: Partial<AllowlistTargetProps> = {}): AllowlistTargetProps => ({ ...VPN, ...extra }) as AllowlistTargetProps;
  const targets = (...list: unknown[]) => ({ additionalTargets: list as AllowlistTargetProps[] });

  const invalid: Array<[AllowlistSyncProps, RegExp]> = [
    [targets(vpn(), vpn({ roleName: 'Other' })), /invalid additionalTargets\[1\] \("office-vpn"\)\.name: the name "office-vpn" is already target "office-vpn"'s/],
    [targets(vpn({ name: 'ROSA-trusted-ips' })), /\[0\] \("ROSA-trusted-ips"\)\.name: the name "ROSA-trusted-ips" is already the main allowlist's/],
    [targets(vpn(), vpn({ name: 'vpn2' })), /\[1\] \("vpn2"\)\.roleName: the trust policy of role "BreakGlass" is already target "office-vpn"'s/],
    [targets(VENDOR, { ...VENDOR, name: 'v2' }), /\[1\] \("v2"\)\.policyName: the inline policy "allowlist-sync-ips" .* is already target "acme-vendor"'s/],
    [{ existingPolicyArn: POLICY_ARN, ...targets({ ...PARTNERS, existingPolicyArn: POLICY_ARN }) }, /\[0\] \("partners"\)\.existingPolicyArn: the policy .* is already the main allowlist's/],
    [targets({ ...VPN, name: 'has space' }), /\[0\]\.name: "has space" must be 1-64 of/],
    [targets({ ...VPN, kind: 'bucket-policy' }), /\[0\] \("office-vpn"\)\.kind: "bucket-policy" is not one of managed-policy, trust-policy, inline-policy/],
    [targets(vpn({ roleName: undefined })), /\[0\] \("office-vpn"\)\.roleName: is required for a trust-policy target/],
    [targets(vpn({ roleName: 'bad/role' })), /\.roleName: "bad\/role" is not an IAM role name/],
    [targets(vpn({ principals: [] })), /\.principals: must list at least one principal ARN/],
    [targets(vpn({ principals: ['alice'] })), /\.principals: "alice" is not an IAM principal ARN/],
    [targets(vpn({ include: ['3.0.0.0/40'] })), /\[0\] \("office-vpn"\)\.include: "3\.0\.0\.0\/40" is not a CIDR/],
    [targets(vpn({ include: [] })), /\[0\] \("office-vpn"\)\.include: is empty, which keeps nothing/],
    [targets(vpn({ exclude: 'x' as unknown as string[] })), /\.exclude: expected a list of strings/],
    [targets(vpn({ conditions: { vpcExemption: ['vpc-1'] } })), /\.conditions\.vpcExemption: "vpc-1" is not a VPC id/],
    [{ vpcExemption: ['subnet-0123456789abcdef0'] }, /invalid vpcExemption: "subnet-0123456789abcdef0" is not a VPC id/],
    [{ includeCidrs: ['office'] }, /invalid includeCidrs: "office" is not a CIDR/],
    [targets({ ...VENDOR, policyName: undefined }), /\[0\] \("acme-vendor"\)\.policyName: is required for an inline-policy target/],
    [targets({ ...VENDOR, principals: [BREAK_GLASS_PRINCIPAL] }), /\.principals: does not apply to inline-policy targets \(only to trust-policy\)/],
    [targets({ ...CI, roleName: 'X' }), /\[0\] \("ci"\)\.roleName: does not apply to managed-policy targets/],
    [targets({ ...VPN, rolename: 'BreakGlass' }), /\.rolename: is not a target field \(did you mean roleName\?\)/],
    [targets(vpn({ cidrsParameterName: undefined })), /\[0\] \("office-vpn"\): has no source: set ocm: true, cidrs, or cidrsParameterName/],
    [targets(vpn({ cidrs: ['10.0.0.0/33'] })), /\.cidrs: "10\.0\.0\.0\/33" is not a CIDR/],
    [targets(vpn({ cidrsParameterName: 'ssm-thing' })), /\.cidrsParameterName: .*reserves/],
    [targets(vpn({ guards: { sizeLimit: 6144 } })), /\.guards\.sizeLimit: 6144 must be an integer from 1 to 4096 \(IAM's limit for a trust-policy\)/],
    [targets(vpn({ guards: { maxRemovalFraction: 2 } })), /\.guards\.maxRemovalFraction: 2 must be a number from 0 to 1/],
    [targets(vpn({ guards: { minimum: 2 } as never })), /\.guards\.minimum: is not a guard/],
    [targets(vpn({ conditions: { viaService: true } as never })), /\.conditions\.viaService: is not a condition option/],
    [targets({ ...PARTNERS, existingPolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }), /\("partners"\)\.existingPolicyArn: .*AWS managed policy/],
    [targets({ ...PARTNERS, policyName: 'x' }), /\("partners"\)\.policyName: does not apply with existingPolicyArn/],
    [targets({ ...CI, attachToUsers: ['a', 'A'] }), /\("ci"\)\.attachToUsers: "A" is listed twice/],
    [targets({ ...CI, dryRun: 'yes' }), /\("ci"\)\.dryRun: expected a boolean, got "yes"/],
    [targets('office-vpn'), /\[0\]: expected an object/],
    [{ ocmEnabled: false }, /invalid ocmEnabled: without OCM the allowlist needs another source/],
    [{ cidrsParameterName: 'a b' }, /invalid cidrsParameterName: "a b" is not an SSM parameter name/],
  ];
  test.each(invalid.map(([props, message]) => [message.source, props, message] as const))('%s', (_title, props, message) => {
    expect(build(props)).toThrow(AllowlistSyncPropsError);
    expect(build(props)).toThrow(message);
  });

  test('a target name must be known at synth time (it names alarms and construct ids)', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const name = new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }).roleName;
    expect(() => new AllowlistSync(stack, 'A', targets(vpn({ name })))).toThrow(/\.name: must be a literal string/);
  });

  test('the function role is never a target: not its trust policy, not an inline policy on it, not an attachment', () => {
    // The function role of this construct path is "<prefix>-<region>" (same path as build() uses).
    const roleName = (multi.json.Resources[logicalId(multi, multi.stack.sync.role)].Properties as { RoleName: { 'Fn::Join': [string, [string]] } }).RoleName;
    const prefix = roleName['Fn::Join'][1][0].replace(/-$/, '');
    expect(prefix).toMatch(/^AllowlistSync-[0-9A-F]{8}$/);
    expect(build(targets(vpn({ roleName: `${prefix}-eu-west-1` })))).toThrow(/additionalTargets\[0\] \("office-vpn"\)\.roleName: .* is the sync function's own role/);
    expect(build(targets({ ...VENDOR, roleName: `arn:aws:iam::123456789012:role/${prefix}-us-east-1` }))).toThrow(/\("acme-vendor"\)\.roleName: .*own role/);
    expect(build(targets({ ...CI, attachToRoles: ['Fine', `${prefix.toLowerCase()}-eu-west-1`] }))).toThrow(/\("ci"\)\.attachToRoles: .*own role/);
  });

  test('an environment Lambda would refuse (over 4 KB) is caught at synthesis, with the way out', () => {
    const cidrs = Array.from({ length: 300 }, (_, i) => `20.${Math.floor(i / 250)}.${i % 250}.0/24`);
    expect(build(targets(vpn({ cidrs })))).toThrow(/invalid additionalTargets: the function's environment would be about \d+ bytes, over Lambda's limit of 4096: move long CIDR lists/);
    expect(build({ extraCidrs: cidrs })).toThrow(/invalid extraCidrs: .*over Lambda's limit/);
  });
});

describe('context: -c targets=JSON, or an array in cdk.json', () => {
  const parse = (context: Record<string, unknown>) => parseContext((key) => context[key]);
  const contextError = (context: Record<string, unknown>): ContextError => {
    try {
      parse(context);
    } catch (err) {
      if (err instanceof ContextError) return err;
      throw err;
    }
    throw new Error('no error');
  };

  test('a JSON string from the command line and an array from cdk.json give the same props', () => {
    const fromCli = parse({ targets: JSON.stringify(TARGETS) }).sync;
    expect(fromCli).toEqual({ additionalTargets: TARGETS });
    expect(parse({ targets: TARGETS }).sync).toEqual(fromCli);
    expect(parse({ targets: '[]' }).sync).toEqual({});
  });

  test('a static-only deployment from the command line', () => {
    expect(parse({ ocmEnabled: 'false', extraCidrs: '203.0.113.0/24', cidrsParameterName: '/office/cidrs' }).sync).toEqual({
      ocmEnabled: false,
      extraCidrs: ['203.0.113.0/24'],
      cidrsParameterName: '/office/cidrs',
    });
  });

  test.each([
    ['targets', { targets: '[{"name":"x",' }, /^Invalid context "targets": is not valid JSON .*quote it for the shell/],
    ['targets', { targets: '{"name":"x"}' }, /^Invalid context "targets": expected a JSON array of targets/],
    ['targets', { targets: [{ ...VPN, roleName: undefined }] }, /^Invalid context "targets": \[0\] \("office-vpn"\)\.roleName: is required/],
    ['targets', { targets: JSON.stringify([VPN, { ...VENDOR, name: 'office-vpn' }]) }, /\[1\] \("office-vpn"\)\.name: the name "office-vpn" is already target "office-vpn"'s/],
    ['targets', { allowlistName: 'partner-ips', targets: [{ ...VPN, name: 'partner-ips' }] }, /\[0\] \("partner-ips"\)\.name: .*the main allowlist's/],
    ['targets', { targets: [{ ...CI, guards: { minEntries: '2' } }] }, /\[0\] \("ci"\)\.guards\.minEntries: expected a number, got "2"/],
    ['ocmEnabled', { ocmEnabled: 'false' }, /needs another source: set extraCidrs and\/or cidrsParameterName/],
    ['ocmEnabled', { ocmEnabled: 'no' }, /expected true or false/],
    ['cidrsParameterName', { cidrsParameterName: 'aws-thing' }, /reserves/],
  ] as Array<[string, Record<string, unknown>, RegExp]>)('invalid %s fails naming the key (%#)', (key, context, message) => {
    const err = contextError(context);
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
  });
});
