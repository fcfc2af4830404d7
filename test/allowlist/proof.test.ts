import { formatCidr, normalize } from '../../lambda/allowlist/cidr';
import { plan } from '../../lambda/allowlist/plan';
import { ALLOWLIST_SID, PolicyDocument, Statement, parsePolicy, renderDenyPolicy } from '../../lambda/allowlist/policy';
import { formatSourceAddress, proveAllowlist } from '../../lambda/allowlist/proof';
import { trustPolicyShape } from '../../lambda/allowlist/trust-policy';

const S3 = { action: 's3:GetObject' };
const SUPPORT = 'arn:aws:iam::710019948333:role/RH-Technical-Support-Access';
const SRE = 'arn:aws:iam::710019948333:role/RH-SRE-Access';
const VPC = 'vpc-0abc1234def567890';
const VPCE = 'vpce-0def1234abc567890';

/** The entries and document plan() makes for these values (a fresh target). */
function planned(values: string[]): { entries: string[]; document: PolicyDocument } {
  const result = plan({}, normalize(values.map((value) => ({ value, source: 'test' }))));
  return { entries: result.entries, document: parsePolicy(result.document) };
}

const VALUES = ['203.0.113.0/24', '3.20.58.12', '52.15.23.0/26', '52.15.23.64/26', '2600:1f18:24e6:b900::/56'];
const { entries: ENTRIES, document: MANAGED } = planned(VALUES);

/** The deny statement of a document with its condition changed. */
function edited(document: PolicyDocument, change: (condition: Statement) => Statement): PolicyDocument {
  const copy = JSON.parse(JSON.stringify(document)) as PolicyDocument;
  const statement = copy.Statement.find((s) => s.Sid === ALLOWLIST_SID) as Statement;
  statement.Condition = change(statement.Condition as Statement);
  return copy;
}
const withVpcExemption = (document: PolicyDocument) => edited(document, (c) => ({ ...c, StringNotEqualsIfExists: { 'aws:SourceVpc': [VPC], 'aws:SourceVpce': [VPCE] } }));

describe('proveAllowlist: the tool\'s documents keep their promises', () => {
  it('the managed policy', () => {
    expect(ENTRIES).toEqual(['3.20.58.12/32', '52.15.23.0/25', '203.0.113.0/24', '2600:1f18:24e6:b900::/56']);
    expect(proveAllowlist(MANAGED, ENTRIES, S3)).toBeUndefined();
  });

  it('with the KMS exemption', () => {
    expect(proveAllowlist(renderDenyPolicy(ENTRIES, { kmsViaServiceExemption: true }), ENTRIES, { action: 'kms:Decrypt' })).toBeUndefined();
  });

  it('with the VPC exemption', () => {
    expect(proveAllowlist(withVpcExemption(MANAGED), ENTRIES, S3)).toBeUndefined();
    expect(proveAllowlist(edited(MANAGED, (c) => ({ ...c, StringNotEqualsIfExists: { 'aws:SourceVpce': [VPCE, 'vpce-0000000000000000a'] } })), ENTRIES, S3)).toBeUndefined();
  });

  it('without the ViaAWSService exemption, when that is what is promised', () => {
    const strict = renderDenyPolicy(ENTRIES, { viaAwsServiceExemption: false });
    expect(proveAllowlist(strict, ENTRIES, { ...S3, viaAwsServiceExemption: false })).toBeUndefined();
    expect(proveAllowlist(strict, ENTRIES, S3)).toMatchObject({ expected: 'not denied', got: { denied: true }, probe: { viaAwsService: true } });
    expect(proveAllowlist(MANAGED, ENTRIES, { ...S3, viaAwsServiceExemption: false })).toMatchObject({ expected: 'denied', got: { denied: false }, probe: { viaAwsService: true } });
  });

  it('a trust policy, for each of its principals, beside the statements it keeps', () => {
    const current: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: [SUPPORT, SRE] }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } },
        { Sid: 'NoGuests', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Condition: { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/guest-*' } } },
      ],
    };
    const shape = trustPolicyShape([SUPPORT, SRE]);
    const document = shape.render(ENTRIES, current);
    for (const principal of [SUPPORT, SRE]) expect(proveAllowlist(document, ENTRIES, { action: 'sts:AssumeRole', principal })).toBeUndefined();
    // A principal the statement does not name is not held to the list: nothing denies it from outside.
    expect(proveAllowlist(document, ENTRIES, { action: 'sts:AssumeRole', principal: 'arn:aws:iam::111122223333:role/Other' })).toMatchObject({
      expected: 'denied',
      got: { denied: false },
      why: '198.51.100.1, an address in no entry, would not be denied by any statement',
    });
  });

  it('lists of any shape: single addresses, both ends of the space, the whole space, none', () => {
    for (const entries of [['0.0.0.0/8', '255.255.255.255/32'], ['192.0.2.1/32', '192.0.2.3/32'], ['::/8', 'ffff::/16'], ['2001:db8::1/128'], ['0.0.0.0/0'], ['0.0.0.0/0', '::/0'], []]) {
      expect([entries, proveAllowlist(renderDenyPolicy(entries), entries, S3)]).toEqual([entries, undefined]);
    }
    // Not aggregated: blocks that overlap or touch; the neighbour inside another entry is not probed as outside.
    const touching = ['52.15.23.0/26', '52.15.23.64/26', '52.15.23.32/27'];
    expect(proveAllowlist(renderDenyPolicy(touching), touching, S3)).toBeUndefined();
  });
});

