import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { AllowlistSyncProps } from './allowlist-sync';
import { DEFAULTS } from './defaults';
import { FleetError, parseFleetContext } from './fleet-props';
import { alarmTiming, resolveSchedule } from './schedule';
import type { ResolvedSchedule } from './schedule';
import { TargetError, validateTargets } from './targets';
import type { AllowlistTargetProps } from './targets';
import * as v from '../lambda/validate';
import type { LogLevel, PrincipalKind } from '../lambda/validate';

/**
 * CDK context (cdk.json "context", or `-c key=value`) -> typed, validated props.
 *
 * Values from the command line are always strings; cdk.json may hold JSON numbers, booleans and
 * arrays. Both are accepted. An empty value means "not set". Any invalid value throws a
 * ContextError naming the key, so `cdk synth` stops before anything reaches CloudFormation.
 */

/** Reads one context value (App#node.tryGetContext). */
export type ContextReader = (key: string) => unknown;

/** What bin/app.ts needs to build the app. */
export interface AppConfig {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** Props of the AllowlistSync construct. */
  readonly sync: AllowlistSyncProps;
}

/** A context value that cannot be used, with the key in the message. */
export class ContextError extends Error {
  constructor(
    /** The offending context key. */
    public readonly key: string,
    problem: string,
  ) {
    super(`Invalid context "${key}": ${problem}`);
    this.name = 'ContextError';
  }
}

/** One documented context key. */
export interface ContextKey {
  /** The key, as in `-c key=value`. */
  readonly key: string;
  /** Example or accepted form. */
  readonly example: string;
  /** Default when unset. */
  readonly default: string;
  /** What it does. */
  readonly description: string;
}

