/**
 * The trust-policy kind (lambda/kinds/trust-policy.ts): the TargetKind contract, then what is its own.
 */
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { ALLOWLIST_SID } from '../../lambda/allowlist';
import { TRUST_POLICY_SIZE_LIMIT } from '../../lambda/allowlist/trust-policy';
import type { SpecOf } from '../../lambda/kinds/kind';
import { parseTargetSpecs } from '../../lambda/kinds/specs';
import { trustPolicyKind } from '../../lambda/kinds/trust-policy';
import { describeKindContract, failureOf, specOf } from './contract';

const ROOT = 'arn:aws:iam::123456789012:root';
const RAW = { name: 'break-glass-vpn', kind: 'trust-policy', roleName: 'BreakGlass', principals: [ROOT], sources: ['ssm:/allowlists/office-vpn'] };
const OTHER = {
  name: 'vendor-access',
  kind: 'trust-policy',
  roleName: 'VendorAccess',
  principals: ['arn:aws:iam::123456789012:role/ops/Operator', 'arn:aws:sts::123456789012:assumed-role/Support/alice'],
  sources: ['ocm'],
};
const ADMINS_ALLOW = { Sid: 'Admins', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'sts:AssumeRole' };

describeKindContract(trustPolicyKind, {
  raw: RAW,
  other: OTHER,
  invalid: [
    { what: 'a principal that is not an ARN', raw: { ...RAW, principals: ['bob'] }, field: 'principals' },
    { what: 'a principal that is a policy ARN', raw: { ...RAW, principals: [ROOT, 'arn:aws:iam::123456789012:policy/x'] }, field: 'principals' },
    { what: 'no principals', raw: { ...RAW, principals: [] }, field: 'principals' },
    { what: 'principals as one string', raw: { ...RAW, principals: ROOT }, field: 'principals' },
    { what: 'a role name with a space', raw: { ...RAW, roleName: 'Break Glass' }, field: 'roleName' },
    { what: 'a role ARN for a role name', raw: { ...RAW, roleName: 'arn:aws:iam::123456789012:role/BreakGlass' }, field: 'roleName' },
  ],
});

describe('trust-policy', () => {
  const spec = (): SpecOf<'trust-policy'> => specOf(trustPolicyKind, RAW);

  test('refuses a principal that is not an ARN, in a spec and on the CLI, and a CLI target without --principal', () => {
    expect(failureOf(trustPolicyKind, { ...RAW, principals: ['bob'] })).toMatchObject({ field: 'principals', problem: expect.stringContaining('"bob" is not an IAM principal ARN') });
    expect(trustPolicyKind.parseCli('BreakGlass', { principals: ['bob'] })).toEqual(expect.stringContaining('"bob" is not an IAM principal ARN'));
    expect(trustPolicyKind.parseCli('BreakGlass', { principals: [] })).toBe('A trust policy target needs --principal ARN (repeatable): the principals the deny applies to.');
    expect(() => parseTargetSpecs(JSON.stringify([{ ...RAW, principals: ['bob'] }]))).toThrow('ALLOWLIST_TARGETS [0] (break-glass-vpn) "principals" "bob" is not an IAM principal ARN');
  });

  test('the key is the role, lower-cased (IAM role names ignore case): one writer per role, whatever the principals', () => {
    expect(trustPolicyKind.documentKey(spec())).toBe('trust:breakglass');
    expect(trustPolicyKind.documentKey({ ...spec(), roleName: 'BREAKGLASS', principals: OTHER.principals })).toBe('trust:breakglass');
    expect(() => parseTargetSpecs(JSON.stringify([RAW, { ...OTHER, roleName: 'breakglass' }]))).toThrow('ALLOWLIST_TARGETS (vendor-access) writes the same document as target break-glass-vpn.');
  });

  test('the CLI spelling repeats --principal for each principal', () => {
    expect(trustPolicyKind.formatCli(specOf(trustPolicyKind, OTHER))).toBe(
      'iam-trust:VendorAccess --principal arn:aws:iam::123456789012:role/ops/Operator --principal arn:aws:sts::123456789012:assumed-role/Support/alice',
    );
    expect(trustPolicyKind.resource(spec())).toBe('role/BreakGlass (trust policy)');
  });

  test('2,048 by default, 4,096 at most; the adapter takes a raised limit from guards.sizeLimit', async () => {
    expect(trustPolicyKind.sizeLimit).toEqual({ default: TRUST_POLICY_SIZE_LIMIT, max: 4096 });
    expect(TRUST_POLICY_SIZE_LIMIT).toBe(2048);
    const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
    const iamMock = mockClient(iam);
    try {
      const document = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [ADMINS_ALLOW] }));
      iamMock.on(GetRoleCommand, { RoleName: 'BreakGlass' }).resolves({ Role: { RoleName: 'BreakGlass', Arn: 'arn:aws:iam::123456789012:role/BreakGlass', Path: '/', RoleId: 'AROA1', CreateDate: new Date(), AssumeRolePolicyDocument: document } });
      await expect(trustPolicyKind.target(spec(), { iam: () => iam }).read()).resolves.toEqual({ document, sizeLimit: 2048 });
      await expect(trustPolicyKind.target({ ...spec(), guards: { sizeLimit: 4096 } }, { iam: () => iam }).read()).resolves.toEqual({ document, sizeLimit: 4096 });
    } finally {
      iamMock.restore();
    }
  });

  test('reads the role and writes its trust policy, nothing else', () => {
    expect(trustPolicyKind.actions).toEqual({ read: ['iam:GetRole'], write: ['iam:UpdateAssumeRolePolicy'] });
  });

  test("the shape owns one Deny of sts:AssumeRole by its Sid and keeps the role's other statements", () => {
    const entries = ['203.0.113.0/24'];
    const document = trustPolicyKind.shape(spec()).render(entries, { Version: '2012-10-17', Statement: [ADMINS_ALLOW] });
    expect(document.Statement).toHaveLength(2);
    expect(document.Statement[0]).toEqual(ADMINS_ALLOW);
    expect(document.Statement[1]).toMatchObject({ Sid: ALLOWLIST_SID, Effect: 'Deny', Principal: { AWS: ROOT }, Action: 'sts:AssumeRole' });
  });

  test('the adapter keeps no versions (the state store keeps the history)', () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    expect(trustPolicyKind.target(spec(), { iam: () => iam }).versioned).toBe(false);
    iam.destroy();
  });
});
