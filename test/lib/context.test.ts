import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CONTEXT_KEYS, ContextError, parseContext } from '../../lib/context';
import { DEFAULTS } from '../../lib/defaults';

const parse = (context: Record<string, unknown>) => parseContext((key) => context[key]);
const CDK_JSON = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };

describe('parseContext', () => {
  test('no context: stack "AllowlistSync" and construct defaults', () => {
    expect(parse({})).toEqual({ stackName: 'AllowlistSync', sync: {} });
  });

  test('cdk.json defaults parse and agree with the construct defaults', () => {
    const { stackName, sync } = parse(CDK_JSON.context);
    expect(stackName).toBe('AllowlistSync');
    expect(sync).toEqual({
      allowlistName: DEFAULTS.allowlistName,
      ocmCredentialsParameterName: DEFAULTS.ocmCredentialsParameterName,
      metricsNamespace: DEFAULTS.metricsNamespace,
      schedule: Duration.minutes(DEFAULTS.scheduleMinutes),
    });
  });

  test('cdk.json: the app runs bin/app.ts offline, and no feature flag sneaks in', () => {
    expect(CDK_JSON.app).toBe('npx tsx bin/app.ts');
    expect(Object.keys(CDK_JSON.context).filter((k) => k.startsWith('@aws-cdk/'))).toEqual([]);
    // Synthesis sends nothing anywhere: the CLI's telemetry is off for this project.
    expect(CDK_JSON.context['cli-telemetry']).toBe(false);
    const ours = Object.keys(CDK_JSON.context).filter((k) => k !== 'cli-telemetry');
    for (const key of ours) expect(CONTEXT_KEYS.map((k) => k.key)).toContain(key);
  });

  test('docs/configuration.md documents every key', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
    for (const { key } of CONTEXT_KEYS) expect(doc).toContain(`| \`${key}\` |`);
    expect(doc).toContain(`| \`allowlistName\` | \`rosa-trusted-ips\` | ${DEFAULTS.allowlistName} |`);
  });

  test('the deploy example (README, docs/deploy.md): -c notifyEmails=... -c attachToRoles=...', () => {
    expect(parse({ notifyEmails: 'sre@example.com', attachToRoles: 'ManagedOpenShift-Support-Role' }).sync).toEqual({
      notifyEmails: ['sre@example.com'],
      attachToRoles: ['ManagedOpenShift-Support-Role'],
    });
  });

  test('command-line strings become typed props', () => {
    const { stackName, sync } = parse({
      stackName: 'RosaAllowlist',
      allowlistName: 'partner-ips',
      notifyEmails: 'a@example.com, b@example.com',
      attachToRoles: 'ManagedOpenShift-Support-Role,arn:aws:iam::123456789012:role/rosa/Installer-Role',
      attachToUsers: 'alice bob',
      attachToGroups: 'admins',
      existingPolicyArn: '',
      policyName: 'rosa-allowlist',
      policyPath: '/allowlists/',
      policyRemovalPolicy: 'destroy',
      ocmCredentialsParameterName: '/team/ocm',
      ocmCredentialsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ocmApiUrl: 'https://api.stage.openshift.com',
      ocmTokenUrl: 'https://sso.example.com/token',
      extraCidrs: '203.0.113.0/24,198.51.100.7,2001:db8::/48',
      dryRun: 'TRUE',
      minEntries: '5',
      maxRemovalFraction: '0.25',
      broadestIpv4Prefix: '16',
      broadestIpv6Prefix: '32',
      kmsViaServiceExemption: 'false',
      schedule: 'rate(1 hour)',
      stalenessMinutes: '180',
      retryAttempts: '0',
      maxEventAgeMinutes: '30',
      syncOnDeploy: 'false',
      alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      alertTopicKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab',
      memorySize: '512',
      timeoutSeconds: '120',
      logRetentionDays: '365',
      logLevel: 'debug',
      metricsNamespace: 'Security/Allowlists',
    });
    expect(stackName).toBe('RosaAllowlist');
    expect(sync).toEqual({
      allowlistName: 'partner-ips',
      notifyEmails: ['a@example.com', 'b@example.com'],
      attachToRoles: ['ManagedOpenShift-Support-Role', 'arn:aws:iam::123456789012:role/rosa/Installer-Role'],
      attachToUsers: ['alice', 'bob'],
      attachToGroups: ['admins'],
      policyName: 'rosa-allowlist',
      policyPath: '/allowlists/',
      policyRemovalPolicy: RemovalPolicy.DESTROY,
      ocmCredentialsParameterName: '/team/ocm',
      ocmCredentialsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ocmApiUrl: 'https://api.stage.openshift.com',
      ocmTokenUrl: 'https://sso.example.com/token',
      extraCidrs: ['203.0.113.0/24', '198.51.100.7', '2001:db8::/48'],
      dryRun: true,
      minEntries: 5,
      maxRemovalFraction: 0.25,
      broadestIpv4Prefix: 16,
      broadestIpv6Prefix: 32,
      kmsViaServiceExemption: false,
      schedule: 'rate(1 hour)',
      stalenessThreshold: Duration.minutes(180),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(30),
      syncOnDeploy: false,
      alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      alertTopicKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab',
      memorySize: 512,
      timeout: Duration.seconds(120),
      logRetention: RetentionDays.ONE_YEAR,
      logLevel: 'DEBUG',
      metricsNamespace: 'Security/Allowlists',
    });
  });

  test('cdk.json may hold JSON arrays, numbers and booleans', () => {
    expect(parse({ notifyEmails: ['a@example.com'], minEntries: 3, dryRun: false, schedule: 5, maxRemovalFraction: 0.5 }).sync).toEqual({
      notifyEmails: ['a@example.com'],
      minEntries: 3,
      dryRun: false,
      schedule: Duration.minutes(5),
      maxRemovalFraction: 0.5,
    });
  });

  test('a cron schedule is passed through when a staleness threshold comes with it', () => {
    expect(parse({ schedule: 'cron(0/10 * * * ? *)', stalenessMinutes: 30 }).sync).toMatchObject({
      schedule: 'cron(0/10 * * * ? *)',
      stalenessThreshold: Duration.minutes(30),
    });
  });

  test('every documented key is read, and every read key is documented', () => {
    const read = new Set<string>();
    parseContext((key) => {
      read.add(key);
      return undefined;
    });
    expect([...read].sort()).toEqual(CONTEXT_KEYS.map((k) => k.key).sort());
  });

  // Each invalid value fails with a ContextError naming its key.
  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['notifyEmails', { notifyEmails: 'sre@example.com,not-an-email' }, /not-an-email" is not an e-mail address/],
    ['notifyEmails', { notifyEmails: [42] }, /comma-separated list or a JSON array of strings/],
    ['existingPolicyArn', { existingPolicyArn: 'arn:aws:iam::123:policy/x' }, /not an IAM policy ARN/],
    ['existingPolicyArn', { existingPolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, /AWS managed policy/],
    ['alertTopicArn', { alertTopicArn: 'arn:aws:sqs:eu-west-1:123456789012:q' }, /not an SNS topic ARN/],
    ['ocmCredentialsKeyArn', { ocmCredentialsKeyArn: 'alias/aws/ssm' }, /not a KMS key ARN/],
    ['alertTopicKeyArn', { alertTopicKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }, /only applies together with alertTopicArn/],
    ['attachToRoles', { attachToRoles: 'bad/role' }, /not an IAM role name/],
    ['attachToRoles', { attachToRoles: 'arn:aws:iam::123456789012:user/alice' }, /user ARN, not a role/],
    ['attachToGroups', { attachToGroups: 'x'.repeat(129) }, /not an IAM group name/],
    ['schedule', { schedule: 'every 5 minutes' }, /neither a number of minutes/],
    ['schedule', { schedule: 'rate(5 minute)' }, /rate\(5 minutes\)/],
    ['schedule', { schedule: '0' }, /from 1 to 720/],
    ['schedule', { schedule: 'rate(1 day)' }, /exceeds the one day/],
    ['stalenessMinutes', { schedule: 'cron(0 * * * ? *)' }, /cron schedule has no fixed period: give a staleness threshold/],
    ['stalenessMinutes', { stalenessMinutes: '10' }, /shorter than the schedule period/],
    ['stalenessMinutes', { stalenessMinutes: 'soon' }, /expected a number/],
    ['minEntries', { minEntries: 'ten' }, /expected a number, got "ten"/],
    ['minEntries', { minEntries: '2.5' }, /must be an integer/],
    ['maxRemovalFraction', { maxRemovalFraction: '1.5' }, /from 0 to 1/],
    ['broadestIpv4Prefix', { broadestIpv4Prefix: '33' }, /from 0 to 32/],
    ['broadestIpv6Prefix', { broadestIpv6Prefix: 'x' }, /expected a number/],
    ['retryAttempts', { retryAttempts: '-1' }, /from 0 to 185/],
    ['memorySize', { memorySize: '64' }, /from 128 to 10240/],
    ['timeoutSeconds', { timeoutSeconds: '901' }, /from 60 to 900/],
    ['timeoutSeconds', { timeoutSeconds: '30' }, /from 60 to 900/],
    ['maxEventAgeMinutes', { maxEventAgeMinutes: '0' }, /from 1 to 1440/],
    ['logRetentionDays', { logRetentionDays: '42' }, /not a CloudWatch Logs retention/],
    ['logLevel', { logLevel: 'LOUD' }, /not one of TRACE, DEBUG/],
    ['dryRun', { dryRun: 'maybe' }, /expected true or false/],
    ['syncOnDeploy', { syncOnDeploy: 1 }, /expected true or false/],
    ['extraCidrs', { extraCidrs: '10.0.0.0/33' }, /not a CIDR/],
    ['extraCidrs', { extraCidrs: '2001:db8::1' }, /IPv6 address needs a prefix length/],
    ['vpcExemption', { vpcExemption: 'vpc-1' }, /is not a VPC id/],
    ['includeCidrs', { includeCidrs: '3.0.0.0/99' }, /not a CIDR/],
    ['excludeCidrs', { excludeCidrs: 'office' }, /not a CIDR/],
    ['ocmApiUrl', { ocmApiUrl: 'http://api.openshift.com' }, /must be an https:\/\/ URL/],
    ['ocmTokenUrl', { ocmTokenUrl: 'not a url' }, /not a URL/],
    ['ocmCredentialsParameterName', { ocmCredentialsParameterName: 'aws-secret' }, /reserves/],
    ['ocmCredentialsParameterName', { ocmCredentialsParameterName: 'a b' }, /not an SSM parameter name/],
    ['policyName', { policyName: 'bad name' }, /not a valid IAM policy name/],
    ['policyPath', { policyPath: 'allowlists' }, /not an IAM path/],
    ['policyRemovalPolicy', { policyRemovalPolicy: 'snapshot' }, /not one of retain, destroy/],
    ['policyName', { existingPolicyArn: 'arn:aws:iam::123456789012:policy/p', policyName: 'x' }, /does not apply with existingPolicyArn/],
    ['allowlistName', { allowlistName: 'has space' }, /must be 1-64 of/],
    ['metricsNamespace', { metricsNamespace: 'AWS/Lambda' }, /not a usable CloudWatch namespace/],
    ['stackName', { stackName: '1stack' }, /not a CloudFormation stack name/],
    ['allowlistName', { allowlistName: 7 }, /expected a string/],
  ];
  test.each(invalid)('invalid %s fails naming the key', (key, context, message) => {
    let error: unknown;
    try {
      parse(context);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContextError);
    expect((error as ContextError).key).toBe(key);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid context "${key}": `));
    expect((error as Error).message).toMatch(message);
  });
});

describe('subsets and the VPC exemption from context', () => {
  it('are read as lists (command line strings or cdk.json arrays)', () => {
    expect(parse({ vpcExemption: 'vpce-0123456789abcdef0,vpc-0123456789abcdef0', includeCidrs: ['3.0.0.0/8'], excludeCidrs: '52.94.0.0/16' }).sync).toMatchObject({
      vpcExemption: ['vpce-0123456789abcdef0', 'vpc-0123456789abcdef0'],
      includeCidrs: ['3.0.0.0/8'],
      excludeCidrs: ['52.94.0.0/16'],
    });
  });
});
