/**
 * The inline-policy kind (lambda/kinds/inline-policy.ts): the TargetKind contract, then what is its own.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { renderDenyPolicy } from '../../lambda/allowlist';
import { inlinePolicyKind } from '../../lambda/kinds/inline-policy';
import type { SpecOf } from '../../lambda/kinds/kind';
import { parseTargetSpecs } from '../../lambda/kinds/specs';
import { trustPolicyKind } from '../../lambda/kinds/trust-policy';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT } from '../../lambda/targets/inline-policy';
import { describeKindContract, specOf } from './contract';

const RAW = { name: 'vendor', kind: 'inline-policy', roleName: 'VendorRole', policyName: 'deny-outside-vendor-ips', sources: ['static:100.130.1.0/24,100.130.2.0/24'] };
const OTHER = { name: 'contractors', kind: 'inline-policy', roleName: 'ContractorRole', policyName: 'deny-outside-office', sources: ['ocm', 'ssm:/allowlists/office'] };

describeKindContract(inlinePolicyKind, {
  raw: RAW,
  other: OTHER,
  invalid: [
    { what: 'a policy name with a space', raw: { ...RAW, policyName: 'deny outside' }, field: 'policyName' },
    { what: 'a policy name with a slash', raw: { ...RAW, policyName: 'deny/outside' }, field: 'policyName' },
    { what: 'a policy name that is a number', raw: { ...RAW, policyName: 7 }, field: 'policyName' },
    { what: 'a role name with a space', raw: { ...RAW, roleName: 'Vendor Role' }, field: 'roleName' },
    { what: 'an empty role name', raw: { ...RAW, roleName: '' }, field: 'roleName' },
  ],
});

describe('inline-policy', () => {
  const spec = (): SpecOf<'inline-policy'> => specOf(inlinePolicyKind, RAW);

  test('the key lower-cases the role name (IAM ignores its case), not the policy name', () => {
    expect(inlinePolicyKind.documentKey(spec())).toBe('inline:vendorrole/deny-outside-vendor-ips');
    expect(inlinePolicyKind.documentKey({ ...spec(), roleName: 'VENDORROLE' })).toBe('inline:vendorrole/deny-outside-vendor-ips');
    expect(inlinePolicyKind.documentKey({ ...spec(), policyName: 'Deny-Outside-Vendor-IPs' })).toBe('inline:vendorrole/Deny-Outside-Vendor-IPs');
    expect(() => parseTargetSpecs(JSON.stringify([RAW, { ...RAW, name: 'vendor-2', roleName: 'vendorrole' }]))).toThrow('ALLOWLIST_TARGETS (vendor-2) writes the same document as target vendor.');
  });

  test("an inline policy and the same role's trust policy are two documents (two writers may keep them)", () => {
    const trust = { name: 'vendor-trust', kind: 'trust-policy', roleName: 'VendorRole', principals: ['arn:aws:iam::123456789012:root'], sources: ['ocm'] };
    expect(inlinePolicyKind.documentKey(spec())).not.toBe(trustPolicyKind.documentKey(specOf(trustPolicyKind, trust)));
    expect(parseTargetSpecs(JSON.stringify([RAW, trust])).map((s) => s.name)).toEqual(['vendor', 'vendor-trust']);
  });

  test('the CLI spelling is ROLE/POLICY_NAME; without the slash it says what it expected', () => {
    expect(inlinePolicyKind.formatCli(spec())).toBe('iam-inline:VendorRole/deny-outside-vendor-ips');
    expect(inlinePolicyKind.parseCli('VendorRole', { principals: [] })).toBe('expected iam-inline:ROLE/POLICY_NAME, got "iam-inline:VendorRole"');
    expect(inlinePolicyKind.parseCli('Vendor Role/x', { principals: [] })).toEqual(expect.stringContaining('is not an IAM role name'));
    expect(inlinePolicyKind.parseCli('VendorRole/a/b', { principals: [] })).toEqual(expect.stringContaining('is not a valid IAM policy name'));
    expect(inlinePolicyKind.resource(spec())).toBe('role/VendorRole inline policy deny-outside-vendor-ips');
  });

  test("the room is the role's 10,240 for all its inline policies, not raisable", () => {
    expect(inlinePolicyKind.sizeLimit).toEqual({ default: ROLE_INLINE_POLICIES_SIZE_LIMIT, max: ROLE_INLINE_POLICIES_SIZE_LIMIT });
    expect(ROLE_INLINE_POLICIES_SIZE_LIMIT).toBe(10240);
  });

  test("reads the role's inline policies (to know the room left) and puts its own", () => {
    expect(inlinePolicyKind.actions).toEqual({ read: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListRolePolicies'], write: ['iam:PutRolePolicy'] });
  });

  test('the shape owns the whole document, like a managed policy', () => {
    const entries = ['100.130.1.0/24'];
    const foreign = { Version: '2012-10-17', Statement: [{ Sid: 'Other', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] };
    expect(inlinePolicyKind.shape(spec()).render(entries, foreign)).toEqual(renderDenyPolicy(entries));
  });

  test('the adapter keeps no versions', () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    expect(inlinePolicyKind.target(spec(), { iam: () => iam }).versioned).toBe(false);
    iam.destroy();
  });
});
