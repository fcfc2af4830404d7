import { TRUST_POLICY_SIZE_LIMIT, trustPolicyShape } from '../allowlist/trust-policy';
import { trustPolicyTarget } from '../targets/trust-policy';
import { checkAssumingPrincipalArn, checkRoleName } from '../validate';
import { stringField, stringListField } from './fields';
import type { TargetKind } from './kind';

/** A role's trust policy: the tool owns one Deny of sts:AssumeRole (by its Sid), every other statement stays. */
export const trustPolicyKind: TargetKind<'trust-policy'> = {
  kind: 'trust-policy',
  title: 'trust policy',
  deployable: true,
  fields: ['roleName', 'principals'],
  validate: (raw, fail) => ({
    roleName: stringField(raw, 'roleName', fail, checkRoleName),
    principals: stringListField(raw, 'principals', fail, checkAssumingPrincipalArn, 'must be a non-empty list of IAM principal ARNs (the deny must name who it applies to)'),
  }),
  documentKey: (spec) => `trust:${spec.roleName.toLowerCase()}`,
  // 2,048 by default ("Role trust policy length"), 4,096 at most once the quota is raised.
  sizeLimit: { default: TRUST_POLICY_SIZE_LIMIT, max: 4096 },
  actions: { read: ['iam:GetRole'], write: ['iam:UpdateAssumeRolePolicy'] },
  prefix: 'iam-trust',
  parseCli: (argument, { principals }) => {
    const bad = checkRoleName(argument);
    if (bad) return bad;
    if (principals.length === 0) return 'A trust policy target needs --principal ARN (repeatable): the principals the deny applies to.';
    const wrong = principals.map(checkAssumingPrincipalArn).find((p) => p !== undefined);
    return wrong ?? { roleName: argument, principals: [...principals] };
  },
  formatCli: (spec) => `iam-trust:${spec.roleName} ${spec.principals.map((p) => `--principal ${p}`).join(' ')}`,
  policyType: 'trust',
  shape: (spec) => trustPolicyShape(spec.principals, spec.conditions ?? {}),
  target: (spec, deps) => trustPolicyTarget(deps.iam(), spec.roleName, { sizeLimit: spec.guards?.sizeLimit ?? TRUST_POLICY_SIZE_LIMIT, ...(deps.log ? { log: deps.log } : {}) }),
  lane: (spec) => `role:${spec.roleName.toLowerCase()}`,
  resource: (spec) => `role/${spec.roleName} (trust policy)`,
};
