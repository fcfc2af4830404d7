import { conditionsFromEnv, filtersFromEnv, guardsFromEnv, loadDeploymentConfig, readBool, readFraction, readInt, readRequired } from '../lambda/config';
import { SyncError } from '../lambda/errors';

const HINT = 'Fix the environment variable and run again.';

function configError(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SyncError) return err;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('guardsFromEnv', () => {
  it('sets nothing when nothing is set (plan keeps its defaults)', () => {
    expect(guardsFromEnv({})).toEqual({});
    expect(guardsFromEnv({ MIN_ENTRIES: '', MAX_REMOVAL_FRACTION: '  ', BROADEST_IPV4_PREFIX: undefined })).toEqual({});
  });

  it('reads every guard variable', () => {
    expect(guardsFromEnv({ MIN_ENTRIES: '5', MAX_REMOVAL_FRACTION: '0.5', BROADEST_IPV4_PREFIX: '16', BROADEST_IPV6_PREFIX: ' 48 ' })).toEqual({
      minEntries: 5,
      maxRemovalFraction: 0.5,
      broadestIpv4Prefix: 16,
      broadestIpv6Prefix: 48,
    });
  });

  it('accepts the ends of each range', () => {
    expect(guardsFromEnv({ MIN_ENTRIES: '1', MAX_REMOVAL_FRACTION: '0', BROADEST_IPV4_PREFIX: '0', BROADEST_IPV6_PREFIX: '0' })).toEqual({
      minEntries: 1,
      maxRemovalFraction: 0,
      broadestIpv4Prefix: 0,
      broadestIpv6Prefix: 0,
    });
    expect(guardsFromEnv({ MIN_ENTRIES: '100000', MAX_REMOVAL_FRACTION: '1', BROADEST_IPV4_PREFIX: '32', BROADEST_IPV6_PREFIX: '128' })).toEqual({
      minEntries: 100000,
      maxRemovalFraction: 1,
      broadestIpv4Prefix: 32,
      broadestIpv6Prefix: 128,
    });
    expect(guardsFromEnv({ MAX_REMOVAL_FRACTION: '.25' })).toEqual({ maxRemovalFraction: 0.25 });
  });

  it('reads the additions budget, the baseline window and the approval age', () => {
    expect(guardsFromEnv({ MAX_ADDED_IPV4_ADDRESSES: '256', MAX_ADDED_IPV6_PREFIX: '48', BASELINE_WINDOW_DAYS: '14', APPROVAL_MAX_AGE_HOURS: '1.5' })).toEqual({
      maxAddedIpv4Addresses: 256,
      maxAddedIpv6Prefix: 48,
      baselineWindowDays: 14,
      approvalMaxAgeHours: 1.5,
    });
  });

  it.each([
    ['MIN_ENTRIES', '0', 'must be a whole number from 1 to 100000, got "0"'],
    ['MIN_ENTRIES', '-1', 'must be a whole number from 1 to 100000, got "-1"'],
    ['MIN_ENTRIES', '2.5', 'must be a whole number from 1 to 100000, got "2.5"'],
    ['MIN_ENTRIES', 'ten', 'must be a whole number from 1 to 100000, got "ten"'],
    ['MIN_ENTRIES', '1e3', 'must be a whole number from 1 to 100000, got "1e3"'],
    ['MIN_ENTRIES', '100001', 'must be a whole number from 1 to 100000, got "100001"'],
    ['BROADEST_IPV4_PREFIX', '33', 'must be a whole number from 0 to 32, got "33"'],
    ['BROADEST_IPV4_PREFIX', '/8', 'must be a whole number from 0 to 32, got "/8"'],
    ['BROADEST_IPV6_PREFIX', '129', 'must be a whole number from 0 to 128, got "129"'],
    ['BROADEST_IPV6_PREFIX', '0x20', 'must be a whole number from 0 to 128, got "0x20"'],
    ['MAX_REMOVAL_FRACTION', '30', 'must be a fraction from 0 to 1 (0.3 means 30%), got "30"'],
    ['MAX_REMOVAL_FRACTION', '30%', 'must be a fraction from 0 to 1 (0.3 means 30%), got "30%"'],
    ['MAX_REMOVAL_FRACTION', '-0.1', 'must be a fraction from 0 to 1 (0.3 means 30%), got "-0.1"'],
    ['MAX_REMOVAL_FRACTION', '1.01', 'must be a fraction from 0 to 1 (0.3 means 30%), got "1.01"'],
    ['MAX_REMOVAL_FRACTION', '.', 'must be a fraction from 0 to 1 (0.3 means 30%), got "."'],
    ['MAX_REMOVAL_FRACTION', '0.3.1', 'must be a fraction from 0 to 1 (0.3 means 30%), got "0.3.1"'],
    ['MAX_REMOVAL_FRACTION', 'NaN', 'must be a fraction from 0 to 1 (0.3 means 30%), got "NaN"'],
    ['MAX_REMOVAL_FRACTION', 'Infinity', 'must be a fraction from 0 to 1 (0.3 means 30%), got "Infinity"'],
    ['MAX_ADDED_IPV4_ADDRESSES', '-1', 'must be a whole number from 0 to 4294967296, got "-1"'],
    ['MAX_ADDED_IPV6_PREFIX', '129', 'must be a whole number from 0 to 128, got "129"'],
    ['BASELINE_WINDOW_DAYS', '91', 'must be a number from 0 to 90, got "91"'],
    ['APPROVAL_MAX_AGE_HOURS', 'a day', 'must be a number from 0 to 720, got "a day"'],
  ])('%s=%j is refused, naming the variable', (name, value, problem) => {
    const error = configError(() => guardsFromEnv({ [name]: value }));
    expect(error.code).toBe('config');
    expect(error.message).toBe(`Configuration error: ${name} ${problem}. ${HINT}`);
  });
});

