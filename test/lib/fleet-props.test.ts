import { ContextError, parseContext } from '../../lib/context';
import { FLEET_DEFAULTS, FleetError, checkFleet, parseFleetContext } from '../../lib/fleet-props';

const OU = 'ou-abcd-12345678';
const parse = (context: Record<string, unknown>) => parseContext((key) => context[key]);

describe('checkFleet', () => {
  test('fills in every default', () => {
    expect(checkFleet({ organizationalUnitIds: [OU] })).toEqual({
      organizationalUnitIds: [OU],
      stackSetName: 'AllowlistSyncSpoke',
      spokeRoleName: 'AllowlistSyncSpoke',
      callAs: 'SELF',
      excludeAccounts: [],
      policyName: 'rosa-trusted-ips',
      policyPath: '/',
      rolesToProtect: ['ManagedOpenShift-Support-Role'],
      name: 'fleet',
      ocm: true,
      failureTolerancePercentage: 25,
      maxConcurrentPercentage: 25,
    });
    // The function's own default role name is the same (the contract's "default AllowlistSyncSpoke").
    expect(FLEET_DEFAULTS.spokeRoleName).toBe('AllowlistSyncSpoke');
  });

  test('keeps every setting given', () => {
    const all = {
      organizationalUnitIds: [OU, 'r-abcd'],
      region: 'us-east-1',
      stackSetName: 'RosaAllowlists',
      spokeRoleName: 'RosaAllowlistSpoke',
      callAs: 'DELEGATED_ADMIN' as const,
      managementAccountId: '111111111111',
      organizationId: 'o-abcdef1234',
      excludeAccounts: ['222222222222'],
      policyName: 'rosa-allowlist',
      policyPath: '/allowlists/',
      rolesToProtect: ['ManagedOpenShift-Support-Role', 'ManagedOpenShift-Installer-Role'],
      name: 'rosa-fleet',
      ocm: false,
      cidrs: ['203.0.113.0/24'],
      guards: { minEntries: 2 },
      dryRun: true,
      failureTolerancePercentage: 10,
      maxConcurrentPercentage: 50,
    };
    expect(checkFleet(all)).toEqual(all);
    expect(checkFleet({ organizationalUnitIds: [OU], rolesToProtect: [] }).rolesToProtect).toEqual([]);
  });

  test('keeps the per-target settings every other target has: conditions, include, exclude, an ssm source, reattach', () => {
    const perTarget = {
      conditions: { vpcExemption: ['vpc-0abc1234', 'vpce-0123456789abcdef0'], kmsViaServiceExemption: true },
      include: ['192.0.2.0/24', '198.51.100.0/24'],
      exclude: ['192.0.2.128/25'],
      cidrsParameterName: '/allowlist-sync/extra-cidrs',
      reattach: false,
    };
    expect(checkFleet({ organizationalUnitIds: [OU], ...perTarget })).toMatchObject(perTarget);
    // ssm alone is a source.
    expect(checkFleet({ organizationalUnitIds: [OU], ocm: false, cidrsParameterName: 'extra' }).cidrsParameterName).toBe('extra');
  });

  const invalid: Array<[string | undefined, unknown, RegExp]> = [
    [undefined, 'ou-abcd-12345678', /expected an object/],
    [undefined, [OU], /expected an object/],
    ['organizationalUnitIds', {}, /is required/],
    ['organizationalUnitIds', { organizationalUnitIds: [] }, /is empty/],
    ['organizationalUnitIds', { organizationalUnitIds: OU }, /expected a list of strings/],
    ['organizationalUnitIds', { organizationalUnitIds: ['ou-ABCD-12345678'] }, /"ou-ABCD-12345678" is not an organizational unit id/],
    ['organizationalUnitIds', { organizationalUnitIds: ['123456789012'] }, /is not an organizational unit id/],
    ['organizationalUnitIds', { organizationalUnitIds: [OU, OU] }, /listed twice/],
    ['organisationalUnitIds', { organisationalUnitIds: [OU] }, /is not a fleet setting \(did you mean organizationalUnitIds\?\)/],
    ['accounts', { organizationalUnitIds: [OU], accounts: ['111111111111'] }, /is not a fleet setting/],
    ['region', { organizationalUnitIds: [OU], region: 'Ireland' }, /"Ireland" is not an AWS region/],
    ['region', { organizationalUnitIds: [OU], region: ['eu-west-1', 'us-east-1'] }, /expected a string/],
    ['stackSetName', { organizationalUnitIds: [OU], stackSetName: '1-set' }, /not a StackSet name/],
    ['spokeRoleName', { organizationalUnitIds: [OU], spokeRoleName: 'a/b' }, /not an IAM role name/],
    ['callAs', { organizationalUnitIds: [OU], callAs: 'delegated' }, /"delegated" is not one of SELF, DELEGATED_ADMIN/],
    ['managementAccountId', { organizationalUnitIds: [OU], callAs: 'DELEGATED_ADMIN', managementAccountId: '1234' }, /not an AWS account id/],
    ['managementAccountId', { organizationalUnitIds: [OU], managementAccountId: '111111111111' }, /only applies with callAs DELEGATED_ADMIN/],
    ['organizationId', { organizationalUnitIds: [OU], organizationId: 'org-1' }, /not an organization id/],
    ['excludeAccounts', { organizationalUnitIds: [OU], excludeAccounts: ['12345678901'] }, /"12345678901" is not an AWS account id/],
    ['excludeAccounts', { organizationalUnitIds: [OU], excludeAccounts: ['111111111111', '111111111111'] }, /listed twice/],
    ['policyName', { organizationalUnitIds: [OU], policyName: 'bad name' }, /not a valid IAM policy name/],
    ['policyPath', { organizationalUnitIds: [OU], policyPath: 'allowlists' }, /not an IAM path/],
    ['rolesToProtect', { organizationalUnitIds: [OU], rolesToProtect: ['arn:aws:iam::111111111111:role/x'] }, /not an IAM role name/],
    ['rolesToProtect', { organizationalUnitIds: [OU], rolesToProtect: ['allowlistsyncspoke'] }, /is the spoke role: the allowlist on it would lock the hub out/],
    ['rolesToProtect', { organizationalUnitIds: [OU], rolesToProtect: ['A', 'a'] }, /listed twice/],
    ['name', { organizationalUnitIds: [OU], name: 'fleet/one' }, /must be 1-64 of/],
    ['name', { organizationalUnitIds: [OU], name: 'x'.repeat(52) }, /longer than 51 characters/],
    ['ocm', { organizationalUnitIds: [OU], ocm: 'yes' }, /expected a boolean/],
    ['ocm', { organizationalUnitIds: [OU], ocm: false }, /needs a source/],
    ['cidrs', { organizationalUnitIds: [OU], cidrs: ['10.0.0.0/33'] }, /not a CIDR/],
    ['guards.minEntries', { organizationalUnitIds: [OU], guards: { minEntries: 0 } }, /from 1/],
    ['guards.noSuchGuard', { organizationalUnitIds: [OU], guards: { noSuchGuard: 1 } }, /is not a guard/],
    ['conditions', { organizationalUnitIds: [OU], conditions: ['vpc-0abc1234'] }, /expected an object/],
    ['conditions.vpcExemptions', { organizationalUnitIds: [OU], conditions: { vpcExemptions: ['vpc-0abc1234'] } }, /is not a condition option \(did you mean vpcExemption\?\)/],
    ['conditions.vpcExemption', { organizationalUnitIds: [OU], conditions: { vpcExemption: ['sg-0abc1234'] } }, /sg-0abc1234/],
    ['conditions.vpcExemption', { organizationalUnitIds: [OU], conditions: { vpcExemption: 'vpc-0abc1234' } }, /expected a list of VPC or VPC endpoint ids/],
    ['conditions.viaAwsServiceExemption', { organizationalUnitIds: [OU], conditions: { viaAwsServiceExemption: 'no' } }, /expected true or false/],
    ['include', { organizationalUnitIds: [OU], include: [] }, /is empty, which keeps nothing/],
    ['include', { organizationalUnitIds: [OU], include: ['10.0.0.0/33'] }, /10\.0\.0\.0\/33/],
    ['include', { organizationalUnitIds: [OU], include: '192.0.2.0/24' }, /expected a list of strings/],
    ['exclude', { organizationalUnitIds: [OU], exclude: ['not-a-cidr'] }, /not-a-cidr/],
    ['excludes', { organizationalUnitIds: [OU], excludes: ['192.0.2.0/24'] }, /is not a fleet setting \(did you mean exclude\?\)/],
    ['cidrsParameterName', { organizationalUnitIds: [OU], cidrsParameterName: 'bad name!' }, /bad name!/],
    ['reattach', { organizationalUnitIds: [OU], reattach: 'yes' }, /expected a boolean/],
    ['reattach', { organizationalUnitIds: [OU], rolesToProtect: [], reattach: true }, /no effect with rolesToProtect empty/],
    ['failureTolerancePercentage', { organizationalUnitIds: [OU], failureTolerancePercentage: 101 }, /from 0 to 100/],
    ['maxConcurrentPercentage', { organizationalUnitIds: [OU], maxConcurrentPercentage: 0 }, /from 1 to 100/],
    ['maxConcurrentPercentage', { organizationalUnitIds: [OU], maxConcurrentPercentage: 2.5 }, /integer/],
  ];
  test.each(invalid)('%s: refused, naming the field', (field, value, message) => {
    let error: unknown;
    try {
      checkFleet(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).field).toBe(field);
    expect((error as Error).message).toMatch(new RegExp(`^${(field ? `fleet.${field}` : 'fleet').replace(/\./g, '\\.')}: `));
    expect((error as Error).message).toMatch(message);
  });
});

