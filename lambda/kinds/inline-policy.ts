import { managedPolicyShape } from '../allowlist';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT, inlinePolicyTarget } from '../targets/inline-policy';
import { checkPolicyName, checkRoleName } from '../validate';
import { stringField } from './fields';
import type { TargetKind } from './kind';

/** An inline deny policy on a role: the tool owns the whole document; its room is what the role's other inline policies leave of 10,240. */
export const inlinePolicyKind: TargetKind<'inline-policy'> = {
  kind: 'inline-policy',
  title: 'inline policy',
  deployable: true,
  fields: ['roleName', 'policyName'],
  validate: (raw, fail) => ({ roleName: stringField(raw, 'roleName', fail, checkRoleName), policyName: stringField(raw, 'policyName', fail, checkPolicyName) }),
  documentKey: (spec) => `inline:${spec.roleName.toLowerCase()}/${spec.policyName}`,
  sizeLimit: { default: ROLE_INLINE_POLICIES_SIZE_LIMIT, max: ROLE_INLINE_POLICIES_SIZE_LIMIT },
  actions: { read: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies'], write: ['iam:PutRolePolicy'] },
  prefix: 'iam-inline',
  parseCli: (argument) => {
    const slash = argument.indexOf('/');
    if (slash === -1) return `expected iam-inline:ROLE/POLICY_NAME, got "iam-inline:${argument}"`;
    const [roleName, policyName] = [argument.slice(0, slash), argument.slice(slash + 1)];
    return checkRoleName(roleName) ?? checkPolicyName(policyName) ?? { roleName, policyName };
  },
  formatCli: (spec) => `iam-inline:${spec.roleName}/${spec.policyName}`,
  policyType: 'identity',
  shape: (spec) => managedPolicyShape(spec.conditions ?? {}),
  target: (spec, deps) => inlinePolicyTarget(deps.iam(), spec.roleName, spec.policyName, deps.log ? { log: deps.log } : {}),
  lane: (spec) => `role:${spec.roleName.toLowerCase()}`,
  resource: (spec) => `role/${spec.roleName} inline policy ${spec.policyName}`,
};