/** Every context key the app reads (the README's deploy section has the same table; a test keeps them in step). */
export const CONTEXT_KEYS: readonly ContextKey[] = [
  { key: 'stackName', example: 'AllowlistSync', default: 'AllowlistSync', description: 'CloudFormation stack name' },
  { key: 'allowlistName', example: 'rosa-trusted-ips', default: DEFAULTS.allowlistName, description: 'Name in alert subjects, alarm names and the metrics `service` dimension' },
  { key: 'notifyEmails', example: 'sre@example.com,oncall@example.com', default: 'none', description: 'E-mail addresses subscribed to the alert topic' },
  { key: 'alertTopicArn', example: 'arn:aws:sns:eu-west-1:123456789012:alerts', default: 'a new KMS-encrypted topic', description: 'Use an existing SNS topic instead' },
  { key: 'alertTopicKeyArn', example: 'arn:aws:kms:eu-west-1:123456789012:key/…', default: 'none', description: 'KMS key of that existing topic, so the function may publish' },
  { key: 'existingPolicyArn', example: 'arn:aws:iam::123456789012:policy/rosa-allowlist', default: 'a new policy', description: 'Adopt an existing customer managed policy' },
  { key: 'policyName', example: 'rosa-trusted-ips-allowlist', default: 'generated', description: 'Name of the created policy (immutable: changing it replaces the policy)' },
  { key: 'policyPath', example: '/allowlists/', default: '/', description: 'Path of the created policy (immutable)' },
  { key: 'policyRemovalPolicy', example: 'destroy', default: 'retain-except-on-create', description: 'Fate of the created policy when the stack is deleted: retain, destroy, or retain-except-on-create (kept, unless its own creation is rolled back)' },
  { key: 'attachToRoles', example: 'ManagedOpenShift-Support-Role', default: 'none', description: 'Roles (names, or ARNs for roles with a path) to attach the policy to' },
  { key: 'attachToUsers', example: 'alice,bob', default: 'none', description: 'Users to attach the policy to' },
  { key: 'attachToGroups', example: 'admins', default: 'none', description: 'Groups to attach the policy to' },
  { key: 'ocmCredentialsParameterName', example: '/allowlist-sync/ocm-credentials', default: DEFAULTS.ocmCredentialsParameterName, description: 'SSM SecureString with the OCM credentials JSON' },
  { key: 'ocmCredentialsKeyArn', example: 'arn:aws:kms:eu-west-1:123456789012:key/…', default: 'alias/aws/ssm', description: 'Customer managed KMS key of that parameter' },
  { key: 'ocmApiUrl', example: 'https://api.stage.openshift.com', default: 'https://api.openshift.com', description: 'OCM API base URL' },
  { key: 'ocmTokenUrl', example: 'https://sso.example.com/token', default: 'Red Hat SSO', description: 'OCM token endpoint' },
  { key: 'extraCidrs', example: '203.0.113.0/24,2001:db8::/48', default: 'none', description: 'CIDRs always kept in the allowlist (with `ocmEnabled=false`, the static list itself)' },
  { key: 'ocmEnabled', example: 'false', default: 'true', description: 'Take the main allowlist from OCM; `false` deploys without OCM (sources: `extraCidrs`, `cidrsParameterName`)' },
  { key: 'cidrsParameterName', example: '/allowlist-sync/office-cidrs', default: 'none', description: 'SSM String/StringList parameter with more CIDRs for the main allowlist' },
  { key: 'targets', example: '[{"name":"office-vpn","kind":"trust-policy",…}]', default: 'none', description: 'More targets, a JSON array (see "Several targets"; the `additionalTargets` prop)' },
  { key: 'fleet', example: '{"organizationalUnitIds":["ou-abcd-12345678"],"callAs":"DELEGATED_ADMIN"}', default: 'none', description: 'The fleet: a StackSet of spoke roles in every account of these OUs, each account kept by this stack (see docs/fleet.md)' },
  { key: 'dryRun', example: 'true', default: 'false', description: 'Plan and alert, never write the policy' },
  { key: 'minEntries', example: '10', default: '1', description: 'Guard: refuse a list with fewer entries' },
  { key: 'maxRemovalFraction', example: '0.5', default: '0.3', description: 'Guard: refuse removing more than this fraction of entries' },
  { key: 'broadestIpv4Prefix', example: '16', default: '8', description: 'Guard: refuse IPv4 CIDRs broader than /N' },
  { key: 'broadestIpv6Prefix', example: '48', default: '32', description: 'Guard: refuse IPv6 CIDRs broader than /N' },
  { key: 'maxAddedIpv4Addresses', example: '256', default: '65536', description: 'Guard: refuse newly allowing more IPv4 addresses than this in one plan' },
  { key: 'maxAddedIpv6Prefix', example: '48', default: '40', description: 'Guard: refuse newly allowing more IPv6 addresses than one /N holds in one plan' },
  { key: 'baselineWindowDays', example: '14', default: '7', description: 'Guard: how long the largest allowlist in force stays the removal baseline' },
  { key: 'approvalMaxAgeHours', example: '4', default: '24', description: 'How long an approval stays valid after its refusal' },
  { key: 'kmsViaServiceExemption', example: 'true', default: 'false', description: 'Exempt KMS calls made via AWS services from the IP condition' },
  { key: 'vpcExemption', example: 'vpce-0123456789abcdef0', default: 'none', description: 'VPC and VPC endpoint ids whose requests are exempt (they carry no source IP); whoever can use them is trusted' },
  { key: 'includeCidrs', example: '3.0.0.0/8,52.0.0.0/8', default: 'all', description: "Keep only the sources' addresses inside these CIDRs" },
  { key: 'excludeCidrs', example: '52.94.0.0/16', default: 'none', description: "Leave out the sources' addresses inside these CIDRs" },
  { key: 'policyChecks', example: 'required', default: 'auto', description: "IAM's policy simulator and Access Analyzer before each write: `auto` where offered, `required`, or `off` (not granted either)" },
  { key: 'schedule', example: 'rate(1 hour)', default: `${DEFAULTS.scheduleMinutes} (minutes)`, description: 'How often to sync: a number of minutes, `rate(...)` or `cron(...)`' },
  { key: 'stalenessMinutes', example: '30', default: 'two schedule periods', description: 'Staleness alarm threshold (required with cron)' },
  { key: 'retryAttempts', example: '3', default: String(DEFAULTS.retryAttempts), description: 'Scheduler retries of an undelivered invocation' },
  { key: 'maxEventAgeMinutes', example: '15', default: 'one alarm period', description: 'Scheduler dead-letters an undelivered invocation after this' },
  { key: 'syncOnDeploy', example: 'false', default: 'true', description: 'Start one sync when `cdk deploy` changes the function (asynchronously; its outcome is alerted)' },
  { key: 'memorySize', example: '256', default: String(DEFAULTS.memorySize), description: 'Function memory (MB)' },
  { key: 'timeoutSeconds', example: '60', default: String(DEFAULTS.timeoutSeconds), description: 'Function timeout' },
  { key: 'logRetentionDays', example: '365', default: String(DEFAULTS.logRetentionDays), description: 'Log retention (a CloudWatch Logs retention value)' },
  { key: 'logLevel', example: 'DEBUG', default: 'INFO', description: 'Powertools log level' },
  { key: 'metricsNamespace', example: 'AllowlistSync', default: DEFAULTS.metricsNamespace, description: 'CloudWatch namespace of the metrics' },
  { key: 'dashboard', example: 'false', default: 'true', description: 'Create the CloudWatch dashboard (`<role name prefix>-<region>`): alarm states, the function, and per target its outcomes, entries, size headroom, refusals, alert failures and duration' },
];

