import { PolicyShape, isApprovable, managedPolicyShape, normalize, plan, renderDenyPolicy } from '../../lambda/allowlist';
import { trustPolicyShape } from '../../lambda/allowlist/trust-policy';

const entries = (values: string[]) => normalize(values.map((value) => ({ value, source: 'test' })));
const LIST = ['3.0.0.0/24', '52.1.2.3', '2600:1f18::/48'];

describe('every plan proves the statement it would write', () => {
  test('the managed and trust shapes pass their proof (no proof refusal)', () => {
    for (const shape of [managedPolicyShape(), managedPolicyShape({ kmsViaServiceExemption: true, vpcExemption: ['vpce-0123456789abcdef0'] }), trustPolicyShape(['arn:aws:iam::123456789012:role/ci', 'arn:aws:iam::210987654321:root'])]) {
      const p = plan({}, entries(LIST), { shape });
      expect(p.refusals).toEqual([]);
    }
  });

  test('a statement that would deny a listed address is refused, not approvable, with the counterexample', () => {
    const broken: PolicyShape = { ...managedPolicyShape(), render: (list) => renderDenyPolicy(list.filter((e) => e !== '52.1.2.3/32')) };
    const p = plan({}, entries(LIST), { shape: broken });
    expect(p.status).toBe('refused');
    expect(isApprovable(p)).toBe(false);
    const refusal = p.refusals.find((r) => r.code === 'proof-failed');
    expect(refusal?.message).toMatch(/^the rendered policy fails its proof, so it is not written: 52\.1\.2\.3.* would be denied by statement AllowlistSyncDenyOutsideTrustedIps/);
  });

  test('a statement that lets an outside address through is refused', () => {
    const widened: PolicyShape = { ...managedPolicyShape(), render: (list) => renderDenyPolicy([...list, '198.51.100.0/24', '203.0.113.0/24', '0.0.0.0/1']) };
    const p = plan({}, entries(LIST), { shape: widened });
    expect(p.refusals.map((r) => r.code)).toContain('proof-failed');
  });

  test('a trust policy is proved for each principal its deny names; a foreign statement is not the tool\'s to prove', () => {
    const shape = trustPolicyShape(['arn:aws:iam::123456789012:role/ci']);
    const current = {
      document: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/ci' }, Action: 'sts:AssumeRole' },
          // The customer's own deny on a key the evaluator does not know: kept, and no reason to refuse.
          { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Condition: { StringNotEquals: { 'aws:PrincipalTag/team': 'sre' } } },
        ],
      }),
    };
    const p = plan(current, entries(LIST), { shape });
    expect(p.refusals.map((r) => r.code)).not.toContain('proof-failed');
  });
});
