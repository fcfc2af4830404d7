import { AllowlistSyncPropsError } from '../../lib/allowlist-sync';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { FLEET_SIDS } from '../../lib/fleet';
import { checkFleet } from '../../lib/fleet-props';
import type { FleetProps } from '../../lib/fleet-props';
import { spokeTemplate } from '../../lib/spoke-template';
import { validateTargetEntry } from '../../lambda/kinds/specs';
import { FULL, TARGETS } from './fixtures';
import { logicalId, only, resourcesOfType, synth } from './support';
import type { CfnJson, Synth } from './support';

// The hub side of the fleet: the StackSet, the fleet target the function is told about, and the least privilege of
// the function's new permissions. The spoke template on its own: spoke-template.test.ts.
const OU = 'ou-abcd-12345678';
const FLEET: FleetProps = { organizationalUnitIds: [OU] };
const DELEGATED: FleetProps = {
  organizationalUnitIds: [OU, 'ou-efgh-87654321'],
  region: 'us-east-1',
  callAs: 'DELEGATED_ADMIN',
  managementAccountId: '111111111111',
  organizationId: 'o-abcdef1234',
  excludeAccounts: ['222222222222'],
  stackSetName: 'RosaAllowlists',
  spokeRoleName: 'RosaAllowlistSpoke',
  policyName: 'rosa-allowlist',
  policyPath: '/allowlists/',
  rolesToProtect: ['ManagedOpenShift-Support-Role', 'ManagedOpenShift-Installer-Role'],
  name: 'rosa-fleet',
  cidrs: ['203.0.113.0/24'],
  guards: { minEntries: 3 },
  dryRun: true,
};

