import { Token } from 'aws-cdk-lib';
import { DEFAULTS } from './defaults';
import { checkTarget } from './targets';
import type { AllowlistTargetConditions, AllowlistTargetGuards, AllowlistTargetProps } from './targets';
import * as v from '../lambda/validate';

/**
 * The fleet: one hub keeps the allowlist policy of every account of some organizational units, through a
 * service-managed StackSet of spoke roles (docs/fleet.md). Its props, their defaults and their validation, shared by
 * the construct (which names the `fleet` prop) and the context parser (which names the `fleet` key). Kept free of
 * constructs so either can use it before anything is built.
 */

/** Who the hub is to CloudFormation StackSets: the management account (`SELF`) or a delegated administrator. */
export type FleetCallAs = 'SELF' | 'DELEGATED_ADMIN';

/** Props of the fleet (the construct's `fleet` prop, the `fleet` context key). */
export interface FleetProps {
  /** Organizational units (`ou-...`) or the organization's root (`r-...`) whose accounts get the spoke stack; accounts that join them later get it too (auto-deployment). */
  readonly organizationalUnitIds: string[];
  /** The one region of the stack instances: IAM is global, so a second region would create the same role twice. @default - the hub stack's region */
  readonly region?: string;
  /** Name of the StackSet (the function finds the accounts by its stack instances). @default 'AllowlistSyncSpoke' */
  readonly stackSetName?: string;
  /** Name of the role the StackSet creates in every account and the hub assumes. @default 'AllowlistSyncSpoke' */
  readonly spokeRoleName?: string;
  /** `SELF` when the hub is the organization's management account, `DELEGATED_ADMIN` when it is a registered delegated administrator for StackSets. @default 'SELF' */
  readonly callAs?: FleetCallAs;
  /**
   * With `DELEGATED_ADMIN`, the management account's id: a delegated administrator's StackSet lives in the management
   * account, so this names it in the hub's `cloudformation:ListStackInstances` permission.
   * @default - any account (`*`) with DELEGATED_ADMIN, the hub's own with SELF
   */
  readonly managementAccountId?: string;
  /**
   * The organization's id (`o-...`): the hub may assume spoke roles only in it, and the spoke roles trust the hub only
   * from it. @default - the same conditions against the caller's own organization (`${aws:PrincipalOrgID}` / `${aws:ResourceOrgID}`)
   */
  readonly organizationId?: string;
  /** Accounts never deployed to (where the StackSet allows it) and never touched by the function. @default - none */
  readonly excludeAccounts?: string[];
  /** Name of the allowlist policy in every account. Immutable once deployed. @default 'rosa-trusted-ips' */
  readonly policyName?: string;
  /** IAM path of that policy. Immutable once deployed. @default '/' */
  readonly policyPath?: string;
  /** Roles (names; same in every account) the policy is attached to and kept attached to; an empty list attaches it nowhere. @default ['ManagedOpenShift-Support-Role'] */
  readonly rolesToProtect?: string[];
  /** The fleet's target name; each account is the target `NAME/ACCOUNT_ID` (results, alerts, metrics). @default 'fleet' */
  readonly name?: string;
  /** Take Red Hat OCM's trusted IP list (fetched once per run for all accounts). @default true */
  readonly ocm?: boolean;
  /** CIDRs always in the fleet's allowlist (a `static:` source). @default - none */
  readonly cidrs?: string[];
  /** Name of an SSM String or StringList parameter of the hub account holding more CIDRs (an `ssm:` source, read once per run for all accounts). @default - none */
  readonly cidrsParameterName?: string;
  /** Guard overrides for every account of the fleet. @default - the function's defaults */
  readonly guards?: AllowlistTargetGuards;
  /** Condition options of every account's deny statement (`vpcExemption`: VPC / VPC endpoint ids, the same in every account). @default - viaAwsServiceExemption on, kmsViaServiceExemption off */
  readonly conditions?: AllowlistTargetConditions;
  /** Keep only the sources' addresses inside these CIDRs, in every account. @default - all */
  readonly include?: string[];
  /** Leave out the sources' addresses inside these CIDRs, in every account. @default - none */
  readonly exclude?: string[];
  /** Attach the policy again to a role of rolesToProtect found without it (false: only alert). @default true */
  readonly reattach?: boolean;
  /** Plan and alert, never write, in every account. @default false */
  readonly dryRun?: boolean;
  /** StackSet operations stop in the region once more than this percentage of accounts failed. @default 25 */
  readonly failureTolerancePercentage?: number;
  /** At most this percentage of accounts is deployed to at once. @default 25 */
  readonly maxConcurrentPercentage?: number;
}

