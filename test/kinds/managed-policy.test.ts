/**
 * The managed-policy kind (lambda/kinds/managed-policy.ts): the TargetKind contract, then what is its own.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { MANAGED_POLICY_SIZE_LIMIT, renderDenyPolicy } from '../../lambda/allowlist';
import type { SpecOf } from '../../lambda/kinds/kind';
import { managedPolicyKind } from '../../lambda/kinds/managed-policy';
import { describeKindContract, specOf } from './contract';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const ATTACH = { attachToRoles: ['ManagedOpenShift-Support-Role'], attachToUsers: ['arn:aws:iam::123456789012:user/ci/runner'], attachToGroups: ['admins'], reattach: true };
const RAW = { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: ARN, sources: ['ocm'], ...ATTACH };
const OTHER = { name: 'ci-machines', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/allowlists/ci-machines', sources: ['static:203.0.113.64/26'], ...ATTACH, reattach: false };

describeKindContract(managedPolicyKind, {
  raw: RAW,
  other: OTHER,
  invalid: [
    { what: 'a policy name, not an ARN', raw: { ...RAW, policyArn: 'rosa-trusted-ips' }, field: 'policyArn' },
    { what: 'an AWS managed policy', raw: { ...RAW, policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, field: 'policyArn' },
    { what: 'a role ARN', raw: { ...RAW, policyArn: 'arn:aws:iam::123456789012:role/rosa' }, field: 'policyArn' },
    { what: 'a number', raw: { ...RAW, policyArn: 123456789012 }, field: 'policyArn' },
    { what: 'a user ARN among the roles', raw: { ...RAW, attachToRoles: ['arn:aws:iam::123456789012:user/alice'] }, field: 'attachToRoles' },
    { what: 'a role name with a space', raw: { ...RAW, attachToRoles: ['not a role'] }, field: 'attachToRoles' },
    { what: 'a group list that is a string', raw: { ...RAW, attachToGroups: 'admins' }, field: 'attachToGroups' },
    { what: 'reattach as a string', raw: { ...RAW, reattach: 'yes' }, field: 'reattach' },
  ],
});

describe('managed-policy', () => {
  const spec = (): SpecOf<'managed-policy'> => specOf(managedPolicyKind, RAW);

  test('the policy ARN is the document key, the resource and the CLI spelling', () => {
    expect(managedPolicyKind.documentKey(spec())).toBe(ARN);
    expect(managedPolicyKind.resource(spec())).toBe(ARN);
    expect(managedPolicyKind.formatCli(spec())).toBe(`iam:${ARN}`);
  });

  test('an AWS managed policy is refused on the CLI too, with the reason', () => {
    expect(managedPolicyKind.parseCli('arn:aws:iam::aws:policy/ReadOnlyAccess', { principals: [] })).toBe(
      '"arn:aws:iam::aws:policy/ReadOnlyAccess" is an AWS managed policy; only a customer managed policy can be adopted',
    );
    expect(managedPolicyKind.parseCli('rosa-trusted-ips', { principals: [] })).toEqual(expect.stringContaining('is not an IAM policy ARN'));
  });

  test("IAM's 6,144 is the limit, and no quota raises it", () => {
    expect(managedPolicyKind.sizeLimit).toEqual({ default: MANAGED_POLICY_SIZE_LIMIT, max: MANAGED_POLICY_SIZE_LIMIT });
    expect(MANAGED_POLICY_SIZE_LIMIT).toBe(6144);
  });

  test('reads and writes versions only (and reads its attachments): no tag action (the alert state lives in the state table)', () => {
    expect(managedPolicyKind.actions).toEqual({
      read: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy'],
      write: ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
    });
    expect([...managedPolicyKind.actions.read, ...managedPolicyKind.actions.write].filter((a) => /Tag/.test(a))).toEqual([]);
  });

  test('the shape owns the whole document, with the spec\'s conditions', () => {
    const entries = ['192.0.2.0/24'];
    const foreign = { Version: '2012-10-17', Statement: [{ Sid: 'Other', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] };
    expect(managedPolicyKind.shape(spec()).render(entries, foreign)).toEqual(renderDenyPolicy(entries));
    const conditions = { viaAwsServiceExemption: false, kmsViaServiceExemption: true };
    expect(managedPolicyKind.shape({ ...spec(), conditions }).render(entries, undefined)).toEqual(renderDenyPolicy(entries, conditions));
  });

  test('the adapter keeps versions (IAM does) and is named after the ARN', () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const target = managedPolicyKind.target(spec(), { iam: () => iam });
    expect(target.versioned).toBe(true);
    expect(target.name).toBe(`iam:${ARN}`);
    iam.destroy();
  });
});