const RETENTION_DAYS = Object.values(RetentionDays).filter((d): d is RetentionDays => typeof d === 'number');
const REMOVAL_POLICIES: Record<string, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
  'retain-except-on-create': RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
};

/**
 * CDK's own context keys that carry no ':' or '/': the CLI's settings in cdk.json and `cdk acknowledge`'s list. The
 * rest of CDK's keys are recognised by their form (see {@link isCdkContextKey}).
 */
const CDK_OWN_KEYS: readonly string[] = ['acknowledged-issue-numbers', 'cli-telemetry'];

/**
 * True for a key that belongs to CDK, not to this app: feature flags (`@aws-cdk/...`), `aws:cdk:...`, cached lookups
 * (`availability-zones:account=...`), anything with ':' or '/', `cdk-...`, and {@link CDK_OWN_KEYS}.
 */
export function isCdkContextKey(key: string): boolean {
  return key.includes(':') || key.includes('/') || key.startsWith('@') || key.startsWith('cdk-') || CDK_OWN_KEYS.includes(key);
}

/**
 * Refuses a context key this app does not read, naming the closest one it does: `-c attachToRole=X` would
 * otherwise synthesize a stack that protects nothing. CDK's own keys pass. The value is not echoed: a key nobody
 * reads may hold anything, a secret pasted into the wrong flag included.
 */
export function checkContextKeys(keys: Iterable<string>): void {
  const known = CONTEXT_KEYS.map((k) => k.key);
  for (const key of keys) {
    if (known.includes(key) || isCdkContextKey(key)) continue;
    throw new ContextError(key, v.unknownField(key, known, 'a context key of this app'));
  }
}

/**
 * The app's whole context (cdk.json "context", cdk.context.json, `-c key=value`: the CLI hands them all to the app
 * through CDK_CONTEXT_JSON, which App loads into its node) -> checked keys -> typed, validated props.
 */
export function parseAppContext(node: Node): AppConfig {
  checkContextKeys(Object.keys(node.getAllContext() as Record<string, unknown>));
  return parseContext((key) => node.tryGetContext(key));
}