/** The fleet props that have a default: filled in once checked. */
type Defaulted = 'stackSetName' | 'spokeRoleName' | 'callAs' | 'excludeAccounts' | 'policyName' | 'policyPath' | 'rolesToProtect' | 'name' | 'ocm' | 'failureTolerancePercentage' | 'maxConcurrentPercentage';

/** The fleet with every default filled in, validated (`region` undefined: the hub stack's region). */
export type CheckedFleet = Readonly<Required<Pick<FleetProps, Defaulted | 'organizationalUnitIds'>>> & Omit<FleetProps, Defaulted | 'organizationalUnitIds'>;

/** Defaults of the fleet (also the function's default role name, `AllowlistSyncSpoke`). */
export const FLEET_DEFAULTS = {
  stackSetName: 'AllowlistSyncSpoke',
  spokeRoleName: 'AllowlistSyncSpoke',
  callAs: 'SELF' as FleetCallAs,
  policyName: DEFAULTS.allowlistName,
  policyPath: '/',
  rolesToProtect: ['ManagedOpenShift-Support-Role'],
  name: 'fleet',
  failureTolerancePercentage: 25,
  maxConcurrentPercentage: 25,
} as const;

/** The accepted values of `callAs`. */
export const FLEET_CALL_AS: readonly FleetCallAs[] = ['SELF', 'DELEGATED_ADMIN'];

/** A fleet setting that cannot be used: the field (`organizationalUnitIds`) and why. */
export class FleetError extends Error {
  constructor(
    /** The offending field of the fleet object, when one is to blame. */
    public readonly field: string | undefined,
    /** What is wrong. */
    public readonly problem: string,
  ) {
    super(`${field ? `fleet.${field}` : 'fleet'}: ${problem}`);
    this.name = 'FleetError';
  }
}

type FieldType = 'string' | 'strings' | 'boolean' | 'number' | 'object';
const FIELDS: Record<keyof FleetProps, FieldType> = {
  organizationalUnitIds: 'strings',
  region: 'string',
  stackSetName: 'string',
  spokeRoleName: 'string',
  callAs: 'string',
  managementAccountId: 'string',
  organizationId: 'string',
  excludeAccounts: 'strings',
  policyName: 'string',
  policyPath: 'string',
  rolesToProtect: 'strings',
  name: 'string',
  ocm: 'boolean',
  cidrs: 'strings',
  cidrsParameterName: 'string',
  guards: 'object',
  conditions: 'object',
  include: 'strings',
  exclude: 'strings',
  reattach: 'boolean',
  dryRun: 'boolean',
  failureTolerancePercentage: 'number',
  maxConcurrentPercentage: 'number',
};