describe('conditionsFromEnv', () => {
  it('defaults: aws:ViaAWSService exemption on, KMS exemption off', () => {
    expect(conditionsFromEnv({})).toEqual({ viaAwsServiceExemption: true, kmsViaServiceExemption: false });
  });

  it.each([
    ['false', 'TRUE', { viaAwsServiceExemption: false, kmsViaServiceExemption: true }],
    ['0', '1', { viaAwsServiceExemption: false, kmsViaServiceExemption: true }],
    ['No', ' yes ', { viaAwsServiceExemption: false, kmsViaServiceExemption: true }],
    ['true', 'false', { viaAwsServiceExemption: true, kmsViaServiceExemption: false }],
    ['', '', { viaAwsServiceExemption: true, kmsViaServiceExemption: false }],
  ])('VIA_AWS_SERVICE_EXEMPTION=%j KMS_VIA_SERVICE_EXEMPTION=%j', (via, kms, expected) => {
    expect(conditionsFromEnv({ VIA_AWS_SERVICE_EXEMPTION: via, KMS_VIA_SERVICE_EXEMPTION: kms })).toEqual(expected);
  });

  it.each([
    ['VIA_AWS_SERVICE_EXEMPTION', 'off'],
    ['KMS_VIA_SERVICE_EXEMPTION', 'enabled'],
    ['KMS_VIA_SERVICE_EXEMPTION', '2'],
  ])('%s=%j is refused, naming the variable', (name, value) => {
    expect(configError(() => conditionsFromEnv({ [name]: value })).message).toBe(
      `Configuration error: ${name} must be true or false, got ${JSON.stringify(value)}. ${HINT}`,
    );
  });
});

describe('readers', () => {
  it('readBool falls back when unset or blank', () => {
    expect(readBool({}, 'X', true)).toBe(true);
    expect(readBool({ X: ' ' }, 'X', false)).toBe(false);
  });

  it('readInt and readFraction give undefined when unset', () => {
    expect(readInt({}, 'N', 0, 10)).toBeUndefined();
    expect(readFraction({ F: '' }, 'F')).toBeUndefined();
    expect(readInt({ N: '007' }, 'N', 0, 10)).toBe(7);
  });

  it('readRequired names the variable and what it is for', () => {
    expect(readRequired({ POLICY_ARN: ' arn:aws:iam::123456789012:policy/x ' }, 'POLICY_ARN', 'the policy to keep')).toBe('arn:aws:iam::123456789012:policy/x');
    for (const env of [{}, { POLICY_ARN: '' }, { POLICY_ARN: '   ' }]) {
      expect(configError(() => readRequired(env, 'POLICY_ARN', 'the policy to keep')).message).toBe(
        `Configuration error: POLICY_ARN is required (the policy to keep). ${HINT}`,
      );
    }
  });
});

