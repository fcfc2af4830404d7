import { MANAGED_POLICY_SIZE_LIMIT, managedPolicyShape } from '../allowlist';
import { managedPolicyTarget } from '../targets/managed-policy';
import { checkPolicyArn } from '../validate';
import { stringField } from './fields';
import type { TargetKind } from './kind';

/** A customer managed policy: the tool owns the whole document; versions are IAM's. */
export const managedPolicyKind: TargetKind<'managed-policy'> = {
  kind: 'managed-policy',
  title: 'managed policy',
  deployable: true,
  fields: ['policyArn'],
  validate: (raw, fail) => ({ policyArn: stringField(raw, 'policyArn', fail, checkPolicyArn) }),
  documentKey: (spec) => spec.policyArn,
  sizeLimit: { default: MANAGED_POLICY_SIZE_LIMIT, max: MANAGED_POLICY_SIZE_LIMIT },
  actions: {
    // No tag actions: the alert state lives in the state table, never on the resource it protects.
    read: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions'],
    write: ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
  },
  prefix: 'iam',
  parseCli: (argument) => checkPolicyArn(argument) ?? { policyArn: argument },
  formatCli: (spec) => `iam:${spec.policyArn}`,
  shape: (spec) => managedPolicyShape(spec.conditions ?? {}),
  target: (spec, deps) => managedPolicyTarget(deps.iam(), spec.policyArn, { ...(deps.log ? { log: deps.log } : {}), ...(deps.confirmDelaysMs ? { confirmDelaysMs: deps.confirmDelaysMs } : {}) }),
  resource: (spec) => spec.policyArn,
};