/** The fleet's target name must leave room for `/ACCOUNT_ID` within the function's 64 characters. */
const MAX_FLEET_NAME = 64 - 13;
const OU_ID = /^(?:ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/;
const ACCOUNT_ID = /^\d{12}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const STACK_SET_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

const literal = (s: string) => !Token.isUnresolved(s);

/**
 * Validates the fleet (from code, or parsed JSON from the context) and fills in the defaults; throws a
 * {@link FleetError} naming the field. Unknown fields are refused, the closest known one named.
 */
export function checkFleet(value: unknown): CheckedFleet {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FleetError(undefined, `expected an object such as {"organizationalUnitIds":["ou-abcd-12345678"]}, got ${JSON.stringify(value)}`);
  }
  const raw = value as Record<string, unknown>;
  const fail = (field: string | undefined, problem: string): never => {
    throw new FleetError(field, problem);
  };
  for (const [field, fieldValue] of Object.entries(raw)) {
    if (fieldValue === undefined) continue;
    const type = FIELDS[field as keyof FleetProps];
    if (!type) fail(field, v.unknownField(field, Object.keys(FIELDS), 'a fleet setting'));
    const ok =
      type === 'strings'
        ? Array.isArray(fieldValue) && fieldValue.every((s) => typeof s === 'string')
        : type === 'object'
          ? typeof fieldValue === 'object' && fieldValue !== null && !Array.isArray(fieldValue)
          : typeof fieldValue === type;
    if (!ok) fail(field, `expected ${type === 'strings' ? 'a list of strings' : type === 'object' ? 'an object' : `a ${type}`}, got ${JSON.stringify(fieldValue)}`);
  }
  const f = raw as Partial<FleetProps>;
  const check = (field: keyof FleetProps, s: string | undefined, test: (s: string) => string | undefined) => {
    if (s === undefined || !literal(s)) return;
    const problem = test(s);
    if (problem) fail(field, problem);
  };
  const pattern = (re: RegExp, what: string) => (s: string) => (re.test(s) ? undefined : `"${s}" is not ${what}`);
  const uniqueList = (field: keyof FleetProps, list: string[] | undefined, test: (s: string) => string | undefined) => {
    const seen = new Set<string>();
    for (const item of list ?? []) {
      check(field, item, test);
      if (seen.has(item.toLowerCase())) fail(field, `"${item}" is listed twice`);
      seen.add(item.toLowerCase());
    }
  };

  if (f.organizationalUnitIds === undefined) fail('organizationalUnitIds', 'is required: the OUs (ou-...) or the root (r-...) whose accounts the fleet covers');
  if (f.organizationalUnitIds?.length === 0) fail('organizationalUnitIds', 'is empty: name at least one OU (ou-...) or the root (r-...)');
  uniqueList('organizationalUnitIds', f.organizationalUnitIds, pattern(OU_ID, 'an organizational unit id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)'));
  check('region', f.region, pattern(REGION, 'an AWS region (such as eu-west-1)'));
  check('stackSetName', f.stackSetName, pattern(STACK_SET_NAME, 'a StackSet name (1-128 letters, digits, hyphens; starting with a letter)'));
  check('spokeRoleName', f.spokeRoleName, v.checkRoleName);
  if (f.callAs !== undefined && !FLEET_CALL_AS.includes(f.callAs)) fail('callAs', `${JSON.stringify(f.callAs)} is not one of ${FLEET_CALL_AS.join(', ')}`);
  const callAs = f.callAs ?? FLEET_DEFAULTS.callAs;
  check('managementAccountId', f.managementAccountId, pattern(ACCOUNT_ID, 'an AWS account id (12 digits)'));
  if (f.managementAccountId !== undefined && callAs !== 'DELEGATED_ADMIN') {
    fail('managementAccountId', 'only applies with callAs DELEGATED_ADMIN (with SELF the hub is the management account)');
  }
  check('organizationId', f.organizationId, pattern(ORGANIZATION_ID, 'an organization id (o-xxxxxxxxxx)'));
  uniqueList('excludeAccounts', f.excludeAccounts, pattern(ACCOUNT_ID, 'an AWS account id (12 digits)'));
  if (f.managementAccountId && f.excludeAccounts?.includes(f.managementAccountId)) {
    fail('excludeAccounts', `${f.managementAccountId} is the management account, which a service-managed StackSet never deploys to anyway`);
  }
  uniqueList('rolesToProtect', f.rolesToProtect, v.checkRoleName);
  const spokeRoleName = f.spokeRoleName ?? FLEET_DEFAULTS.spokeRoleName;
  const lockedOut = (f.rolesToProtect ?? []).find((r) => literal(r) && literal(spokeRoleName) && r.toLowerCase() === spokeRoleName.toLowerCase());
  if (lockedOut) fail('rolesToProtect', `"${lockedOut}" is the spoke role: the allowlist on it would lock the hub out of the policy it keeps`);
  const name = f.name ?? FLEET_DEFAULTS.name;
  check('name', name, (s) => v.checkAllowlistName(s) ?? (s.length > MAX_FLEET_NAME ? `"${s}" is longer than ${MAX_FLEET_NAME} characters (each account is the target NAME/ACCOUNT_ID, at most 64)` : undefined));
  for (const field of ['failureTolerancePercentage', 'maxConcurrentPercentage'] as const) {
    const n = f[field];
    if (n === undefined || Token.isUnresolved(n)) continue;
    const problem = v.checkNumber(n, field === 'maxConcurrentPercentage' ? 1 : 0, 100, true);
    if (problem) fail(field, problem);
  }

  const checked: CheckedFleet = {
    organizationalUnitIds: [...(f.organizationalUnitIds as string[])],
    ...(f.region !== undefined ? { region: f.region } : {}),
    stackSetName: f.stackSetName ?? FLEET_DEFAULTS.stackSetName,
    spokeRoleName,
    callAs,
    ...(f.managementAccountId !== undefined ? { managementAccountId: f.managementAccountId } : {}),
    ...(f.organizationId !== undefined ? { organizationId: f.organizationId } : {}),
    excludeAccounts: [...(f.excludeAccounts ?? [])],
    policyName: f.policyName ?? FLEET_DEFAULTS.policyName,
    policyPath: f.policyPath ?? FLEET_DEFAULTS.policyPath,
    rolesToProtect: [...(f.rolesToProtect ?? FLEET_DEFAULTS.rolesToProtect)],
    name,
    ocm: f.ocm ?? true,
    ...(f.cidrs !== undefined ? { cidrs: [...f.cidrs] } : {}),
    ...(f.cidrsParameterName !== undefined ? { cidrsParameterName: f.cidrsParameterName } : {}),
    ...(f.guards !== undefined ? { guards: f.guards } : {}),
    // Copied as given: checkTarget below checks their shapes (a string where a list belongs is refused, not spread).
    ...(f.conditions !== undefined ? { conditions: { ...f.conditions } } : {}),
    ...(f.include !== undefined ? { include: [...f.include] } : {}),
    ...(f.exclude !== undefined ? { exclude: [...f.exclude] } : {}),
    ...(f.reattach !== undefined ? { reattach: f.reattach } : {}),
    ...(f.dryRun !== undefined ? { dryRun: f.dryRun } : {}),
    failureTolerancePercentage: f.failureTolerancePercentage ?? FLEET_DEFAULTS.failureTolerancePercentage,
    maxConcurrentPercentage: f.maxConcurrentPercentage ?? FLEET_DEFAULTS.maxConcurrentPercentage,
  };
  // Sources, guards, the policy's name and path, the roles: the same checks as any managed-policy target.
  const FIELD_OF: Record<string, string> = { attachToRoles: 'rolesToProtect' };
  if (!checked.ocm && !checked.cidrs?.length && checked.cidrsParameterName === undefined) {
    fail('ocm', 'is false and neither cidrs nor cidrsParameterName is given: the fleet needs a source (leave ocm true, or give cidrs or cidrsParameterName)');
  }
  if (checked.reattach !== undefined && checked.rolesToProtect.length === 0) fail('reattach', 'has no effect with rolesToProtect empty: there is no attachment to keep');
  checkTarget({ ...fleetAsTarget(checked) }, (field, problem) => fail(field === undefined ? undefined : (FIELD_OF[field] ?? field), problem));
  return checked;
}