describe('VPC_EXEMPTION, INCLUDE_CIDRS, EXCLUDE_CIDRS', () => {
  it('read as lists (comma or space separated), unset when empty', () => {
    expect(conditionsFromEnv({ VPC_EXEMPTION: 'vpc-0123456789abcdef0, vpce-01234567' }).vpcExemption).toEqual(['vpc-0123456789abcdef0', 'vpce-01234567']);
    expect(conditionsFromEnv({ VPC_EXEMPTION: ' ' })).not.toHaveProperty('vpcExemption');
    expect(filtersFromEnv({ INCLUDE_CIDRS: '3.0.0.0/8 52.0.0.0/8', EXCLUDE_CIDRS: '52.1.0.0/16' })).toEqual({ include: ['3.0.0.0/8', '52.0.0.0/8'], exclude: ['52.1.0.0/16'] });
    expect(filtersFromEnv({})).toEqual({});
  });

  it.each([
    ['VPC_EXEMPTION', 'vpc-123', () => conditionsFromEnv({ VPC_EXEMPTION: 'vpc-123' }), '"vpc-123" is not a VPC id (vpc-0123456789abcdef0) or VPC endpoint id (vpce-0123456789abcdef0)'],
    ['VPC_EXEMPTION', 'sg-0123456789abcdef0', () => conditionsFromEnv({ VPC_EXEMPTION: 'sg-0123456789abcdef0' }), '"sg-0123456789abcdef0" is not a VPC id'],
    ['INCLUDE_CIDRS', '3.0.0.0/33', () => filtersFromEnv({ INCLUDE_CIDRS: '3.0.0.0/33' }), '"3.0.0.0/33" is not a CIDR'],
    ['EXCLUDE_CIDRS', 'office', () => filtersFromEnv({ EXCLUDE_CIDRS: 'office' }), '"office" is not a CIDR'],
  ])('%s=%j is refused, naming the variable and the item', (name, _value, read, problem) => {
    const message = configError(read).message;
    expect(message.startsWith(`Configuration error: ${name} holds ${problem}`)).toBe(true);
  });

  it('reach the single target: INCLUDE_CIDRS / EXCLUDE_CIDRS and VPC_EXEMPTION in its spec', () => {
    const config = loadDeploymentConfig({ POLICY_ARN: 'arn:aws:iam::123456789012:policy/x', OCM_ENABLED: 'false', EXTRA_CIDRS: '3.0.0.0/24', INCLUDE_CIDRS: '3.0.0.0/8', VPC_EXEMPTION: 'vpce-01234567' });
    expect(config.targets[0]).toMatchObject({ include: ['3.0.0.0/8'], conditions: { vpcExemption: ['vpce-01234567'] } });
    expect(config.targets[0]).not.toHaveProperty('exclude');
  });
});

describe('TARGET_CONCURRENCY', () => {
  const base = { ALLOWLIST_TARGETS: JSON.stringify([{ name: 'a', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/a', sources: ['ocm'] }]) };
  it('sets how many targets run at once; unset leaves the default', () => {
    expect(loadDeploymentConfig({ ...base, TARGET_CONCURRENCY: '3' }).concurrency).toBe(3);
    expect(loadDeploymentConfig(base)).not.toHaveProperty('concurrency');
  });
  it.each(['0', '51', 'many'])('%j is refused, naming the variable', (value) => {
    expect(configError(() => loadDeploymentConfig({ ...base, TARGET_CONCURRENCY: value })).message).toContain('TARGET_CONCURRENCY must be');
  });
});

describe('ATTACH_TO_ROLES, ATTACH_TO_USERS, ATTACH_TO_GROUPS, REATTACH', () => {
  const base = { POLICY_ARN: 'arn:aws:iam::123456789012:policy/x', OCM_ENABLED: 'false', EXTRA_CIDRS: '3.0.0.0/24' };
  it('reach the single target as its principals (names or ARNs), reattach as given', () => {
    const [spec] = loadDeploymentConfig({ ...base, ATTACH_TO_ROLES: 'Support,arn:aws:iam::123456789012:role/rosa/Installer', ATTACH_TO_GROUPS: 'admins', REATTACH: 'false' }).targets;
    expect(spec).toMatchObject({ attachToRoles: ['Support', 'arn:aws:iam::123456789012:role/rosa/Installer'], attachToGroups: ['admins'], reattach: false });
    expect(spec).not.toHaveProperty('attachToUsers');
  });
  it('a principal of the wrong kind is refused, naming the variable', () => {
    expect(configError(() => loadDeploymentConfig({ ...base, ATTACH_TO_ROLES: 'arn:aws:iam::123456789012:user/alice' })).message).toContain(
      'ATTACH_TO_ROLES holds "arn:aws:iam::123456789012:user/alice" is an IAM user ARN, not a role',
    );
  });
});

describe('a fleet in ALLOWLIST_TARGETS', () => {
  const single = { name: 'hub', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/a', sources: ['ocm'] };
  const fleet = { name: 'fleet', kind: 'managed-policy', policyName: 'rosa-trusted-ips', accounts: 'stackset:AllowlistSyncSpoke', sources: ['ocm'] };
  it('is kept apart from the targets, with the partition of AWS_REGION', () => {
    const config = loadDeploymentConfig({ ALLOWLIST_TARGETS: JSON.stringify([fleet, single]), AWS_REGION: 'us-gov-west-1' });
    expect(config.targets).toEqual([single]);
    expect(config.fleets).toEqual([fleet]);
    expect(config.partition).toBe('aws-us-gov');
    expect(loadDeploymentConfig({ ALLOWLIST_TARGETS: JSON.stringify([single]) })).toMatchObject({ fleets: [], partition: 'aws' });
  });
});