describe('proveAllowlist: broken documents fail with a counterexample', () => {
  it('an entry missing from the condition', () => {
    const broken = edited(MANAGED, (c) => ({ ...c, NotIpAddress: { 'aws:SourceIp': ['3.20.58.12', '203.0.113.0/24', '2600:1f18:24e6:b900::/56'] } }));
    expect(proveAllowlist(broken, ENTRIES, S3)).toEqual({
      probe: { action: 's3:GetObject', viaAwsService: false, sourceIp: '52.15.23.0' },
      expected: 'not denied',
      got: { denied: true, statement: 0, sid: ALLOWLIST_SID },
      why: `52.15.23.0, the first address of 52.15.23.0/25, would be denied by statement ${ALLOWLIST_SID}`,
    });
  });

  it('an extra Deny statement that denies a listed address', () => {
    const broken: PolicyDocument = { ...MANAGED, Statement: [...MANAGED.Statement, { Sid: 'Extra', Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.255' } } }] };
    expect(proveAllowlist(broken, ENTRIES, S3)).toEqual({
      probe: { action: 's3:GetObject', viaAwsService: false, sourceIp: '203.0.113.255' },
      expected: 'not denied',
      got: { denied: true, statement: 1, sid: 'Extra' },
      why: '203.0.113.255, the last address of 203.0.113.0/24, would be denied by statement Extra',
    });
  });

  it('a widened list: an outside address gets through', () => {
    const wider = renderDenyPolicy([...ENTRIES, '198.51.100.0/24']);
    expect(proveAllowlist(wider, ENTRIES, S3)).toMatchObject({
      probe: { sourceIp: '198.51.100.1', viaAwsService: false },
      expected: 'denied',
      got: { denied: false },
      why: '198.51.100.1, an address in no entry, would not be denied by any statement',
    });
    // Widened at an entry's edge: the neighbour just outside it.
    const edge = renderDenyPolicy(['3.20.58.12/31', '52.15.23.0/25', '203.0.113.0/24', '2600:1f18:24e6:b900::/56']);
    expect(proveAllowlist(edge, ENTRIES, S3)).toMatchObject({ probe: { sourceIp: '3.20.58.13' }, expected: 'denied', why: '3.20.58.13, just above 3.20.58.12/32 and in no entry, would not be denied by any statement' });
    const below = renderDenyPolicy(['3.20.58.12/32', '52.15.23.0/25', '203.0.112.0/23', '2600:1f18:24e6:b900::/56']);
    expect(proveAllowlist(below, ENTRIES, S3)).toMatchObject({ probe: { sourceIp: '203.0.112.255' }, why: expect.stringMatching(/^203\.0\.112\.255, just below 203\.0\.113\.0\/24 and in no entry/) });
    const v6 = renderDenyPolicy(['3.20.58.12/32', '52.15.23.0/25', '203.0.113.0/24', '2600:1f18:24e6:b900::/55']);
    expect(proveAllowlist(v6, ENTRIES, S3)).toMatchObject({ probe: { sourceIp: '2600:1f18:24e6:b8ff:ffff:ffff:ffff:ffff' }, expected: 'denied' });
  });

  it('Bool aws:ViaAWSService "true": outside callers get through', () => {
    const broken = edited(MANAGED, (c) => ({ ...c, Bool: { 'aws:ViaAWSService': 'true' } }));
    expect(proveAllowlist(broken, ENTRIES, S3)).toMatchObject({ probe: { sourceIp: '198.51.100.1', viaAwsService: false }, expected: 'denied', got: { denied: false } });
  });

  it('NotIpAddressIfExists keeps the promises: IAM takes a missing key as true there too, as NotIpAddress does', () => {
    const ifExists = edited(MANAGED, ({ NotIpAddress, ...rest }) => ({ NotIpAddressIfExists: NotIpAddress, ...rest }));
    expect(proveAllowlist(ifExists, ENTRIES, S3)).toBeUndefined();
  });

  it.each<[string, (c: Statement) => Statement]>([
    ['ForAnyValue:NotIpAddress', ({ NotIpAddress, ...rest }) => ({ 'ForAnyValue:NotIpAddress': NotIpAddress, ...rest })],
    ['Null aws:SourceIp "false"', (c) => ({ ...c, Null: { 'aws:SourceIp': 'false' } })],
    ['StringNotLikeIfExists aws:SourceVpce "vpce-*" (an exemption of every endpoint)', (c) => ({ ...c, StringNotLikeIfExists: { 'aws:SourceVpce': 'vpce-*' } })],
  ])('%s: a request with no aws:SourceIp gets through', (_, change) => {
    const failure = proveAllowlist(edited(MANAGED, change), ENTRIES, S3);
    expect(failure).toMatchObject({ expected: 'denied', got: { denied: false }, why: expect.stringMatching(/^a request through VPC endpoint vpce-0+ of vpc-0+ \(no aws:SourceIp, neither exempt\), would not be denied/) });
    expect(failure?.probe).not.toHaveProperty('sourceIp');
  });

  it('an unknown operator is a failure, naming it', () => {
    const broken = edited(MANAGED, (c) => ({ ...c, DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }));
    expect(proveAllowlist(broken, ENTRIES, S3)).toEqual({
      probe: { action: 's3:GetObject', viaAwsService: false, sourceIp: '198.51.100.1' },
      expected: 'denied',
      got: { denied: 'unknown', statement: 0, sid: ALLOWLIST_SID, reason: 'condition operator "DateLessThan" is not one the evaluator knows' },
      why: `198.51.100.1, an address in no entry, cannot be shown denied: in statement ${ALLOWLIST_SID}, condition operator "DateLessThan" is not one the evaluator knows`,
    });
  });

  it('an exemption the statement carries must work: a broken VPC or KMS exemption fails', () => {
    const blocked: PolicyDocument = { Statement: [...withVpcExemption(MANAGED).Statement, { Sid: 'NoVpce', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:SourceVpce': VPCE } } }] };
    expect(proveAllowlist(blocked, ENTRIES, S3)).toMatchObject({ probe: { sourceVpce: VPCE }, expected: 'not denied', got: { denied: true, sid: 'NoVpce' }, why: `a request through exempt VPC endpoint ${VPCE} (no aws:SourceIp), would be denied by statement NoVpce` });
    const kms = renderDenyPolicy(ENTRIES, { kmsViaServiceExemption: true });
    const kmsBlocked: PolicyDocument = { Statement: [...kms.Statement, { Effect: 'Deny', Action: '*', Resource: '*', Condition: { 'Null': { 'kms:ViaService': 'false' }, NotIpAddress: { 'aws:SourceIp': ENTRIES } } }] };
    expect(proveAllowlist(kmsBlocked, ENTRIES, S3)).toMatchObject({ probe: { kmsViaService: expect.any(String), sourceIp: '198.51.100.1' }, expected: 'not denied', got: { denied: true, statement: 1 } });
  });

  it('a document with no allowlist at all', () => {
    expect(proveAllowlist({ Statement: [] }, ENTRIES, S3)).toMatchObject({ expected: 'denied', probe: { sourceIp: '198.51.100.1' } });
  });
});

describe('proveAllowlist: the outside address', () => {
  // Against a document that denies nothing, the first probe to fail is the IPv4 outside address (else the IPv6 one).
  const outside = (values: string[]) => proveAllowlist({ Statement: [] }, normalize(values.map((value) => ({ value, source: 't' }))).cidrs.map(formatCidr), S3)?.probe;

  it('is the first TEST-NET address no entry holds, else the first above it', () => {
    expect(outside([])).toMatchObject({ sourceIp: '198.51.100.1' });
    expect(outside(['198.51.100.0/24'])).toMatchObject({ sourceIp: '203.0.113.1' });
    expect(outside(['198.51.100.0/24', '203.0.113.0/24'])).toMatchObject({ sourceIp: '198.51.101.0' });
    expect(outside(['192.0.0.0/2', '203.0.113.0/24'])).toMatchObject({ sourceIp: '0.0.0.0' });
    expect(outside(['0.0.0.0/1', '128.0.0.0/1', '4000::/2'])).toMatchObject({ sourceIp: '2001:db8::1' });
    expect(outside(['0.0.0.0/0', '2001:db8::/32'])).toMatchObject({ sourceIp: '2001:db9::' });
    // Every address is an entry: nothing is outside; a request without aws:SourceIp is still to be denied.
    expect(outside(['0.0.0.0/0', '::/0'])).toEqual({ action: 's3:GetObject', viaAwsService: false, sourceVpc: 'vpc-00000000000000000', sourceVpce: 'vpce-00000000000000000' });
  });
});

describe('proveAllowlist: inputs', () => {
  it('refuses an entry that is not a block', () => {
    expect(() => proveAllowlist(MANAGED, ['not-an-ip'], S3)).toThrow(/"not-an-ip" cannot be proved/);
  });

  it('formatSourceAddress writes IPv6 in RFC 5952 form', () => {
    expect(formatSourceAddress({ family: 6, value: (0x20010db8n << 96n) | 1n })).toBe('2001:db8::1');
    expect(formatSourceAddress({ family: 4, value: 0xffffffffn })).toBe('255.255.255.255');
  });
});
