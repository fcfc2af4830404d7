import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConditionOptions, GUARD_RANGES, Guards } from './allowlist';
import { SyncError } from './errors';
import { isFleetSpec } from './kinds/kind';
import type { FleetSpec, TargetSpec } from './kinds/kind';
import { parseTargetEntries } from './kinds/specs';
import type { Env, PolicyChecksMode } from './ports';
import { OCM_DEFAULT_API_URL, OCM_DEFAULT_TOKEN_URL, OCM_ENV, type OcmSourceOptions, parseEndpoint } from './sources/ocm';
import { parseOcmCredentials, ssmCredentialProvider, staticCredentialProvider, type OcmCredentialProvider } from './sources/ocm-credentials';
import type { OcmLogger } from './sources/ocm-redact';
import { splitList } from './sources/static';
import { checkFilterCidr, checkPolicyArn, checkTopicArn, checkVpcExemptionId, parsePrincipal, partitionOf } from './validate';
import type { PrincipalKind } from './validate';

// The only reader of the environment: every variable the function (and the CLI) takes is read and validated here,
// once, into typed settings. The single-target variables (POLICY_ARN...) become a one-item target list here only.

export type { Env } from './ports';

function configError(name: string, message: string): SyncError {
  return new SyncError('config', `Configuration error: ${name} ${message}.`, 'Fix the environment variable and run again.');
}

/** A boolean variable: true/false/1/0/yes/no (any case); `fallback` when unset or empty. */
export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw configError(name, `must be true or false, got ${JSON.stringify(env[name])}`);
}

