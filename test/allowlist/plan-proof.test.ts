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

describe('the proof holds the statement to its shape and configuration, not only to its entries', () => {
  test('a statement limited to some resources, or with NotResource, cannot be proved: refused', () => {
    const edits: Record<string, string>[] = [{ Resource: 'arn:aws:s3:::no-such-bucket' }, { NotResource: '*' }];
    for (const edit of edits) {
      const shape: PolicyShape = {
        ...managedPolicyShape(),
        render: (list) => {
          const doc = renderDenyPolicy(list);
          const statement = { ...doc.Statement[0] };
          delete statement.Resource;
          return { ...doc, Statement: [{ ...statement, ...edit }] };
        },
      };
      const p = plan({}, entries(LIST), { shape });
      expect(p.refusals.map((r) => r.code)).toContain('proof-failed');
    }
  });

  test('exemptions must be exactly the configured ones: an added VPC or a dropped endpoint is refused', () => {
    const configured = { vpcExemption: ['vpce-0123456789abcdef0'] };
    const widened: PolicyShape = { ...managedPolicyShape(configured), render: (list) => renderDenyPolicy(list, { vpcExemption: ['vpce-0123456789abcdef0', 'vpc-0123456789abcdef0'] }) };
    const dropped: PolicyShape = { ...managedPolicyShape(configured), render: (list) => renderDenyPolicy(list) };
    const kms: PolicyShape = { ...managedPolicyShape(), render: (list) => renderDenyPolicy(list, { kmsViaServiceExemption: true }) };
    for (const shape of [widened, dropped, kms]) {
      const refusal = plan({}, entries(LIST), { shape }).refusals.find((r) => r.code === 'proof-failed');
      expect(refusal?.message).toMatch(/exempt|KMS exemption/);
    }
  });

  test('include/exclude narrow a list, they do not make a hostile one safe: a catch-all or too-broad source entry is still refused', () => {
    const hostile = entries(['0.0.0.0/0']);
    for (const filters of [{ exclude: ['10.0.0.0/8'] }, { include: ['52.0.0.0/8'] }]) {
      const p = plan({}, hostile, { filters });
      expect(p.refusals.find((r) => r.code === 'catch-all')).toMatchObject({ approvable: false, message: expect.stringContaining("in the sources (before the target's include/exclude)") });
    }
    const broad = plan({}, entries(['3.0.0.0/4', '52.1.2.3']), { filters: { include: ['52.0.0.0/8'] } });
    expect(broad.refusals.map((r) => r.code)).toContain('too-broad');
  });
});