/** Parses and validates every key in {@link CONTEXT_KEYS}. */
export function parseContext(read: ContextReader): AppConfig {
  const get = (key: string): unknown => {
    const value = read(key);
    return value === '' || value === null ? undefined : value;
  };
  const str = (key: string, check?: (s: string) => string | undefined): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new ContextError(key, `expected a string, got ${JSON.stringify(value)}`);
    const s = value.trim();
    const problem = check?.(s);
    if (problem) throw new ContextError(key, problem);
    return s === '' ? undefined : s;
  };
  const list = (key: string, check?: (s: string) => string | undefined): string[] | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : undefined;
    if (!items || items.some((i) => typeof i !== 'string')) {
      throw new ContextError(key, `expected a comma-separated list or a JSON array of strings, got ${JSON.stringify(value)}`);
    }
    const out = (items as string[]).map((i) => i.trim()).filter((i) => i !== '');
    for (const item of out) {
      const problem = check?.(item);
      if (problem) throw new ContextError(key, problem);
    }
    return out.length > 0 ? out : undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const value = get(key);
    if (value === undefined || typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
    throw new ContextError(key, `expected true or false, got ${JSON.stringify(value)}`);
  };
  const num = (key: string, min: number, max: number, integer = true): number | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isNaN(n)) throw new ContextError(key, `expected a number, got ${JSON.stringify(value)}`);
    const problem = v.checkNumber(n, min, max, integer);
    if (problem) throw new ContextError(key, problem);
    return n;
  };
  const principals = (key: string, kind: PrincipalKind) =>
    list(key, (s) => {
      const ref = v.parsePrincipal(kind, s);
      return typeof ref === 'string' ? ref : undefined;
    });

  const stackName = str('stackName', (s) =>
    /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(s) ? undefined : `"${s}" is not a CloudFormation stack name (letters, digits, hyphens; starting with a letter)`,
  ) ?? 'AllowlistSync';

  // schedule: minutes, or a Scheduler expression
  const rawSchedule = get('schedule');
  let schedule: Duration | string | undefined;
  if (typeof rawSchedule === 'number' || (typeof rawSchedule === 'string' && /^\s*\d+\s*$/.test(rawSchedule))) {
    schedule = Duration.minutes(num('schedule', 1, 720) as number);
  } else if (rawSchedule !== undefined) {
    schedule = str('schedule');
  }
  let resolved: ResolvedSchedule | undefined;
  if (schedule !== undefined) {
    const r = resolveSchedule(schedule);
    if (typeof r === 'string') throw new ContextError('schedule', r);
    resolved = r;
  }
  const stalenessMinutes = num('stalenessMinutes', 2, 1440);
  const stalenessThreshold = stalenessMinutes === undefined ? undefined : Duration.minutes(stalenessMinutes);
  const timing = alarmTiming(resolved ?? (resolveSchedule(Duration.minutes(DEFAULTS.scheduleMinutes)) as ResolvedSchedule), stalenessThreshold);
  if (typeof timing === 'string') throw new ContextError(stalenessThreshold || !resolved?.period ? 'stalenessMinutes' : 'schedule', timing);

  const removal = str('policyRemovalPolicy', (s) =>
    s.toLowerCase() in REMOVAL_POLICIES ? undefined : `"${s}" is not one of ${Object.keys(REMOVAL_POLICIES).join(', ')}`,
  );
  const retention = num('logRetentionDays', 1, 9999);
  if (retention !== undefined && !RETENTION_DAYS.includes(retention)) {
    throw new ContextError('logRetentionDays', `${retention} is not a CloudWatch Logs retention; use one of ${RETENTION_DAYS.join(', ')}`);
  }
  const timeoutSeconds = num('timeoutSeconds', 60, 900);
  const maxEventAgeMinutes = num('maxEventAgeMinutes', 1, 1440);

  const sync: { -readonly [K in keyof AllowlistSyncProps]: AllowlistSyncProps[K] } = {
    allowlistName: str('allowlistName', v.checkAllowlistName),
    existingPolicyArn: str('existingPolicyArn', v.checkPolicyArn),
    policyName: str('policyName', v.checkPolicyName),
    policyPath: str('policyPath', v.checkIamPath),
    policyRemovalPolicy: removal === undefined ? undefined : REMOVAL_POLICIES[removal.toLowerCase()],
    attachToRoles: principals('attachToRoles', 'role'),
    attachToUsers: principals('attachToUsers', 'user'),
    attachToGroups: principals('attachToGroups', 'group'),
    ocmCredentialsParameterName: str('ocmCredentialsParameterName', v.checkParameterName),
    ocmCredentialsKeyArn: str('ocmCredentialsKeyArn', v.checkKmsKeyArn),
    ocmApiUrl: str('ocmApiUrl', v.checkHttpsUrl),
    ocmTokenUrl: str('ocmTokenUrl', v.checkHttpsUrl),
    extraCidrs: list('extraCidrs', v.checkCidr),
    ocmEnabled: bool('ocmEnabled'),
    cidrsParameterName: str('cidrsParameterName', v.checkParameterName),
    dryRun: bool('dryRun'),
    minEntries: num('minEntries', 1, 100_000),
    maxRemovalFraction: num('maxRemovalFraction', 0, 1, false),
    broadestIpv4Prefix: num('broadestIpv4Prefix', 0, 32),
    broadestIpv6Prefix: num('broadestIpv6Prefix', 0, 128),
    maxAddedIpv4Addresses: num('maxAddedIpv4Addresses', 0, 4_294_967_296),
    maxAddedIpv6Prefix: num('maxAddedIpv6Prefix', 0, 128),
    baselineWindowDays: num('baselineWindowDays', 0, 90, false),
    approvalMaxAgeHours: num('approvalMaxAgeHours', 0, 720, false),
    kmsViaServiceExemption: bool('kmsViaServiceExemption'),
    vpcExemption: list('vpcExemption', v.checkVpcExemptionId),
    includeCidrs: list('includeCidrs', v.checkFilterCidr),
    excludeCidrs: list('excludeCidrs', v.checkFilterCidr),
    policyChecks: str('policyChecks', (s) => (['auto', 'off', 'required'].includes(s) ? undefined : `"${s}" is not one of auto, off, required`)) as AllowlistSyncProps['policyChecks'],
    schedule,
    stalenessThreshold,
    retryAttempts: num('retryAttempts', 0, 185),
    maxEventAge: maxEventAgeMinutes === undefined ? undefined : Duration.minutes(maxEventAgeMinutes),
    syncOnDeploy: bool('syncOnDeploy'),
    alertTopicArn: str('alertTopicArn', v.checkTopicArn),
    alertTopicKeyArn: str('alertTopicKeyArn', v.checkKmsKeyArn),
    notifyEmails: list('notifyEmails', v.checkEmail),
    memorySize: num('memorySize', 128, 10_240),
    timeout: timeoutSeconds === undefined ? undefined : Duration.seconds(timeoutSeconds),
    logRetention: retention as RetentionDays | undefined,
    logLevel: str('logLevel', (s) => v.checkLogLevel(s.toUpperCase()))?.toUpperCase() as LogLevel | undefined,
    metricsNamespace: str('metricsNamespace', v.checkMetricsNamespace),
    dashboard: bool('dashboard'),
  };

  if (sync.existingPolicyArn) {
    for (const key of ['policyName', 'policyPath', 'policyRemovalPolicy'] as const) {
      if (sync[key] !== undefined) throw new ContextError(key, 'does not apply with existingPolicyArn (an adopted policy is not created by the stack)');
    }
  }
  if (sync.alertTopicKeyArn && !sync.alertTopicArn) throw new ContextError('alertTopicKeyArn', 'only applies together with alertTopicArn');
  if (sync.ocmEnabled === false && !sync.extraCidrs && !sync.cidrsParameterName) {
    throw new ContextError('ocmEnabled', 'without OCM the allowlist needs another source: set extraCidrs and/or cidrsParameterName');
  }
  sync.additionalTargets = targets(get('targets'), { name: sync.allowlistName ?? DEFAULTS.allowlistName, existingPolicyArn: sync.existingPolicyArn });
  try {
    sync.fleet = parseFleetContext(get('fleet'));
  } catch (err) {
    if (err instanceof FleetError) throw new ContextError('fleet', err.message);
    throw err;
  }

  // Drop unset keys so the construct's defaults apply and the props read cleanly in tests.
  const props = Object.fromEntries(Object.entries(sync).filter(([, value]) => value !== undefined)) as AllowlistSyncProps;
  return { stackName, sync: props };
}

/** `targets`: a JSON array on the command line, or an array in cdk.json; errors name the target and field. */
function targets(value: unknown, main: { name: string; existingPolicyArn?: string }): AllowlistTargetProps[] | undefined {
  if (value === undefined) return undefined;
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch (err) {
      throw new ContextError('targets', `is not valid JSON (${(err as Error).message}); quote it for the shell: -c targets='[{"name":...}]'`);
    }
  }
  if (!Array.isArray(list)) throw new ContextError('targets', `expected a JSON array of targets, got ${JSON.stringify(list)}`);
  try {
    const out = validateTargets(list, main);
    return out.length > 0 ? out : undefined;
  } catch (err) {
    if (err instanceof TargetError) throw new ContextError('targets', err.message);
    throw err;
  }
}