/** A whole number in [min, max]; undefined when unset or empty. */
export function readInt(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw configError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(env[name])}`);
  }
  return Number(raw);
}

/** A fraction in [0, 1]; undefined when unset or empty. */
export function readFraction(env: Env, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!/^[0-9.]+$/.test(raw) || !Number.isFinite(value) || value < 0 || value > 1) {
    throw configError(name, `must be a fraction from 0 to 1 (0.3 means 30%), got ${JSON.stringify(env[name])}`);
  }
  return value;
}

/** A required, non-empty variable. */
export function readRequired(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw configError(name, `is required (${what})`);
  return value;
}

/** The environment variable of each guard setting (the single-target variables, and the CLI's). */
export const GUARD_VARIABLES: Readonly<Record<keyof Guards, string>> = {
  minEntries: 'MIN_ENTRIES',
  broadestIpv4Prefix: 'BROADEST_IPV4_PREFIX',
  broadestIpv6Prefix: 'BROADEST_IPV6_PREFIX',
  maxRemovalFraction: 'MAX_REMOVAL_FRACTION',
  maxAddedIpv4Addresses: 'MAX_ADDED_IPV4_ADDRESSES',
  maxAddedIpv6Prefix: 'MAX_ADDED_IPV6_PREFIX',
  baselineWindowDays: 'BASELINE_WINDOW_DAYS',
  approvalMaxAgeHours: 'APPROVAL_MAX_AGE_HOURS',
  // A raised trust policy quota, for example; a target never goes past its own limit whatever this says.
  sizeLimit: 'SIZE_LIMIT',
};

/** Guard overrides from their variables (GUARD_VARIABLES), each checked against the one table of ranges. */
export function guardsFromEnv(env: Env): Partial<Guards> {
  const guards: Partial<Guards> = {};
  for (const [key, name] of Object.entries(GUARD_VARIABLES) as [keyof Guards, string][]) {
    const [min, max, integer] = GUARD_RANGES[key];
    const value = integer ? readInt(env, name, min, max) : key === 'maxRemovalFraction' ? readFraction(env, name) : readNumber(env, name, min, max);
    if (value !== undefined) guards[key] = value;
  }
  return guards;
}

/** A number in [min, max]; undefined when unset or empty. */
export function readNumber(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!/^[0-9.]+$/.test(raw) || !Number.isFinite(value) || value < min || value > max) {
    throw configError(name, `must be a number from ${min} to ${max}, got ${JSON.stringify(env[name])}`);
  }
  return value;
}

/** A comma- or space-separated list, each item checked; undefined when unset (an empty value is unset). */
function readList(env: Env, name: string, check: (item: string) => string | undefined): string[] | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const items = splitList(raw);
  for (const item of items) {
    const problem = check(item);
    if (problem) throw configError(name, `holds ${problem}`);
  }
  return items;
}

/**
 * Condition exemptions from `VIA_AWS_SERVICE_EXEMPTION` (default on), `KMS_VIA_SERVICE_EXEMPTION` (default off)
 * and `VPC_EXEMPTION` (VPC and VPC endpoint ids, default none).
 */
export function conditionsFromEnv(env: Env): ConditionOptions {
  const vpcExemption = readList(env, 'VPC_EXEMPTION', checkVpcExemptionId);
  return {
    viaAwsServiceExemption: readBool(env, 'VIA_AWS_SERVICE_EXEMPTION', true),
    kmsViaServiceExemption: readBool(env, 'KMS_VIA_SERVICE_EXEMPTION', false),
    ...(vpcExemption ? { vpcExemption } : {}),
  };
}

/** The single target's principals it must stay attached to: `ATTACH_TO_ROLES`, `_USERS`, `_GROUPS`, and `REATTACH`. */
export function attachmentsFromEnv(env: Env): { attachToRoles?: string[]; attachToUsers?: string[]; attachToGroups?: string[]; reattach?: boolean } {
  const principals = (name: string, kind: PrincipalKind) =>
    readList(env, name, (item) => {
      const ref = parsePrincipal(kind, item);
      return typeof ref === 'string' ? ref : undefined;
    });
  const roles = principals('ATTACH_TO_ROLES', 'role');
  const users = principals('ATTACH_TO_USERS', 'user');
  const groups = principals('ATTACH_TO_GROUPS', 'group');
  const reattach = env.REATTACH?.trim() ? readBool(env, 'REATTACH', true) : undefined;
  return { ...(roles ? { attachToRoles: roles } : {}), ...(users ? { attachToUsers: users } : {}), ...(groups ? { attachToGroups: groups } : {}), ...(reattach !== undefined ? { reattach } : {}) };
}

/** The single target's subset of its sources: `INCLUDE_CIDRS` and `EXCLUDE_CIDRS`. */
export function filtersFromEnv(env: Env): { include?: string[]; exclude?: string[] } {
  const include = readList(env, 'INCLUDE_CIDRS', checkFilterCidr);
  const exclude = readList(env, 'EXCLUDE_CIDRS', checkFilterCidr);
  return { ...(include ? { include } : {}), ...(exclude ? { exclude } : {}) };
}


/** The allowlist's name when ALLOWLIST_NAME is unset (the CDK construct's default too). */
export const DEFAULT_ALLOWLIST_NAME = 'rosa-trusted-ips';

/** True for a customer managed policy ARN as POLICY_ARN must hold. */
export function isPolicyArn(value: string): boolean {
  return checkPolicyArn(value) === undefined;
}

function readTopic(env: Env): string | undefined {
  const alertTopicArn = env.ALERT_TOPIC_ARN?.trim() || undefined;
  if (alertTopicArn && checkTopicArn(alertTopicArn)) throw configError('ALERT_TOPIC_ARN', `must be an SNS topic ARN, got ${JSON.stringify(alertTopicArn)}`);
  return alertTopicArn;
}

/** Everything the Lambda function reads from its environment, validated once. */
export interface HandlerConfig {
  policyArn: string;
  /** Short name used in alert subjects and metrics, e.g. `rosa-trusted-ips`. */
  allowlistName: string;
  alertTopicArn?: string;
  dryRun: boolean;
  extraCidrs?: string;
  /** When false, OCM is not a source (only `EXTRA_CIDRS`). */
  ocmEnabled: boolean;
  guards: Partial<Guards>;
  conditions: ConditionOptions;
  /** `INCLUDE_CIDRS` / `EXCLUDE_CIDRS`. */
  filters: { include?: string[]; exclude?: string[] };
  /** `ATTACH_TO_ROLES` / `_USERS` / `_GROUPS` and `REATTACH`. */
  attachments: ReturnType<typeof attachmentsFromEnv>;
  functionName?: string;
}

/** Reads and validates the function's configuration; errors name the variable. */
export function loadHandlerConfig(env: Env): HandlerConfig {
  const policyArn = readRequired(env, 'POLICY_ARN', 'the ARN of the managed policy to keep in sync');
  if (!isPolicyArn(policyArn)) {
    throw configError('POLICY_ARN', `must be an IAM policy ARN like arn:aws:iam::123456789012:policy/name, got ${JSON.stringify(policyArn)}`);
  }
  const alertTopicArn = readTopic(env);
  const allowlistName = env.ALLOWLIST_NAME?.trim() || DEFAULT_ALLOWLIST_NAME;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(allowlistName)) {
    throw configError('ALLOWLIST_NAME', `must be 1 to 64 letters, digits, dots, dashes or underscores, got ${JSON.stringify(allowlistName)}`);
  }
  const extraCidrs = env.EXTRA_CIDRS?.trim() || undefined;
  const ocmEnabled = readBool(env, 'OCM_ENABLED', true);
  if (!ocmEnabled && !extraCidrs) throw configError('EXTRA_CIDRS', 'is required when OCM_ENABLED is false (there would be no source)');
  return {
    policyArn,
    allowlistName,
    ...(alertTopicArn ? { alertTopicArn } : {}),
    dryRun: readBool(env, 'DRY_RUN', false),
    ...(extraCidrs ? { extraCidrs } : {}),
    ocmEnabled,
    guards: guardsFromEnv(env),
    conditions: conditionsFromEnv(env),
    filters: filtersFromEnv(env),
    attachments: attachmentsFromEnv(env),
    ...(env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: env.AWS_LAMBDA_FUNCTION_NAME } : {}),
  };
}

/** The whole deployment: its targets and what they share. */
export interface DeploymentConfig {
  targets: TargetSpec[];
  alertTopicArn?: string;
  /** `DRY_RUN`: no target writes. */
  dryRun: boolean;
  functionName?: string;
  /** True when `ALLOWLIST_TARGETS` lists the targets; false for the single-target variables. */
  multi: boolean;
  /** `STATE_TABLE`: the DynamoDB table of the state store; unset, state lives in the container's memory. */
  stateTable?: string;
  /** `TARGET_CONCURRENCY`: how many targets run at once (1 to 50); unset, the run's default (lanes.ts). */
  concurrency?: number;
  /** The entries of `ALLOWLIST_TARGETS` with `accounts`: each becomes one target per account at run time. @default [] */
  fleets?: FleetSpec[];
  /** The partition of the function's region (`AWS_REGION`): what the fleet's role and policy ARNs start with. @default 'aws' */
  partition?: string;
  /** `POLICY_CHECKS`: IAM's simulator and Access Analyzer before a write; unset, read from the environment when composed. */
  policyChecks?: PolicyCheckSettings;
}

/** The single-target variables as a target spec. */
export function legacyTargetSpec(config: HandlerConfig): TargetSpec {
  return {
    name: config.allowlistName,
    kind: 'managed-policy',
    policyArn: config.policyArn,
    sources: [...(config.ocmEnabled ? ['ocm'] : []), ...(config.extraCidrs ? [`static:${config.extraCidrs}`] : [])],
    guards: config.guards,
    conditions: config.conditions,
    ...config.filters,
    ...config.attachments,
  };
}

/** Reads the deployment: `ALLOWLIST_TARGETS` when set, else the single-target variables. Errors name the variable. */
export function loadDeploymentConfig(env: Env): DeploymentConfig {
  const stateTable = env.STATE_TABLE?.trim() || undefined;
  if (stateTable && !/^[A-Za-z0-9_.-]{3,255}$/.test(stateTable)) {
    throw configError('STATE_TABLE', `must be a DynamoDB table name (3 to 255 of letters, digits, _ . -), got ${JSON.stringify(stateTable)}`);
  }
  const concurrency = readInt(env, 'TARGET_CONCURRENCY', 1, 50);
  const shared = {
    ...(concurrency !== undefined ? { concurrency } : {}),
    policyChecks: loadPolicyCheckSettings(env),
    dryRun: readBool(env, 'DRY_RUN', false),
    ...(env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: env.AWS_LAMBDA_FUNCTION_NAME } : {}),
    ...(stateTable ? { stateTable } : {}),
    partition: partitionOf(env.AWS_REGION),
  };
  const list = env.ALLOWLIST_TARGETS?.trim();
  if (!list) {
    const config = loadHandlerConfig(env);
    return { ...shared, targets: [legacyTargetSpec(config)], fleets: [], ...(config.alertTopicArn ? { alertTopicArn: config.alertTopicArn } : {}), multi: false };
  }
  const alertTopicArn = readTopic(env);
  const entries = parseTargetEntries(list);
  const targets = entries.filter((e): e is TargetSpec => !isFleetSpec(e));
  return { ...shared, targets, fleets: entries.filter(isFleetSpec), ...(alertTopicArn ? { alertTopicArn } : {}), multi: true };
}

/** What the Lambda entry needs before anything else (Powertools' names): read without failing, always. */
export interface EntrySettings {
  allowlistName: string;
  serviceName: string;
  namespace: string;
  /** `ALLOWLIST_TARGETS` is set: results per target, metrics per target. */
  multi: boolean;
  alertTopicArn?: string;
  stateTable?: string;
  policyArn?: string;
  functionName?: string;
}

/** The entry's settings; invalid values are left to loadDeploymentConfig to report (which alerts them). */
export function loadEntrySettings(env: Env): EntrySettings {
  const allowlistName = env.ALLOWLIST_NAME?.trim() || DEFAULT_ALLOWLIST_NAME;
  const value = (name: string): string | undefined => env[name]?.trim() || undefined;
  const optional = (name: string, key: keyof EntrySettings) => (value(name) ? { [key]: value(name) } : {});
  return {
    allowlistName,
    serviceName: value('POWERTOOLS_SERVICE_NAME') ?? allowlistName,
    namespace: value('POWERTOOLS_METRICS_NAMESPACE') ?? 'AllowlistSync',
    multi: Boolean(value('ALLOWLIST_TARGETS')),
    ...optional('ALERT_TOPIC_ARN', 'alertTopicArn'),
    ...optional('STATE_TABLE', 'stateTable'),
    ...optional('POLICY_ARN', 'policyArn'),
    ...optional('AWS_LAMBDA_FUNCTION_NAME', 'functionName'),
  };
}

/** What the SDK clients take from the environment themselves, so defaults only fill what is unset. */
export interface SdkSettings {
  retryModeSet: boolean;
  maxAttemptsSet: boolean;
  regionSet: boolean;
}

/** The SDK's own variables, as far as the tool's defaults must give way to them. */
export function loadSdkSettings(env: Env): SdkSettings {
  return { retryModeSet: Boolean(env.AWS_RETRY_MODE), maxAttemptsSet: Boolean(env.AWS_MAX_ATTEMPTS), regionSet: Boolean(env.AWS_REGION) };
}

/** `POLICY_CHECKS`, and whether the SDK is pointed at an endpoint of someone's choosing (a stand-in, not AWS). */
export interface PolicyCheckSettings {
  mode: PolicyChecksMode;
  /** AWS_ENDPOINT_URL or the service's own variable is set: an unreachable endpoint there means "not offered". */
  customEndpoint: { iam: boolean; accessAnalyzer: boolean };
}

const POLICY_CHECKS_MODES: readonly PolicyChecksMode[] = ['auto', 'off', 'required'];

/** `POLICY_CHECKS` (auto, off or required; default auto) and the endpoint variables the SDK itself reads. */
export function loadPolicyCheckSettings(env: Env): PolicyCheckSettings {
  const raw = env.POLICY_CHECKS?.trim().toLowerCase() || 'auto';
  if (!POLICY_CHECKS_MODES.includes(raw as PolicyChecksMode)) {
    throw configError('POLICY_CHECKS', `must be one of ${POLICY_CHECKS_MODES.join(', ')}, got ${JSON.stringify(env.POLICY_CHECKS)}`);
  }
  // The SDK's own rule (@smithy/core endpoints): AWS_ENDPOINT_URL_<SERVICE ID>, then AWS_ENDPOINT_URL, unless ignored.
  const ignored = readBool(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', false);
  const set = (name: string) => !ignored && Boolean(env[name]?.trim() || env.AWS_ENDPOINT_URL?.trim());
  return { mode: raw as PolicyChecksMode, customEndpoint: { iam: set('AWS_ENDPOINT_URL_IAM'), accessAnalyzer: set('AWS_ENDPOINT_URL_ACCESSANALYZER') } };
}

/** Extra collaborators for `ocmOptionsFromEnv`. */
export interface OcmEnvDeps {
  /** SSM client for `OCM_CREDENTIALS_PARAMETER` (default: one from the ambient AWS config). */
  ssmClient?: SSMClient;
  /** How long SSM credentials are reused; default 5 minutes. */
  credentialsMaxAgeMs?: number;
  logger?: OcmLogger;
}

function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * `OcmSourceOptions` from environment variables (Lambda and CLI). Credentials, first match wins:
 * `OCM_CLIENT_ID` + `OCM_CLIENT_SECRET`, then `OCM_OFFLINE_TOKEN`, then the SSM parameter named by
 * `OCM_CREDENTIALS_PARAMETER`. `OCM_API_URL` and `OCM_TOKEN_URL` override the commercial defaults.
 * Throws `SyncError` naming the variable at fault; never echoes a secret.
 */
export function ocmOptionsFromEnv(env: Env, deps: OcmEnvDeps = {}): OcmSourceOptions {
  const apiUrl = envValue(env, OCM_ENV.apiUrl) ?? OCM_DEFAULT_API_URL;
  const tokenUrl = envValue(env, OCM_ENV.tokenUrl) ?? OCM_DEFAULT_TOKEN_URL;
  parseEndpoint(apiUrl, OCM_ENV.apiUrl);
  parseEndpoint(tokenUrl, OCM_ENV.tokenUrl);

  const clientId = envValue(env, OCM_ENV.clientId);
  const clientSecret = envValue(env, OCM_ENV.clientSecret);
  const offlineToken = envValue(env, OCM_ENV.offlineToken);
  const parameter = envValue(env, OCM_ENV.credentialsParameter);
  let credentials: OcmCredentialProvider;
  if (clientId || clientSecret) {
    if (!clientId || !clientSecret) {
      const missing = clientId ? OCM_ENV.clientSecret : OCM_ENV.clientId;
      const present = clientId ? OCM_ENV.clientId : OCM_ENV.clientSecret;
      throw new SyncError(
        'ocm-credentials-missing',
        `${present} is set but ${missing} is not; a Red Hat service account needs both.`,
        `Set ${missing}, or unset ${present} to use ${OCM_ENV.offlineToken} or ${OCM_ENV.credentialsParameter}.`,
      );
    }
    credentials = staticCredentialProvider(
      { kind: 'service-account', clientId, clientSecret },
      `environment variables ${OCM_ENV.clientId}/${OCM_ENV.clientSecret}`,
    );
  } else if (offlineToken) {
    const origin = `environment variable ${OCM_ENV.offlineToken}`;
    credentials = staticCredentialProvider(parseOcmCredentials(offlineToken, origin), origin);
  } else if (parameter) {
    credentials = ssmCredentialProvider({
      parameterName: parameter,
      client: deps.ssmClient,
      maxAgeMs: deps.credentialsMaxAgeMs,
      variableName: OCM_ENV.credentialsParameter,
      logger: deps.logger,
    });
  } else {
    throw new SyncError(
      'ocm-credentials-missing',
      `No OCM credentials configured: none of ${OCM_ENV.credentialsParameter}, ${OCM_ENV.clientId}/${OCM_ENV.clientSecret} or ${OCM_ENV.offlineToken} is set.`,
      `Set ${OCM_ENV.credentialsParameter} to the name of an SSM SecureString holding {"clientId":"...","clientSecret":"..."} (preferred) or an offline token.`,
    );
  }
  return { credentials, apiUrl, tokenUrl, logger: deps.logger };
}
