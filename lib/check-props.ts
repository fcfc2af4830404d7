import { Token } from 'aws-cdk-lib';
import type { AllowlistSyncProps } from './allowlist-sync-props';
import { DEFAULTS } from './defaults';
import { TargetError, checkTarget, refuseOwnRole, validateTargets } from './targets';
import type { AllowlistTargetProps, FieldFail } from './targets';
import { SHAPES, checkShapes, show } from './shapes';
import type { ShapeName } from './shapes';
import * as v from '../lambda/validate';

/**
 * The shape of every prop, checked at runtime (a JavaScript caller or a spread object gets past TypeScript). A
 * Record over keyof makes whoever adds a prop say its shape here (tsc fails otherwise); an unknown prop fails
 * naming the closest one.
 */
export const PROP_SHAPES: Readonly<Record<keyof AllowlistSyncProps, ShapeName>> = {
  allowlistName: 'string',
  existingPolicyArn: 'string',
  policyName: 'string',
  policyPath: 'string',
  policyRemovalPolicy: 'removalPolicy',
  attachToRoles: 'roles',
  attachToUsers: 'users',
  attachToGroups: 'groups',
  ocmCredentialsParameterName: 'string',
  ocmCredentialsKeyArn: 'string',
  ocmCredentialsKey: 'key',
  ocmApiUrl: 'string',
  ocmTokenUrl: 'string',
  extraCidrs: 'strings',
  ocmEnabled: 'boolean',
  cidrsParameterName: 'string',
  additionalTargets: 'list',
  dryRun: 'boolean',
  minEntries: 'number',
  maxRemovalFraction: 'number',
  broadestIpv4Prefix: 'number',
  broadestIpv6Prefix: 'number',
  maxAddedIpv4Addresses: 'number',
  maxAddedIpv6Prefix: 'number',
  baselineWindowDays: 'number',
  approvalMaxAgeHours: 'number',
  kmsViaServiceExemption: 'boolean',
  vpcExemption: 'strings',
  includeCidrs: 'strings',
  excludeCidrs: 'strings',
  schedule: 'schedule',
  stalenessThreshold: 'duration',
  retryAttempts: 'number',
  maxEventAge: 'duration',
  syncOnDeploy: 'boolean',
  alertTopicArn: 'string',
  alertTopicKeyArn: 'string',
  alertTopic: 'topic',
  alertTopicKey: 'key',
  stateTableKey: 'key',
  notifyEmails: 'strings',
  memorySize: 'number',
  timeout: 'duration',
  logRetention: 'retention',
  logLevel: 'string',
  metricsNamespace: 'string',
  // Checked whole (every field, closest-key errors) by checkFleet in fleet-props.ts.
  fleet: 'object',
  dashboard: 'boolean',
  policyChecks: 'string',
};

/** Each pair of props that say the same thing two ways: at most one of each may be set. */
const EITHER: ReadonlyArray<[keyof AllowlistSyncProps, keyof AllowlistSyncProps]> = [
  ['alertTopic', 'alertTopicArn'],
  ['alertTopicKey', 'alertTopicKeyArn'],
  ['ocmCredentialsKey', 'ocmCredentialsKeyArn'],
];

/** The props object itself: an object, every key known, every value of its shape. */
export function checkPropShapes(props: unknown, fail: (prop: string, problem: string) => never): asserts props is AllowlistSyncProps {
  if (!SHAPES.object.test(props)) fail('props', `expected an object of AllowlistSyncProps, got ${show(props)}`);
  const given = props as Record<string, unknown>;
  checkShapes(given, PROP_SHAPES, 'a prop of AllowlistSync', fail);
  for (const [a, b] of EITHER) {
    if (given[a] !== undefined && given[b] !== undefined) fail(a, `and ${b} say the same thing; set one of them`);
  }
}

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
  checkPropShapes(props, fail);
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
  // A key given as an object is checked by its ARN where that is known (an alias is an IKey too, but an alias ARN
  // never matches the key in an IAM policy: the grant would not work).
  for (const prop of ['alertTopicKey', 'stateTableKey', 'ocmCredentialsKey'] as const) check(prop, props[prop]?.keyArn, v.checkKmsKeyArn);
  check('logLevel', props.logLevel, v.checkLogLevel);
  (props.notifyEmails ?? []).forEach((e) => check('notifyEmails', e, v.checkEmail));
  checkNum('retryAttempts', props.retryAttempts, 0, 185, true);
  checkNum('memorySize', props.memorySize, 128, 10_240, true);
  if (props.timeout) checkNum('timeout (seconds)', props.timeout.toSeconds(), 60, 900, true); // the OCM fetch alone may take 40 s
  if (props.maxEventAge) checkNum('maxEventAge (seconds)', props.maxEventAge.toSeconds(), 60, 86_400, true);
  if (props.policyChecks !== undefined && !['auto', 'off', 'required'].includes(props.policyChecks)) {
    fail('policyChecks', `must be auto, off or required, got ${show(props.policyChecks)}`);
  }
  if (props.existingPolicyArn && (props.policyName || props.policyPath || props.policyRemovalPolicy)) {
    fail('existingPolicyArn', 'an adopted policy is not created here, so policyName, policyPath and policyRemovalPolicy do not apply');
  }
  if (!props.alertTopicArn && !props.alertTopic && props.alertTopicKeyArn) fail('alertTopicKeyArn', 'only applies together with alertTopicArn or alertTopic');
  const givenKey = props.alertTopic?.masterKey;
  if (givenKey && props.alertTopicKey && givenKey !== props.alertTopicKey) {
    fail('alertTopicKey', `alertTopic already names its key (${show(givenKey.keyArn)}); leave alertTopicKey unset`);
  }
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
