import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import type { AllowlistTargetProps } from '../../lib/targets';

export const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:sre-alerts';
export const TOPIC_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab';
export const POLICY_ARN = 'arn:aws:iam::123456789012:policy/rosa/rosa-trusted-ips';

/** Every optional prop set to a non-default value, on a created policy and topic. */
export const FULL: AllowlistSyncProps = {
  allowlistName: 'partner-ips',
  notifyEmails: ['sre@example.com', 'oncall@example.com'],
  attachToRoles: ['ManagedOpenShift-Support-Role', 'arn:aws:iam::123456789012:role/rosa/Installer-Role'],
  attachToUsers: ['breakglass'],
  attachToGroups: ['admins'],
  ocmCredentialsParameterName: '/team/ocm',
  ocmCredentialsKeyArn: KEY_ARN,
  ocmApiUrl: 'https://api.stage.openshift.com',
  ocmTokenUrl: 'https://sso.example.com/token',
  extraCidrs: ['203.0.113.0/24', '2001:db8::/48'],
  dryRun: true,
  minEntries: 5,
  maxRemovalFraction: 0.25,
  broadestIpv4Prefix: 16,
  broadestIpv6Prefix: 32,
  maxAddedIpv4Addresses: 1024,
  maxAddedIpv6Prefix: 48,
  baselineWindowDays: 14,
  approvalMaxAgeHours: 4,
  kmsViaServiceExemption: false,
  policyChecks: 'required',
  schedule: 'rate(30 minutes)',
  retryAttempts: 5,
  maxEventAge: Duration.minutes(20),
  memorySize: 512,
  timeout: Duration.seconds(120),
  logRetention: RetentionDays.ONE_YEAR,
  logLevel: 'DEBUG',
  metricsNamespace: 'Security/Allowlists',
};

/** An adopted policy and an existing, KMS-encrypted topic; no deploy-time sync. */
export const ADOPTED: AllowlistSyncProps = {
  existingPolicyArn: POLICY_ARN,
  alertTopicArn: TOPIC_ARN,
  alertTopicKeyArn: TOPIC_KEY_ARN,
  notifyEmails: ['sre@example.com'],
  attachToRoles: ['ManagedOpenShift-Support-Role'],
  schedule: 'cron(0/10 * * * ? *)',
  stalenessThreshold: Duration.minutes(30),
  syncOnDeploy: false,
};

export const BREAK_GLASS_PRINCIPAL = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef';
export const PARTNER_POLICY_ARN = 'arn:aws:iam::123456789012:policy/partners/partner-allowlist';

/** One target of each kind and shape: the examples plus an adopted policy. */
export const TARGETS: AllowlistTargetProps[] = [
  {
    name: 'office-vpn',
    kind: 'trust-policy',
    roleName: 'BreakGlass',
    principals: [BREAK_GLASS_PRINCIPAL],
    cidrsParameterName: '/office/vpn-cidrs',
    guards: { minEntries: 2, sizeLimit: 4096 },
  },
  {
    name: 'acme-vendor',
    kind: 'inline-policy',
    roleName: 'arn:aws:iam::123456789012:role/vendors/AcmeSupport',
    policyName: 'allowlist-sync-ips',
    cidrs: ['198.51.100.0/24', '192.0.2.10'],
    conditions: { viaAwsServiceExemption: false, kmsViaServiceExemption: true },
  },
  {
    name: 'ci',
    kind: 'managed-policy',
    policyName: 'ci-allowlist',
    ocm: true,
    cidrs: ['203.0.113.64/26'],
    attachToUsers: ['ci-runner'],
    attachToGroups: ['ci-machines'],
    dryRun: true,
  },
  {
    name: 'partners',
    kind: 'managed-policy',
    existingPolicyArn: PARTNER_POLICY_ARN,
    cidrsParameterName: '/partners/cidrs',
    guards: { maxRemovalFraction: 0.5 },
  },
];