const plain = synth();
const fleet = synth({ fleet: FLEET });
const delegated = synth({ fleet: DELEGATED });

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const statementsIn = (r: CfnJson) => ((r.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
/** Every statement of every IAM policy of the stack, with the policy's logical id. */
const allStatements = (s: Synth) => Object.entries(resourcesOfType(s, 'AWS::IAM::Policy')).flatMap(([id, r]) => statementsIn(r).map((st) => ({ id, st })));
const defaultPolicyId = (s: Synth) => logicalId(s, s.stack.sync.role.node.findChild('DefaultPolicy'));
const fnOf = (s: Synth) => s.json.Resources[logicalId(s, s.stack.sync.function)].Properties as { Environment: { Variables: Record<string, unknown> } };
/** ALLOWLIST_TARGETS with every token (a policy ARN) as "<token>". */
const targetsOf = (s: Synth): Array<Record<string, unknown>> => {
  const value = fnOf(s).Environment.Variables.ALLOWLIST_TARGETS as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  return JSON.parse(text) as Array<Record<string, unknown>>;
};
const joined = (v: unknown) =>
  (v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join('');
const actionsOf = (st: Statement) => [st.Action].flat();

describe('the StackSet', () => {
  test('service-managed, auto-deployed, named IAM, managed execution, tolerant of a few failed accounts, one region', () => {
    const [, stackSet] = only(fleet, 'AWS::CloudFormation::StackSet');
    expect(stackSet.Properties).toEqual({
      StackSetName: 'AllowlistSyncSpoke',
      Description: expect.stringContaining('allowlist-sync'),
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: 'SELF',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      ManagedExecution: { Active: true },
      OperationPreferences: { ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE', FailureTolerancePercentage: 25, MaxConcurrentPercentage: 25, RegionConcurrencyType: 'PARALLEL' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: [OU] }, Regions: [{ Ref: 'AWS::Region' }] }],
      Parameters: [{ ParameterKey: 'HubRoleArn', ParameterValue: { 'Fn::GetAtt': [logicalId(fleet, fleet.stack.sync.role), 'Arn'] } }],
      TemplateBody: expect.any(String),
    });
  });

  test('its template body is exactly the spoke template of the fleet settings', () => {
    for (const [s, props] of [[fleet, FLEET], [delegated, DELEGATED]] as const) {
      const [, stackSet] = only(s, 'AWS::CloudFormation::StackSet');
      const body = (stackSet.Properties as { TemplateBody: unknown }).TemplateBody;
      // A literal string: no token, nothing CloudFormation has to fill in, reviewable as it is.
      expect(typeof body).toBe('string');
      expect(JSON.parse(body as string)).toEqual(spokeTemplate(checkFleet(props)));
    }
  });

  test('delegated administrator, the region given, excluded accounts left out of the deployment', () => {
    const [, stackSet] = only(delegated, 'AWS::CloudFormation::StackSet');
    expect(stackSet.Properties).toMatchObject({
      StackSetName: 'RosaAllowlists',
      CallAs: 'DELEGATED_ADMIN',
      StackInstancesGroup: [
        {
          DeploymentTargets: { OrganizationalUnitIds: [OU, 'ou-efgh-87654321'], Accounts: ['222222222222'], AccountFilterType: 'DIFFERENCE' },
          Regions: ['us-east-1'],
        },
      ],
    });
  });

  test('the stack outputs name it and how to list its accounts', () => {
    expect(fleet.json.Outputs.FleetStackSetName).toMatchObject({ Value: 'AllowlistSyncSpoke' });
    expect(delegated.json.Outputs.FleetAccountsCommand.Value).toBe(
      'aws cloudformation list-stack-instances --stack-set-name RosaAllowlists --call-as DELEGATED_ADMIN --query "Summaries[].[Account,Status,StatusReason]" --output text',
    );
    expect(Object.keys(plain.json.Outputs).filter((k) => k.startsWith('Fleet'))).toEqual([]);
  });

  test('created after the hub role (the spoke trust names it), before the first sync runs', () => {
    const [stackSetId, stackSet] = only(fleet, 'AWS::CloudFormation::StackSet');
    expect(stackSet.DependsOn).toEqual(expect.arrayContaining([logicalId(fleet, fleet.stack.sync.role), defaultPolicyId(fleet)]));
    const [, trigger] = only(fleet, 'Custom::Trigger');
    expect(trigger.DependsOn).toContain(stackSetId);
  });
});

describe('the fleet target', () => {
  test('is appended to ALLOWLIST_TARGETS after the main allowlist, in the contract shape', () => {
    expect(targetsOf(fleet)).toEqual([
      { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: '<token>', sources: ['ocm'] },
      {
        name: 'fleet',
        kind: 'managed-policy',
        policyName: 'rosa-trusted-ips',
        policyPath: '/',
        accounts: 'stackset:AllowlistSyncSpoke',
        assumeRoleName: 'AllowlistSyncSpoke',
        callAs: 'SELF',
        attachToRoles: ['ManagedOpenShift-Support-Role'],
        sources: ['ocm'],
      },
    ]);
    // The single-target variables still name the main allowlist.
    expect(fnOf(fleet).Environment.Variables.POLICY_ARN).toEqual({ Ref: logicalId(fleet, fleet.stack.sync.policy!) });
  });

  test('carries every fleet setting the function reads, after the additional targets', () => {
    const s = synth({ additionalTargets: TARGETS, fleet: DELEGATED });
    const targets = targetsOf(s);
    expect(targets.map((t) => t.name)).toEqual(['rosa-trusted-ips', ...TARGETS.map((t) => t.name), 'rosa-fleet']);
    expect(targets.at(-1)).toEqual({
      name: 'rosa-fleet',
      kind: 'managed-policy',
      policyName: 'rosa-allowlist',
      policyPath: '/allowlists/',
      accounts: 'stackset:RosaAllowlists',
      assumeRoleName: 'RosaAllowlistSpoke',
      callAs: 'DELEGATED_ADMIN',
      excludeAccounts: ['222222222222'],
      attachToRoles: ['ManagedOpenShift-Support-Role', 'ManagedOpenShift-Installer-Role'],
      sources: ['ocm', 'static:203.0.113.0/24'],
      guards: { minEntries: 3 },
      dryRun: true,
    });
  });

  test('carries the per-target conditions, include, exclude, ssm source and reattach, in the shape the function accepts', () => {
    const s = synth({
      fleet: {
        ...FLEET,
        conditions: { vpcExemption: ['vpc-0abc1234', 'vpce-0123456789abcdef0'], viaAwsServiceExemption: true },
        include: ['192.0.2.0/24', '198.51.100.0/24'],
        exclude: ['192.0.2.128/25'],
        cidrsParameterName: '/allowlist-sync/fleet-cidrs',
        reattach: false,
      },
    });
    const entry = targetsOf(s).at(-1) as Record<string, unknown>;
    expect(entry).toMatchObject({
      name: 'fleet',
      accounts: 'stackset:AllowlistSyncSpoke',
      reattach: false,
      sources: ['ocm', 'ssm:/allowlist-sync/fleet-cidrs'],
      conditions: { vpcExemption: ['vpc-0abc1234', 'vpce-0123456789abcdef0'], viaAwsServiceExemption: true },
      include: ['192.0.2.0/24', '198.51.100.0/24'],
      exclude: ['192.0.2.128/25'],
    });
    // The function's own parser takes the entry as it is and keeps every one of them.
    expect(validateTargetEntry(entry, 1)).toMatchObject({
      conditions: entry.conditions,
      include: entry.include,
      exclude: entry.exclude,
      reattach: false,
      sources: entry.sources,
    });
    // The hub reads the parameter (once per run, for every account): exactly that one, nothing else of SSM.
    const read = allStatements(s).filter(({ st }) => st.Sid === FLEET_SIDS.readCidrs);
    expect(read).toHaveLength(1);
    expect(actionsOf(read[0].st)).toEqual(['ssm:GetParameter']);
    expect(joined(read[0].st.Resource)).toMatch(/:ssm:<AWS::Region>:<AWS::AccountId>:parameter\/allowlist-sync\/fleet-cidrs$/);
    // Without them, the entry carries none of them.
    for (const key of ['conditions', 'include', 'exclude', 'reattach']) expect(targetsOf(fleet).at(-1)).not.toHaveProperty(key);
    expect(allStatements(fleet).map(({ st }) => st.Sid)).not.toContain(FLEET_SIDS.readCidrs);
  });

  test('a fleet on OCM makes the function read the OCM credentials even when the main allowlist does not', () => {
    const s = synth({ ocmEnabled: false, extraCidrs: ['198.51.100.0/24'], fleet: FLEET });
    expect(fnOf(s).Environment.Variables.OCM_CREDENTIALS_PARAMETER).toBe('/allowlist-sync/ocm-credentials');
    expect(allStatements(s).map(({ st }) => st.Sid)).toContain('ReadOcmCredentials');
  });
});

describe('least privilege of the hub function', () => {
  const fleetStatements = (s: Synth) => allStatements(s).filter(({ st }) => actionsOf(st).some((a) => /^(sts|cloudformation|organizations):/i.test(a)));

  test('sts:AssumeRole only on roles of the spoke role name, only within the organization', () => {
    const assume = allStatements(fleet).filter(({ st }) => actionsOf(st).some((a) => /^sts:/i.test(a) || a === '*'));
    expect(assume).toHaveLength(1);
    const [{ id, st }] = assume;
    expect(id).toBe(defaultPolicyId(fleet));
    expect(st).toMatchObject({ Sid: FLEET_SIDS.assume, Effect: 'Allow', Action: 'sts:AssumeRole' });
    expect(joined(st.Resource)).toBe('arn:<AWS::Partition>:iam::*:role/AllowlistSyncSpoke');
    // No organization id given: the role's organization must be the function's own (a policy variable).
    expect(st.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': '${aws:PrincipalOrgID}' } });

    const [{ st: named }] = allStatements(delegated).filter(({ st: x }) => x.Sid === FLEET_SIDS.assume);
    expect(joined(named.Resource)).toBe('arn:<AWS::Partition>:iam::*:role/RosaAllowlistSpoke');
    expect(named.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': 'o-abcdef1234' } });
  });

  test('cloudformation:ListStackInstances only on its own StackSet (in the management account when delegated)', () => {
    const list = (s: Synth) => allStatements(s).filter(({ st }) => actionsOf(st).some((a) => /^cloudformation:/i.test(a)));
    const [self] = list(fleet);
    expect(list(fleet)).toHaveLength(1);
    expect(self.st).toMatchObject({ Sid: FLEET_SIDS.list, Action: 'cloudformation:ListStackInstances' });
    expect(joined(self.st.Resource)).toBe('arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stackset/AllowlistSyncSpoke:*');
    const [admin] = list(delegated);
    expect(joined(admin.st.Resource)).toBe('arn:<AWS::Partition>:cloudformation:<AWS::Region>:111111111111:stackset/RosaAllowlists:*');
    const unnamed = synth({ fleet: { organizationalUnitIds: [OU], callAs: 'DELEGATED_ADMIN' } });
    expect(joined(list(unnamed)[0].st.Resource)).toBe('arn:<AWS::Partition>:cloudformation:<AWS::Region>:*:stackset/AllowlistSyncSpoke:*');
  });

  test('organizations:ListDelegatedAdministrators only for a delegated administrator, and nothing else of Organizations', () => {
    const orgs = (s: Synth) => allStatements(s).filter(({ st }) => actionsOf(st).some((a) => /^organizations:/i.test(a)));
    expect(orgs(fleet)).toEqual([]);
    expect(orgs(delegated).map(({ st }) => [st.Sid, st.Action, st.Resource])).toEqual([[FLEET_SIDS.delegated, 'organizations:ListDelegatedAdministrators', '*']]);
  });

  test('the fleet adds exactly these statements, all on the function role, and no resource besides the StackSet and its alarms', () => {
    expect(fleetStatements(fleet).map(({ id, st }) => [id, st.Sid])).toEqual([
      [defaultPolicyId(fleet), FLEET_SIDS.assume],
      [defaultPolicyId(fleet), FLEET_SIDS.list],
    ]);
    const types = (s: Synth) => Object.values(s.json.Resources).map((r) => r.Type).sort();
    expect(types(fleet)).toEqual([...types(plain), 'AWS::CloudFormation::StackSet', ...Array(3).fill('AWS::CloudWatch::Alarm')].sort());
    // No IAM role or policy of the spokes sits in the hub stack: they are the StackSet's, in its template body.
    expect(Object.keys(resourcesOfType(fleet, 'AWS::IAM::Role'))).toEqual(Object.keys(resourcesOfType(plain, 'AWS::IAM::Role')));
  });
});

describe('the fleet\'s alarms', () => {
  const extra = () => Object.entries(resourcesOfType(fleet, 'AWS::CloudWatch::Alarm')).filter(([id]) => !(id in plain.json.Resources));
  const alarmOf = (a: unknown) => {
    const id = logicalId(fleet, a as never);
    return [id, fleet.json.Resources[id]] as const;
  };

  test('three, each created after the deploy-time sync and shown on the dashboard', () => {
    const alarms = fleet.stack.sync.fleetAlarms!;
    expect(extra().map(([id]) => id).sort()).toEqual([alarms.skipped, alarms.refused, alarms.stale].map((a) => logicalId(fleet, a as never)).sort());
    const dashboard = JSON.stringify(Object.values(resourcesOfType(fleet, 'AWS::CloudWatch::Dashboard'))[0]);
    for (const [id, alarm] of extra()) {
      expect(alarm.DependsOn).toEqual(expect.arrayContaining(Object.keys(resourcesOfType(fleet, 'Custom::Trigger'))));
      expect(dashboard).toContain(id);
    }
  });

  test('any account refused: FleetAccountsRefused >= 1 on the fleet\'s own dimension (alarms cannot select the accounts\' by prefix)', () => {
    const topic = { Ref: logicalId(fleet, fleet.stack.sync.topic) };
    expect(alarmOf(fleet.stack.sync.fleetAlarms?.refused)[1].Properties).toMatchObject({
      AlarmName: 'AllowlistSync fleet: fleet accounts refused',
      MetricName: 'FleetAccountsRefused',
      Namespace: 'AllowlistSync',
      Dimensions: [{ Name: 'service', Value: 'fleet' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  test('any account stale: some account not synced in every run for the staleness threshold; no run over the fleet is stale too', () => {
    const topic = { Ref: logicalId(fleet, fleet.stack.sync.topic) };
    expect(alarmOf(fleet.stack.sync.fleetAlarms?.stale)[1].Properties).toMatchObject({
      AlarmName: 'AllowlistSync fleet: fleet accounts stale',
      MetricName: 'FleetAccountsNotSynced',
      Dimensions: [{ Name: 'service', Value: 'fleet' }],
      // The least of the period's runs: one run that synced every account is enough.
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    // A named fleet: its name in the alarms' names.
    expect(Object.values(resourcesOfType(delegated, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties?.AlarmName)).toEqual(
      expect.arrayContaining(['AllowlistSync rosa-fleet: fleet accounts stale', 'AllowlistSync rosa-fleet: fleet accounts refused']),
    );
  });

  test('accounts skipped (not CURRENT) for the staleness threshold alarm, on the fleet\'s own dimension, to the topic, on the dashboard', () => {
    const [id, alarm] = alarmOf(fleet.stack.sync.fleetAlarms?.skipped);
    const topic = { Ref: logicalId(fleet, fleet.stack.sync.topic) };
    expect(alarm.Properties).toMatchObject({
      AlarmName: 'AllowlistSync fleet: fleet accounts skipped',
      MetricName: 'FleetAccountsSkipped',
      Namespace: 'AllowlistSync',
      Dimensions: [{ Name: 'service', Value: 'fleet' }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    // Created once the deploy-time sync ran, like the others; shown with them on the dashboard.
    expect(alarm.DependsOn).toEqual(expect.arrayContaining(Object.keys(resourcesOfType(fleet, 'Custom::Trigger'))));
    expect(JSON.stringify(Object.values(resourcesOfType(fleet, 'AWS::CloudWatch::Dashboard'))[0])).toContain(id);
    expect(plain.stack.sync.fleetAlarms).toBeUndefined();
  });
});

describe('without a fleet nothing changes', () => {
  test('the template is identical with the fleet prop unset', () => {
    expect(synth({ fleet: undefined }).json).toEqual(plain.json);
    expect(synth({ ...FULL, fleet: undefined }).json).toEqual(synth(FULL).json);
  });

  test('no StackSet, no STS, CloudFormation or Organizations permission, no ALLOWLIST_TARGETS', () => {
    for (const s of [plain, synth(FULL)]) {
      expect(Object.keys(resourcesOfType(s, 'AWS::CloudFormation::StackSet'))).toEqual([]);
      expect(allStatements(s).filter(({ st }) => actionsOf(st).some((a) => /^(sts|cloudformation|organizations):/i.test(a)))).toEqual([]);
      expect(fnOf(s).Environment.Variables.ALLOWLIST_TARGETS).toBeUndefined();
      expect(JSON.stringify(s.json)).not.toContain('AllowlistSyncSpoke');
    }
  });

  test('with a fleet, every resource but the function, its version, the trigger and the role policy is byte-identical', () => {
    const changed = new Set([
      logicalId(fleet, fleet.stack.sync.function),
      defaultPolicyId(fleet),
      ...Object.keys(resourcesOfType(fleet, 'AWS::Lambda::Version')),
      ...Object.keys(resourcesOfType(plain, 'AWS::Lambda::Version')),
      ...Object.keys(resourcesOfType(fleet, 'Custom::Trigger')),
      ...Object.keys(resourcesOfType(fleet, 'AWS::CloudFormation::StackSet')),
      // The dashboard's alarm widget shows the fleet's alarm too.
      ...Object.keys(resourcesOfType(fleet, 'AWS::CloudWatch::Dashboard')),
    ]);
    for (const [id, resource] of Object.entries(plain.json.Resources)) {
      if (changed.has(id)) continue;
      expect([id, JSON.stringify(fleet.json.Resources[id])]).toEqual([id, JSON.stringify(resource)]);
    }
    // The role policy: the same statements, plus the fleet's.
    const withoutFleet = statementsIn(fleet.json.Resources[defaultPolicyId(fleet)]).filter((st) => !Object.values(FLEET_SIDS).includes(st.Sid as never));
    expect(withoutFleet).toEqual(statementsIn(plain.json.Resources[defaultPolicyId(plain)]));
    // The function: the same settings, plus the target list.
    const { ALLOWLIST_TARGETS, ...rest } = fnOf(fleet).Environment.Variables;
    expect(ALLOWLIST_TARGETS).toBeDefined();
    expect(rest).toEqual(fnOf(plain).Environment.Variables);
  });
});

describe('bad fleet props fail synthesis, naming the prop', () => {
  const cases: Array<[string, AllowlistSyncProps, RegExp]> = [
    ['no OUs', { fleet: {} as FleetProps }, /invalid fleet\.organizationalUnitIds: is required/],
    ['a bad OU', { fleet: { organizationalUnitIds: ['ou-1'] } }, /invalid fleet\.organizationalUnitIds: "ou-1" is not an organizational unit id/],
    ['the main allowlist\'s name', { allowlistName: 'fleet', fleet: FLEET }, /invalid fleet\.name: "fleet" is already the name of another target/],
    ['an additional target\'s name', { additionalTargets: TARGETS, fleet: { ...FLEET, name: 'CI' } }, /invalid fleet\.name: "CI" is already the name/],
    ['the hub policy\'s name', { policyName: 'rosa-trusted-ips', fleet: FLEET }, /invalid fleet\.policyName: "rosa-trusted-ips" is also the hub's own policy name/],
    ['the spoke role protected', { fleet: { ...FLEET, rolesToProtect: ['AllowlistSyncSpoke'] } }, /invalid fleet\.rolesToProtect: .*lock the hub out/],
    ['a bad guard', { fleet: { ...FLEET, guards: { maxRemovalFraction: 2 } } }, /invalid fleet\.guards\.maxRemovalFraction: /],
    ['a misspelt condition', { fleet: { ...FLEET, conditions: { vpcExemptions: ['vpc-0abc1234'] } as never } }, /invalid fleet\.conditions\.vpcExemptions: is not a condition option \(did you mean vpcExemption\?\)/],
    ['a bad VPC id', { fleet: { ...FLEET, conditions: { vpcExemption: ['subnet-0abc1234'] } } }, /invalid fleet\.conditions\.vpcExemption: .*subnet-0abc1234/],
    ['a bad include', { fleet: { ...FLEET, include: ['192.0.2.0/33'] } }, /invalid fleet\.include: .*192\.0\.2\.0\/33/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(AllowlistSyncPropsError);
    expect(() => synth(props)).toThrow(message);
  });
});
