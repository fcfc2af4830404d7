import { checkIamPath, checkPolicyName, checkRoleName, parsePrincipal } from '../validate';
import { stringField } from './fields';
import type { CallAs, Fail, FleetAccounts, FleetSpec, TargetSpecBase } from './kind';

// The fleet fields of a `managed-policy` entry of ALLOWLIST_TARGETS (`accounts` and what goes with it), checked
// here; what a fleet becomes at run time (one target per account) is lambda/fleet.ts.

/** The fields only a fleet entry (one with `accounts`) carries, beyond attachToRoles and reattach. */
export const FLEET_FIELDS = ['accounts', 'policyName', 'policyPath', 'assumeRoleName', 'callAs', 'excludeAccounts'] as const;

/** The spoke role's name when a fleet entry does not name one (the spoke StackSet's default too). */
export const DEFAULT_SPOKE_ROLE_NAME = 'AllowlistSyncSpoke';

/** An AWS account id. */
export const ACCOUNT_ID = /^\d{12}$/;

/** CloudFormation's rule for a StackSet name: a letter, then letters, digits and dashes, 128 at most. */
const STACK_SET_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

const CALL_AS: readonly CallAs[] = ['SELF', 'DELEGATED_ADMIN'];

/** The StackSet a fleet's accounts come from, or undefined for a list. */
export function stackSetOf(accounts: FleetAccounts): string | undefined {
  return typeof accounts === 'string' ? accounts.slice('stackset:'.length) : undefined;
}

/** A list of account ids: 12 digits each, no duplicates; `empty` says whether an empty list is allowed. */
function accountList(value: unknown, field: string, fail: Fail, empty: boolean): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || (!empty && value.length === 0)) {
    return fail(field, `must be ${empty ? 'a' : 'a non-empty'} list of 12-digit AWS account ids${field === 'accounts' ? ' or "stackset:NAME"' : ''}, got ${JSON.stringify(value)}`);
  }
  const seen = new Set<string>();
  for (const id of value as string[]) {
    if (!ACCOUNT_ID.test(id)) fail(field, `"${id}" is not an AWS account id (12 digits)`);
    if (seen.has(id)) fail(field, `lists account ${id} twice`);
    seen.add(id);
  }
  return [...(value as string[])];
}

function accountsField(value: unknown, fail: Fail): FleetAccounts {
  if (typeof value !== 'string') return accountList(value, 'accounts', fail, false);
  if (!value.startsWith('stackset:')) return fail('accounts', `must be a list of 12-digit AWS account ids or "stackset:NAME", got ${JSON.stringify(value)}`);
  const name = stackSetOf(value as FleetAccounts) ?? '';
  if (!STACK_SET_NAME.test(name)) fail('accounts', `"${value}" does not name a StackSet (a letter, then letters, digits and dashes, 128 at most)`);
  return value as FleetAccounts;
}

/**
 * The fleet fields of a raw entry that carries `accounts`, checked: the policy by name (never by ARN: an ARN names
 * one account), the role to assume, where the accounts come from. Attachments only to roles, by name: the spoke
 * role may attach the policy to its account's roles and nothing else.
 */
export function fleetFields(raw: Record<string, unknown>, fail: Fail): Omit<FleetSpec, keyof TargetSpecBase | 'kind'> {
  if (raw.policyArn !== undefined) fail('policyArn', 'and "accounts" exclude each other: a fleet names its policy by "policyName" (and "policyPath"), the same in every account');
  for (const field of ['attachToUsers', 'attachToGroups'] as const) {
    if (raw[field] !== undefined) fail(field, 'is not available to a fleet: the spoke role may attach the policy to roles only (attachToRoles)');
  }
  const accounts = accountsField(raw.accounts, fail);
  const out: Omit<FleetSpec, keyof TargetSpecBase | 'kind'> = { accounts, policyName: stringField(raw, 'policyName', fail, checkPolicyName) };
  if (raw.policyPath !== undefined) out.policyPath = stringField(raw, 'policyPath', fail, checkIamPath);
  if (raw.assumeRoleName !== undefined) out.assumeRoleName = stringField(raw, 'assumeRoleName', fail, checkRoleName);
  if (raw.callAs !== undefined) {
    if (typeof accounts !== 'string') fail('callAs', 'is only for "accounts": "stackset:NAME" (it is how ListStackInstances is called)');
    if (!(CALL_AS as readonly unknown[]).includes(raw.callAs)) fail('callAs', `must be "SELF" or "DELEGATED_ADMIN", got ${JSON.stringify(raw.callAs)}`);
    out.callAs = raw.callAs as CallAs;
  }
  if (raw.excludeAccounts !== undefined) {
    out.excludeAccounts = accountList(raw.excludeAccounts, 'excludeAccounts', fail, true);
    if (Array.isArray(accounts) && accounts.every((id) => out.excludeAccounts?.includes(id))) fail('excludeAccounts', 'leaves no account of "accounts" to keep');
  }
  if (raw.attachToRoles !== undefined) {
    const roles = raw.attachToRoles;
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return fail('attachToRoles', 'must be a list of IAM role names');
    for (const role of roles as string[]) {
      // An ARN names one account's role; a fleet's roles are the same names in every account.
      if (role.startsWith('arn:')) fail('attachToRoles', `"${role}" is an ARN; a fleet names its roles by name (the same in every account)`);
      const ref = parsePrincipal('role', role);
      if (typeof ref === 'string') fail('attachToRoles', ref);
    }
    out.attachToRoles = [...(roles as string[])];
  }
  if (raw.reattach !== undefined) {
    if (typeof raw.reattach !== 'boolean') fail('reattach', 'must be true or false');
    out.reattach = raw.reattach as boolean;
  }
  return out;
}