describe('the fleet context key', () => {
  test('unset, empty or null: no fleet', () => {
    expect(parseFleetContext(undefined)).toBeUndefined();
    expect(parseFleetContext('')).toBeUndefined();
    expect(parse({}).sync.fleet).toBeUndefined();
    expect(parse({ fleet: '' }).sync).toEqual({});
  });

  test('a JSON object from the command line, or an object from cdk.json', () => {
    const fleet = { organizationalUnitIds: [OU], callAs: 'DELEGATED_ADMIN', excludeAccounts: ['111111111111'] };
    expect(parse({ fleet: JSON.stringify(fleet) }).sync).toEqual({ fleet });
    expect(parse({ fleet }).sync).toEqual({ fleet });
  });

  test('the README example parses', () => {
    expect(parse({ fleet: '{"organizationalUnitIds":["ou-abcd-12345678"],"callAs":"DELEGATED_ADMIN"}' }).sync.fleet).toEqual({
      organizationalUnitIds: [OU],
      callAs: 'DELEGATED_ADMIN',
    });
  });

  test('per-target conditions, include and exclude from the command line and from cdk.json', () => {
    const fleet = { organizationalUnitIds: [OU], conditions: { vpcExemption: ['vpce-0123456789abcdef0'] }, include: ['192.0.2.0/24'], exclude: ['192.0.2.0/28'] };
    expect(parse({ fleet: JSON.stringify(fleet) }).sync).toEqual({ fleet });
    expect(parse({ fleet }).sync).toEqual({ fleet });
  });

  const invalid: Array<[unknown, RegExp]> = [
    ['{"organizationalUnitIds":["ou-abcd-12345678"],"conditions":{"vpcExemptio":["vpc-0abc1234"]}}', /fleet\.conditions\.vpcExemptio: is not a condition option \(did you mean vpcExemption\?\)/],
    ['{"organizationalUnitIds":["ou-abcd-12345678"],"conditions":{"vpcExemption":["vpc-x"]}}', /fleet\.conditions\.vpcExemption: .*vpc-x/],
    ['{"organizationalUnitIds":["ou-abcd-12345678"],"includ":["192.0.2.0/24"]}', /fleet\.includ: is not a fleet setting \(did you mean include\?\)/],
    ['{"organizationalUnitIds":["ou-abcd-12345678"],"exclude":["192.0.2.0/33"]}', /fleet\.exclude: .*192\.0\.2\.0\/33/],
    ["{organizationalUnitIds: ['ou-abcd-12345678']}", /fleet: is not valid JSON .*quote it for the shell: -c fleet='\{/],
    ['["ou-abcd-12345678"]', /fleet: expected an object/],
    ['{"organizationalUnitIds":["ou-x"]}', /fleet\.organizationalUnitIds: "ou-x" is not an organizational unit id/],
    ['{"organizationalUnitIds":["ou-abcd-12345678"],"spokeRoleNam":"X"}', /fleet\.spokeRoleNam: is not a fleet setting \(did you mean spokeRoleName\?\)/],
    [42, /fleet: expected an object/],
  ];
  test.each(invalid)('%j: a ContextError for the key "fleet"', (value, message) => {
    let error: unknown;
    try {
      parse({ fleet: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContextError);
    expect((error as ContextError).key).toBe('fleet');
    expect((error as Error).message).toMatch(/^Invalid context "fleet": /);
    expect((error as Error).message).toMatch(message);
  });
});
