import { ConditionOptions, GUARD_RANGES, Guards } from './allowlist';
import { SyncError } from './errors';
import { TargetSpec, parseTargetSpecs } from './target-config';

/** Environment variables, as `process.env` gives them. */
export type Env = Record<string, string | undefined>;

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

/** Condition exemptions from `VIA_AWS_SERVICE_EXEMPTION` (default on) and `KMS_VIA_SERVICE_EXEMPTION` (default off). */
export function conditionsFromEnv(env: Env): ConditionOptions {
  return {
    viaAwsServiceExemption: readBool(env, 'VIA_AWS_SERVICE_EXEMPTION', true),
    kmsViaServiceExemption: readBool(env, 'KMS_VIA_SERVICE_EXEMPTION', false),
  };
}

const POLICY_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:policy\/[\w+=,.@/-]+$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[\w-]+$/;

/** The allowlist's name when ALLOWLIST_NAME is unset (the CDK construct's default too). */
export const DEFAULT_ALLOWLIST_NAME = 'rosa-trusted-ips';

/** True for a customer managed policy ARN as POLICY_ARN must hold. */
export function isPolicyArn(value: string): boolean {
  return POLICY_ARN.test(value);
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
  functionName?: string;
}

/** Reads and validates the function's configuration; errors name the variable. */
export function loadHandlerConfig(env: Env): HandlerConfig {
  const policyArn = readRequired(env, 'POLICY_ARN', 'the ARN of the managed policy to keep in sync');
  if (!isPolicyArn(policyArn)) {
    throw configError('POLICY_ARN', `must be an IAM policy ARN like arn:aws:iam::123456789012:policy/name, got ${JSON.stringify(policyArn)}`);
  }
  const alertTopicArn = env.ALERT_TOPIC_ARN?.trim() || undefined;
  if (alertTopicArn && !TOPIC_ARN.test(alertTopicArn)) {
    throw configError('ALERT_TOPIC_ARN', `must be an SNS topic ARN, got ${JSON.stringify(alertTopicArn)}`);
  }
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
  };
}

/** Reads the deployment: `ALLOWLIST_TARGETS` when set, else the single-target variables. Errors name the variable. */
export function loadDeploymentConfig(env: Env): DeploymentConfig {
  const stateTable = env.STATE_TABLE?.trim() || undefined;
  if (stateTable && !/^[A-Za-z0-9_.-]{3,255}$/.test(stateTable)) {
    throw configError('STATE_TABLE', `must be a DynamoDB table name (3 to 255 of letters, digits, _ . -), got ${JSON.stringify(stateTable)}`);
  }
  const shared = {
    dryRun: readBool(env, 'DRY_RUN', false),
    ...(env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: env.AWS_LAMBDA_FUNCTION_NAME } : {}),
    ...(stateTable ? { stateTable } : {}),
  };
  const list = env.ALLOWLIST_TARGETS?.trim();
  if (!list) {
    const config = loadHandlerConfig(env);
    return { ...shared, targets: [legacyTargetSpec(config)], ...(config.alertTopicArn ? { alertTopicArn: config.alertTopicArn } : {}), multi: false };
  }
  const alertTopicArn = env.ALERT_TOPIC_ARN?.trim() || undefined;
  if (alertTopicArn && !TOPIC_ARN.test(alertTopicArn)) {
    throw configError('ALERT_TOPIC_ARN', `must be an SNS topic ARN, got ${JSON.stringify(alertTopicArn)}`);
  }
  return { ...shared, targets: parseTargetSpecs(list), ...(alertTopicArn ? { alertTopicArn } : {}), multi: true };
}
