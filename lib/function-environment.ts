import { Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { TargetSpec } from '../lambda/kinds/kind';
import type { AllowlistSyncProps } from './allowlist-sync-props';
import type { FleetTargetSpec } from './fleet';
import { principalText } from './targets';

/** Lambda's limit on the function's environment: all keys and values together. */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/** What an unresolved token (a policy or topic ARN) is counted as when estimating the environment's size. */
const TOKEN_SIZE_ESTIMATE = 100;

/** What the environment is built from besides the props. */
export interface EnvironmentInputs {
  readonly policyArn: string;
  readonly topicArn: string;
  readonly tableName: string;
  readonly allowlistName: string;
  readonly namespace: string;
  readonly parameterName: string;
  /** Whether the main allowlist takes OCM's list. */
  readonly mainOcm: boolean;
  /** Whether any target does (then the function reads OCM credentials). */
  readonly ocmUsed: boolean;
  /** Every target, the main allowlist first (the fleet last); undefined when the single-target variables say it all. */
  readonly targetSpecs?: ReadonlyArray<TargetSpec | FleetTargetSpec>;
}

/**
 * The function's environment: the contract with lambda/config.ts. The single-target variables always (the
 * function, and anyone reading the console, finds the main allowlist where it always was); ALLOWLIST_TARGETS too
 * when there is more to say (other targets, an `ssm:` source), the main allowlist first.
 */
export function functionEnvironment(scope: Construct, props: AllowlistSyncProps, inputs: EnvironmentInputs): Record<string, string> {
  const environment: Record<string, string> = {
    POLICY_ARN: inputs.policyArn,
    ...(inputs.ocmUsed ? { OCM_CREDENTIALS_PARAMETER: inputs.parameterName } : {}),
    ALERT_TOPIC_ARN: inputs.topicArn,
    STATE_TABLE: inputs.tableName,
    ALLOWLIST_NAME: inputs.allowlistName,
    POWERTOOLS_SERVICE_NAME: inputs.allowlistName,
    POWERTOOLS_METRICS_NAMESPACE: inputs.namespace,
  };
  const optional: Record<string, string | undefined> = {
    OCM_ENABLED: inputs.mainOcm ? undefined : 'false',
    OCM_API_URL: inputs.ocmUsed ? props.ocmApiUrl : undefined,
    OCM_TOKEN_URL: inputs.ocmUsed ? props.ocmTokenUrl : undefined,
    DRY_RUN: props.dryRun === undefined ? undefined : String(props.dryRun),
    EXTRA_CIDRS: props.extraCidrs?.length ? props.extraCidrs.join(',') : undefined,
    MIN_ENTRIES: props.minEntries?.toString(),
    MAX_REMOVAL_FRACTION: props.maxRemovalFraction?.toString(),
    BROADEST_IPV4_PREFIX: props.broadestIpv4Prefix?.toString(),
    BROADEST_IPV6_PREFIX: props.broadestIpv6Prefix?.toString(),
    MAX_ADDED_IPV4_ADDRESSES: props.maxAddedIpv4Addresses?.toString(),
    MAX_ADDED_IPV6_PREFIX: props.maxAddedIpv6Prefix?.toString(),
    BASELINE_WINDOW_DAYS: props.baselineWindowDays?.toString(),
    APPROVAL_MAX_AGE_HOURS: props.approvalMaxAgeHours?.toString(),
    KMS_VIA_SERVICE_EXEMPTION: props.kmsViaServiceExemption === undefined ? undefined : String(props.kmsViaServiceExemption),
    VPC_EXEMPTION: props.vpcExemption?.length ? props.vpcExemption.join(',') : undefined,
    // A CDK role, user or group is passed by ARN: it carries the IAM path, which the function needs to re-attach.
    ATTACH_TO_ROLES: props.attachToRoles?.length ? props.attachToRoles.map((r) => principalText('role', r)).join(',') : undefined,
    ATTACH_TO_USERS: props.attachToUsers?.length ? props.attachToUsers.map((u) => principalText('user', u)).join(',') : undefined,
    ATTACH_TO_GROUPS: props.attachToGroups?.length ? props.attachToGroups.map((g) => principalText('group', g)).join(',') : undefined,
    INCLUDE_CIDRS: props.includeCidrs?.length ? props.includeCidrs.join(',') : undefined,
    EXCLUDE_CIDRS: props.excludeCidrs?.length ? props.excludeCidrs.join(',') : undefined,
    POLICY_CHECKS: props.policyChecks,
    POWERTOOLS_LOG_LEVEL: props.logLevel,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) environment[key] = value;
  if (inputs.targetSpecs) {
    environment.ALLOWLIST_TARGETS = Stack.of(scope).toJsonString(inputs.targetSpecs);
    // With the list the function reads DRY_RUN as "every target"; the main allowlist's dryRun is its own
    // (it is in its spec), like each target's.
    delete environment.DRY_RUN;
  }
  return environment;
}

/**
 * The environment's size as Lambda counts it (keys and values), with every token (an ARN CloudFormation
 * fills in) counted as {@link TOKEN_SIZE_ESTIMATE} characters: an estimate, good enough to stop a
 * configuration that could never deploy.
 */
export function estimateEnvironmentSize(environment: Record<string, string>, targetSpecs: ReadonlyArray<TargetSpec | FleetTargetSpec> | undefined): number {
  const size = (s: string) => (Token.isUnresolved(s) ? TOKEN_SIZE_ESTIMATE : Buffer.byteLength(s));
  const targets = targetSpecs
    ? Buffer.byteLength(JSON.stringify(targetSpecs, (_k, value: unknown) => (typeof value === 'string' && Token.isUnresolved(value) ? 'x'.repeat(TOKEN_SIZE_ESTIMATE) : value)))
    : 0;
  // NODE_OPTIONS is added by SyncFunction.
  const nodeOptions = 'NODE_OPTIONS--enable-source-maps'.length;
  return nodeOptions + Object.entries(environment).reduce((sum, [key, value]) => sum + key.length + (key === 'ALLOWLIST_TARGETS' ? targets : size(value)), 0);
}
