import { Token } from 'aws-cdk-lib';
import type { AllowlistSyncProps } from './allowlist-sync-props';
import { DEFAULTS } from './defaults';
import { TargetError, checkTarget, refuseOwnRole, validateTargets } from './targets';
import type { AllowlistTargetProps, FieldFail } from './targets';
import * as v from '../lambda/validate';

/** The props, checked: the deployment's settings and its targets, the main allowlist first. */
export interface CheckedProps {
  readonly allowlistName: string;
  readonly namespace: string;
  readonly parameterName: string;
  /** Whether the main allowlist takes OCM's list. */
  readonly mainOcm: boolean;
  /** The main allowlist as target 0: the same validation, resources and spec as every other target. */
  readonly main: AllowlistTargetProps;
  /** The additional targets, validated. */
  readonly targets: AllowlistTargetProps[];
}

/** The main allowlist's props as target fields (its own spelling: `extraCidrs` is its `static:` source). */
const MAIN_FIELDS: Readonly<Record<string, string>> = {
  name: 'allowlistName',
  ocm: 'ocmEnabled',
  cidrs: 'extraCidrs',
  'conditions.kmsViaServiceExemption': 'kmsViaServiceExemption',
  'conditions.vpcExemption': 'vpcExemption',
  include: 'includeCidrs',
  exclude: 'excludeCidrs',
};

/** The main allowlist as a managed-policy target. */
export function mainTarget(props: AllowlistSyncProps, allowlistName: string): AllowlistTargetProps {
  const guards = {
    minEntries: props.minEntries,
    maxRemovalFraction: props.maxRemovalFraction,
    broadestIpv4Prefix: props.broadestIpv4Prefix,
    broadestIpv6Prefix: props.broadestIpv6Prefix,
    maxAddedIpv4Addresses: props.maxAddedIpv4Addresses,
    maxAddedIpv6Prefix: props.maxAddedIpv6Prefix,
    baselineWindowDays: props.baselineWindowDays,
    approvalMaxAgeHours: props.approvalMaxAgeHours,
  };
  const set = <T extends object>(o: T): Partial<T> | undefined => {
    const kept = Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
    return Object.keys(kept).length ? kept : undefined;
  };
  const target: AllowlistTargetProps = {
    name: allowlistName,
    kind: 'managed-policy',
    ocm: props.ocmEnabled ?? true,
    cidrs: props.extraCidrs,
    cidrsParameterName: props.cidrsParameterName,
    guards: set(guards),
    conditions: set({ kmsViaServiceExemption: props.kmsViaServiceExemption, vpcExemption: props.vpcExemption }),
    include: props.includeCidrs,
    exclude: props.excludeCidrs,
    dryRun: props.dryRun,
    existingPolicyArn: props.existingPolicyArn,
    policyName: props.policyName,
    policyPath: props.policyPath,
    attachToRoles: props.attachToRoles,
    attachToUsers: props.attachToUsers,
    attachToGroups: props.attachToGroups,
  };
  return set(target) as AllowlistTargetProps;
}

/**
 * Checks the props (`fail` names the prop) and the targets (`additionalTargets[i] ("name").field`). The main
 * allowlist goes through the targets' own checks, its problems named by its props. `rolePrefix` names the sync
 * function's role in every region: no target may sit on it.
 */
export function checkProps(props: AllowlistSyncProps, rolePrefix: string, fail: (prop: string, problem: string) => never): CheckedProps {
  const check = (prop: string, value: string | undefined, checker: (s: string) => string | undefined) => {
    if (value === undefined || Token.isUnresolved(value)) return;
    const problem = checker(value);
    if (problem) fail(prop, problem);
  };
  const checkNum = (prop: string, value: number | undefined, min: number, max: number, integer: boolean) => {
    if (value === undefined || Token.isUnresolved(value)) return;
    const problem = v.checkNumber(value, min, max, integer);
    if (problem) fail(prop, problem);
  };

  const allowlistName = props.allowlistName ?? DEFAULTS.allowlistName;
  const namespace = props.metricsNamespace ?? DEFAULTS.metricsNamespace;
  const parameterName = props.ocmCredentialsParameterName ?? DEFAULTS.ocmCredentialsParameterName;
  check('allowlistName', allowlistName, v.checkAllowlistName);
  check('metricsNamespace', namespace, v.checkMetricsNamespace);
  check('ocmCredentialsParameterName', parameterName, v.checkParameterName);
  check('ocmCredentialsKeyArn', props.ocmCredentialsKeyArn, v.checkKmsKeyArn);
  check('ocmApiUrl', props.ocmApiUrl, v.checkHttpsUrl);
  check('ocmTokenUrl', props.ocmTokenUrl, v.checkHttpsUrl);
  check('alertTopicArn', props.alertTopicArn, v.checkTopicArn);
  check('alertTopicKeyArn', props.alertTopicKeyArn, v.checkKmsKeyArn);
  check('logLevel', props.logLevel, v.checkLogLevel);
  (props.notifyEmails ?? []).forEach((e) => check('notifyEmails', e, v.checkEmail));
  checkNum('retryAttempts', props.retryAttempts, 0, 185, true);
  checkNum('memorySize', props.memorySize, 128, 10_240, true);
  if (props.timeout) checkNum('timeout (seconds)', props.timeout.toSeconds(), 60, 900, true); // the OCM fetch alone may take 40 s
  if (props.maxEventAge) checkNum('maxEventAge (seconds)', props.maxEventAge.toSeconds(), 60, 86_400, true);
  if (props.existingPolicyArn && (props.policyName || props.policyPath || props.policyRemovalPolicy)) {
    fail('existingPolicyArn', 'an adopted policy is not created here, so policyName, policyPath and policyRemovalPolicy do not apply');
  }
  // From JavaScript or parsed JSON a string "false" would read as true: only a boolean is taken.
  if (props.dashboard !== undefined && typeof props.dashboard !== 'boolean') fail('dashboard', `expected true or false, got ${JSON.stringify(props.dashboard)}`);
  if (!props.alertTopicArn && props.alertTopicKeyArn) fail('alertTopicKeyArn', 'only applies together with alertTopicArn');
  const mainOcm = props.ocmEnabled ?? true;
  if (!mainOcm && !props.extraCidrs?.length && !props.cidrsParameterName) {
    fail('ocmEnabled', 'without OCM the allowlist needs another source: extraCidrs and/or cidrsParameterName');
  }

  const main = mainTarget(props, allowlistName);
  const failMain: FieldFail = (field, problem) => fail(field === undefined ? 'props' : (MAIN_FIELDS[field] ?? field.replace(/^guards\./, '')), problem);
  // A name from a token (checked above as far as it can be) cannot be checked as a target's: it is checked as one, named.
  checkTarget({ ...main, ...(Token.isUnresolved(allowlistName) ? { name: 'main' } : {}) }, failMain);
  refuseOwnRole(main, rolePrefix, failMain);

  let targets: AllowlistTargetProps[] = [];
  try {
    targets = validateTargets(props.additionalTargets ?? [], { name: allowlistName, existingPolicyArn: props.existingPolicyArn });
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    fail(`additionalTargets${TargetError.where(err.index, err.targetName, err.field)}`, err.problem);
  }
  targets.forEach((t, i) => refuseOwnRole(t, rolePrefix, (field, problem) => fail(`additionalTargets${TargetError.where(i, t.name, field)}`, problem)));
  return { allowlistName, namespace, parameterName, mainOcm, main, targets };
}