/** The fleet as a managed-policy target, for the checks every target goes through. */
export function fleetAsTarget(fleet: CheckedFleet): AllowlistTargetProps {
  return {
    name: fleet.name,
    kind: 'managed-policy',
    ocm: fleet.ocm,
    ...(fleet.cidrs !== undefined ? { cidrs: fleet.cidrs } : {}),
    ...(fleet.cidrsParameterName !== undefined ? { cidrsParameterName: fleet.cidrsParameterName } : {}),
    ...(fleet.guards !== undefined ? { guards: fleet.guards } : {}),
    ...(fleet.conditions !== undefined ? { conditions: fleet.conditions } : {}),
    ...(fleet.include !== undefined ? { include: fleet.include } : {}),
    ...(fleet.exclude !== undefined ? { exclude: fleet.exclude } : {}),
    ...(fleet.dryRun !== undefined ? { dryRun: fleet.dryRun } : {}),
    policyName: fleet.policyName,
    policyPath: fleet.policyPath,
    ...(fleet.rolesToProtect.length ? { attachToRoles: fleet.rolesToProtect } : {}),
  };
}

/**
 * The `fleet` context key: a JSON object on the command line (`-c fleet='{"organizationalUnitIds":[...]}'`), or an
 * object in cdk.json. Undefined when unset.
 */
export function parseFleetContext(value: unknown): FleetProps | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new FleetError(undefined, `is not valid JSON (${(err as Error).message}); quote it for the shell: -c fleet='{"organizationalUnitIds":["ou-..."]}'`);
    }
  }
  checkFleet(parsed);
  return parsed as FleetProps;
}
