import { MANAGED_POLICY_SIZE_LIMIT, managedPolicyShape } from '../allowlist';
import { managedPolicyTarget } from '../targets/managed-policy';
import { checkPolicyArn, parsePrincipal, shown } from '../validate';
import type { PrincipalKind } from '../validate';
import { stringField } from './fields';
import type { Fail, OwnFields, TargetKind } from './kind';

const ATTACH_FIELDS: ReadonlyArray<['attachToRoles' | 'attachToUsers' | 'attachToGroups', PrincipalKind]> = [
  ['attachToRoles', 'role'],
  ['attachToUsers', 'user'],
  ['attachToGroups', 'group'],
];

/** The optional attachment fields: lists of principal names or ARNs, and `reattach`. */
function attachmentFields(raw: Record<string, unknown>, fail: Fail): Omit<OwnFields<'managed-policy'>, 'policyArn'> {
  const out: Omit<OwnFields<'managed-policy'>, 'policyArn'> = {};
  for (const [field, kind] of ATTACH_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail(field, `must be a list of IAM ${kind} names or ARNs, got ${shown(value)}`);
    for (const item of value as string[]) {
      const ref = parsePrincipal(kind, item);
      if (typeof ref === 'string') fail(field, ref);
    }
    out[field] = [...(value as string[])];
  }
  if (raw.reattach !== undefined) {
    if (typeof raw.reattach !== 'boolean') fail('reattach', `must be true or false, got ${shown(raw.reattach)}`);
    out.reattach = raw.reattach as boolean;
  }
  return out;
}

/** A customer managed policy: the tool owns the whole document; versions are IAM's. */
export const managedPolicyKind: TargetKind<'managed-policy'> = {
  kind: 'managed-policy',
  title: 'managed policy',
  deployable: true,
  fields: ['policyArn', 'attachToRoles', 'attachToUsers', 'attachToGroups', 'reattach'],
  optionalFields: ['attachToRoles', 'attachToUsers', 'attachToGroups', 'reattach'],
  validate: (raw, fail) => ({ policyArn: stringField(raw, 'policyArn', fail, checkPolicyArn), ...attachmentFields(raw, fail) }),
  documentKey: (spec) => spec.policyArn,
  sizeLimit: { default: MANAGED_POLICY_SIZE_LIMIT, max: MANAGED_POLICY_SIZE_LIMIT },
  actions: {
    // No tag actions: the alert state lives in the state table, never on the resource it protects.
    // ListEntitiesForPolicy: whether the policy is still attached where it must be (attachTo*).
    read: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy'],
    write: ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
  },
  prefix: 'iam',
  parseCli: (argument) => checkPolicyArn(argument) ?? { policyArn: argument },
  formatCli: (spec) => `iam:${spec.policyArn}`,
  policyType: 'identity',
  shape: (spec) => managedPolicyShape(spec.conditions ?? {}),
  target: (spec, deps) => managedPolicyTarget(deps.iam(), spec.policyArn, { ...(deps.log ? { log: deps.log } : {}), ...(deps.confirmDelaysMs ? { confirmDelaysMs: deps.confirmDelaysMs } : {}) }),
  resource: (spec) => spec.policyArn,
};
