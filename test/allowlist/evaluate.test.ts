import { AddressRanges, Decision, RequestContext, compileDenyPolicy, evaluateDeny, parseBlock, parseSourceAddress } from '../../lambda/allowlist/evaluate';
import { ALLOWLIST_SID, PolicyDocument, Statement, renderDenyPolicy } from '../../lambda/allowlist/policy';
import { renderTrustStatement } from '../../lambda/allowlist/trust-policy';

// Each case names the AWS documentation it follows: the IAM User Guide pages "IAM JSON policy elements: Condition
// operators" (and its "...IfExists" and "Null" sections), "IAM JSON policy elements: Action / Principal",
// "AWS global condition context keys" (aws:SourceIp, aws:ViaAWSService, aws:SourceVpc, aws:SourceVpce,
// aws:PrincipalArn), "Policy evaluation logic", and the AWS KMS Developer Guide's kms:ViaService.

const ENTRIES = ['192.0.2.0/24', '2001:db8::/32'];
const OWN = renderDenyPolicy(ENTRIES);
const KMS = renderDenyPolicy(ENTRIES, { kmsViaServiceExemption: true });
const DENIED: Decision = { denied: true, statement: 0, sid: ALLOWLIST_SID };
const ALLOWED: Decision = { denied: false };

const VPC = 'vpc-0abc1234def567890';
const VPCE = 'vpce-0def1234abc567890';
/** The VPC exemption as another engineer renders it into the deny statement. */
const withVpcExemption = (vpcs: string[], vpces: string[]): PolicyDocument => {
  const document = renderDenyPolicy(ENTRIES);
  const keys: Statement = {};
  if (vpcs.length > 0) keys['aws:SourceVpc'] = vpcs;
  if (vpces.length > 0) keys['aws:SourceVpce'] = vpces;
  document.Statement[0].Condition = { ...(document.Statement[0].Condition as Statement), StringNotEqualsIfExists: keys };
  return document;
};
const VPC_EXEMPT = withVpcExemption([VPC], [VPCE]);

const SUPPORT = 'arn:aws:iam::710019948333:role/RH-Technical-Support-Access';
const SRE = 'arn:aws:iam::710019948333:role/RH-SRE-Access';
const OTHER_ACCOUNT = 'arn:aws:iam::111122223333:role/RH-Technical-Support-Access';
const TRUST: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: [SUPPORT, SRE] }, Action: 'sts:AssumeRole' },
    renderTrustStatement([SUPPORT], ENTRIES),
  ],
};
const TRUST_DENIED: Decision = { denied: true, statement: 1, sid: ALLOWLIST_SID };

const deny = (statement: Statement): PolicyDocument => ({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', ...statement }] });
const notAction = (NotAction: string): PolicyDocument => ({ Statement: [{ Effect: 'Deny', NotAction, Resource: '*' }] });
const when = (condition: Statement): PolicyDocument => deny({ Condition: condition });
const req = (fields: Partial<RequestContext> = {}): RequestContext => ({ action: 's3:GetObject', viaAwsService: false, ...fields });
const unknown = (reason: RegExp, where: { statement: number; sid?: string } = { statement: 0 }): Decision => ({ denied: 'unknown', ...where, reason: expect.stringMatching(reason) as string });

type Case = [string, PolicyDocument, RequestContext, Decision];

describe('evaluateDeny: the tool\'s own deny', () => {
  test.each<Case>([
    // Condition operators, "IP address condition operators": NotIpAddress matches an address outside every block.
    ['inside a listed block: not denied', OWN, req({ sourceIp: '192.0.2.10' }), ALLOWED],
    ['outside every block: denied', OWN, req({ sourceIp: '198.51.100.7' }), DENIED],
    // Condition operators, IP address: a block holds its first and last address, not its neighbours.
    ['the first address of a block', OWN, req({ sourceIp: '192.0.2.0' }), ALLOWED],
    ['the last address of a block', OWN, req({ sourceIp: '192.0.2.255' }), ALLOWED],
    ['just below a block', OWN, req({ sourceIp: '192.0.1.255' }), DENIED],
    ['just above a block', OWN, req({ sourceIp: '192.0.3.0' }), DENIED],
    // Condition operators, IP address: IPv6 blocks (2001:DB8:1234:5678::/64 in the examples) hold IPv6 callers.
    ['IPv6 inside', OWN, req({ sourceIp: '2001:db8:ffff::1' }), ALLOWED],
    ['IPv6 outside', OWN, req({ sourceIp: '2001:db9::1' }), DENIED],
    ['IPv6 in any spelling', OWN, req({ sourceIp: '2001:0DB8:0000::0001' }), ALLOWED],
    // RFC 4291 2.5.5.2: an IPv4-mapped IPv6 address is an IPv4 caller; aws:SourceIp compares it as IPv4.
    ['IPv4-mapped inside', OWN, req({ sourceIp: '::ffff:192.0.2.10' }), ALLOWED],
    ['IPv4-mapped outside', OWN, req({ sourceIp: '::ffff:198.51.100.7' }), DENIED],
    ['IPv4-mapped, hex spelling', OWN, req({ sourceIp: '::ffff:c000:20a' }), ALLOWED],
    ['an IPv4 caller is not in an IPv6 block', renderDenyPolicy(['2001:db8::/32']), req({ sourceIp: '192.0.2.10' }), DENIED],
    // aws:ViaAWSService: true when a service calls another on the caller's behalf (forward access sessions).
    ['via an AWS service, from outside: not denied', OWN, req({ sourceIp: '198.51.100.7', viaAwsService: true }), ALLOWED],
    ['via an AWS service, with no aws:SourceIp: not denied', OWN, req({ viaAwsService: true }), ALLOWED],
    // aws:SourceIp: "If the request comes from a host that uses an Amazon VPC endpoint, then the aws:SourceIp key is
    // not present"; Condition operators: a negated operator (NotIpAddress) with a missing key is true.
    ['through a VPC endpoint (no aws:SourceIp): denied', OWN, req({ sourceVpc: VPC, sourceVpce: VPCE }), DENIED],
    ['no aws:SourceIp at all: denied', OWN, req(), DENIED],
    // Condition operators, "...IfExists": "If the key is not present, evaluate the condition element as true" — the
    // same as NotIpAddress without IfExists (a negated operator is true for a missing key), so in a Deny it still denies.
    ['NotIpAddressIfExists, key absent: denied, as NotIpAddress', when({ NotIpAddressIfExists: { 'aws:SourceIp': ENTRIES } }), req(), { denied: true, statement: 0 }],
    ['NotIpAddressIfExists, key present inside: not denied', when({ NotIpAddressIfExists: { 'aws:SourceIp': ENTRIES } }), req({ sourceIp: '192.0.2.7' }), ALLOWED],
    // Multivalued context keys: ForAnyValue over a missing key is false — that one lets VPC endpoint requests through.
    ['ForAnyValue:NotIpAddress, key absent: not denied', when({ 'ForAnyValue:NotIpAddress': { 'aws:SourceIp': ENTRIES } }), req(), ALLOWED],
    // Condition operators, Null: "false" holds when the key is present — the explicit way to exempt requests without it.
    ['Null aws:SourceIp "false", key absent: not denied', when({ NotIpAddress: { 'aws:SourceIp': ENTRIES }, Null: { 'aws:SourceIp': 'false' } }), req(), ALLOWED],
    ['NotIpAddressIfExists, key present outside: denied', when({ NotIpAddressIfExists: { 'aws:SourceIp': ENTRIES } }), req({ sourceIp: '198.51.100.7' }), { denied: true, statement: 0 }],
    // Condition operators, Null: "true" holds when the key is absent. kms:ViaService is present when a service
    // calls KMS on the caller's behalf (AWS KMS Developer Guide, kms:ViaService).
    ['kms exemption: kms:ViaService present, from outside: not denied', KMS, req({ sourceIp: '198.51.100.7', kmsViaService: 'ec2.us-east-1.amazonaws.com' }), ALLOWED],
    ['kms exemption: no kms:ViaService, from outside: denied', KMS, req({ sourceIp: '198.51.100.7' }), DENIED],
    ['kms exemption: inside is not denied', KMS, req({ sourceIp: '192.0.2.1' }), ALLOWED],
  ])('%s', (_, document, request, expected) => {
    expect(evaluateDeny(document, request)).toEqual(expected);
  });
});

describe('evaluateDeny: the VPC exemption (StringNotEqualsIfExists aws:SourceVpc / aws:SourceVpce)', () => {
  test.each<Case>([
    // aws:SourceVpc / aws:SourceVpce: present for requests through a VPC endpoint, where aws:SourceIp is not.
    // Condition operators: StringNotEquals false for a listed value; AND across keys makes the statement not apply.
    ['through an exempt VPC: not denied', VPC_EXEMPT, req({ sourceVpc: VPC, sourceVpce: 'vpce-0000' }), ALLOWED],
    ['through an exempt endpoint: not denied', VPC_EXEMPT, req({ sourceVpc: 'vpc-0000', sourceVpce: VPCE }), ALLOWED],
    ['through an endpoint neither exempt: denied', VPC_EXEMPT, req({ sourceVpc: 'vpc-0000', sourceVpce: 'vpce-0000' }), DENIED],
    ['a non-exempt endpoint only: denied', VPC_EXEMPT, req({ sourceVpce: 'vpce-0000' }), DENIED],
    // ...IfExists: both keys absent (a request from the internet) leaves it under the IP rule.
    ['from outside, no VPC keys: denied', VPC_EXEMPT, req({ sourceIp: '198.51.100.7' }), DENIED],
    ['from inside, no VPC keys: not denied', VPC_EXEMPT, req({ sourceIp: '192.0.2.7' }), ALLOWED],
    ['only endpoints listed: an exempt endpoint', withVpcExemption([], [VPCE]), req({ sourceVpc: VPC, sourceVpce: VPCE }), ALLOWED],
    ['only endpoints listed: any VPC is not exempt', withVpcExemption([], [VPCE]), req({ sourceVpc: VPC, sourceVpce: 'vpce-0000' }), DENIED],
    // Condition operators: string comparisons are case-sensitive.
    ['ids compare case-sensitively', VPC_EXEMPT, req({ sourceVpc: VPC.toUpperCase(), sourceVpce: 'vpce-0000' }), DENIED],
  ])('%s', (_, document, request, expected) => {
    expect(evaluateDeny(document, request)).toEqual(expected);
  });
});

describe('evaluateDeny: principals (trust policies)', () => {
  const sts = (fields: Partial<RequestContext>) => req({ action: 'sts:AssumeRole', ...fields });
  test.each<Case>([
    // IAM JSON policy elements: Principal — the deny applies to the principals it names.
    ['a named principal from outside: denied', TRUST, sts({ principal: SUPPORT, sourceIp: '198.51.100.7' }), TRUST_DENIED],
    ['a named principal from inside: not denied', TRUST, sts({ principal: SUPPORT, sourceIp: '192.0.2.7' }), ALLOWED],
    ['another principal from outside: not denied', TRUST, sts({ principal: SRE, sourceIp: '198.51.100.7' }), ALLOWED],
    // Principal: ARNs compare case-sensitively.
    ['a principal differing in case is another one', TRUST, sts({ principal: SUPPORT.toLowerCase(), sourceIp: '198.51.100.7' }), ALLOWED],
    // Policy evaluation logic: Allow statements never deny; an explicit Deny overrides them.
    ['another action: not denied', TRUST, sts({ action: 'sts:TagSession', principal: SUPPORT, sourceIp: '198.51.100.7' }), ALLOWED],
    // Principal, "AWS account principals": the account id or its root ARN stands for every principal of the account.
    ['the account id names its principals', deny({ Principal: { AWS: '710019948333' } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['the root ARN names its principals', deny({ Principal: { AWS: ['arn:aws:iam::710019948333:root'] } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['the root ARN: not another account', deny({ Principal: { AWS: 'arn:aws:iam::710019948333:root' } }), sts({ principal: OTHER_ACCOUNT }), ALLOWED],
    ['the root ARN: not another partition', deny({ Principal: { AWS: 'arn:aws:iam::710019948333:root' } }), sts({ principal: 'arn:aws-cn:iam::710019948333:role/x' }), ALLOWED],
    // Principal, "All principals": "*" and {"AWS": "*"}.
    ['Principal "*"', deny({ Principal: '*' }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['Principal {"AWS": "*"}', deny({ Principal: { AWS: '*' } }), sts({ principal: OTHER_ACCOUNT }), { denied: true, statement: 0 }],
    // IAM JSON policy elements: NotPrincipal — every principal but those named.
    ['NotPrincipal: a named one is not denied', deny({ NotPrincipal: { AWS: SUPPORT } }), sts({ principal: SUPPORT }), ALLOWED],
    ['NotPrincipal: another one is denied', deny({ NotPrincipal: { AWS: SUPPORT } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    // aws:PrincipalArn: the caller's ARN; ARN operators match each of its six parts with wildcards.
    ['ArnLike aws:PrincipalArn', when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/RH-*' } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['ArnLike: a wildcard part matches an empty part', when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam:*:710019948333:*' } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['ArnLike: every part must match', when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/*' } }), sts({ principal: SRE }), ALLOWED],
    ['ArnEquals takes wildcards too', when({ ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::710019948333:role/RH-SRE-*' } }), sts({ principal: SRE }), { denied: true, statement: 0 }],
    ['ArnNotLike aws:PrincipalArn', when({ ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/RH-*' } }), sts({ principal: SRE }), ALLOWED],
    ['StringLike aws:PrincipalArn', when({ StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/guest-*' } }), sts({ principal: SRE }), ALLOWED],
    // Principal: a statement naming principals cannot be judged for a request without one.
    ['named principals, request without one: unknown', TRUST, sts({ sourceIp: '198.51.100.7' }), unknown(/names principals/, { statement: 1, sid: ALLOWLIST_SID })],
  ])('%s', (_, document, request, expected) => {
    expect(evaluateDeny(document, request)).toEqual(expected);
  });
});

describe('evaluateDeny: actions, effects, operators', () => {
  test.each<Case>([
    // Policy evaluation logic: only an explicit Deny denies; Allow statements are not read here.
    ['Allow statements are ignored', { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }, req({ sourceIp: '198.51.100.7' }), ALLOWED],
    ['no statement at all', { Statement: [] }, req(), ALLOWED],
    // IAM JSON policy elements: Action — wildcards, and "the prefix and the action name are case insensitive".
    ['Action s3:Get*', deny({ Action: 's3:Get*' }), req(), { denied: true, statement: 0 }],
    ['Action case-insensitive', deny({ Action: ['ec2:*', 'S3:GETOBJECT'] }), req(), { denied: true, statement: 0 }],
    ['Action ?', deny({ Action: 's3:?etObject' }), req(), { denied: true, statement: 0 }],
    ['Action not matching', deny({ Action: 's3:Put*' }), req(), ALLOWED],
    ['Action: a dot is literal', deny({ Action: 's3.GetObject' }), req(), ALLOWED],
    // IAM JSON policy elements: NotAction — every action but those listed.
    ['NotAction listed', notAction('s3:*'), req(), ALLOWED],
    ['NotAction not listed', notAction('ec2:*'), req(), { denied: true, statement: 0 }],
    // Condition operators, Boolean: values compare case-insensitively.
    ['Bool "FALSE"', when({ Bool: { 'aws:ViaAWSService': 'FALSE' } }), req(), { denied: true, statement: 0 }],
    ['Bool as a JSON boolean', when({ Bool: { 'aws:ViaAWSService': false } }), req({ viaAwsService: true }), ALLOWED],
    // Condition operators: "Condition key names are not case-sensitive."
    ['key names are case-insensitive', when({ NotIpAddress: { 'AWS:SOURCEIP': ENTRIES } }), req({ sourceIp: '198.51.100.7' }), { denied: true, statement: 0 }],
    // Condition operators: AND across operators and keys, OR across the values of one key.
    ['IpAddress: OR across values', when({ IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '198.51.100.7'] } }), req({ sourceIp: '198.51.100.7' }), { denied: true, statement: 0 }],
    ['IpAddress: a bare IPv4 address is /32', when({ IpAddress: { 'aws:SourceIp': '198.51.100.7' } }), req({ sourceIp: '198.51.100.8' }), ALLOWED],
    ['AND across operators', when({ IpAddress: { 'aws:SourceIp': '198.51.100.0/24' }, Bool: { 'aws:ViaAWSService': 'true' } }), req({ sourceIp: '198.51.100.7' }), ALLOWED],
    // Condition operators: a missing key makes a positive operator false.
    ['IpAddress, key absent: false', when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), req(), ALLOWED],
    ['IpAddressIfExists, key absent: true', when({ IpAddressIfExists: { 'aws:SourceIp': '0.0.0.0/0' } }), req(), { denied: true, statement: 0 }],
    ['StringEquals, key absent: false', when({ StringEquals: { 'aws:SourceVpce': VPCE } }), req(), ALLOWED],
    ['StringEquals, present', when({ StringEquals: { 'aws:SourceVpce': [VPCE, 'vpce-1'] } }), req({ sourceVpce: VPCE }), { denied: true, statement: 0 }],
    ['StringNotEquals, key absent: true', when({ StringNotEquals: { 'aws:SourceVpce': VPCE } }), req(), { denied: true, statement: 0 }],
    ['StringNotEquals: none of the values', when({ StringNotEquals: { 'aws:SourceVpce': ['vpce-1', VPCE] } }), req({ sourceVpce: VPCE }), ALLOWED],
    ['StringEqualsIgnoreCase', when({ StringEqualsIgnoreCase: { 'aws:SourceVpc': VPC.toUpperCase() } }), req({ sourceVpc: VPC }), { denied: true, statement: 0 }],
    ['StringLike', when({ StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' } }), req({ kmsViaService: 'ec2.eu-west-1.amazonaws.com' }), { denied: true, statement: 0 }],
    ['StringNotLike, key absent: true', when({ StringNotLike: { 'kms:ViaService': 'ec2.*' } }), req(), { denied: true, statement: 0 }],
    // Condition operators, Null: "false" holds when the key is present.
    ['Null "false"', when({ Null: { 'aws:SourceIp': 'false' } }), req({ sourceIp: '192.0.2.1' }), { denied: true, statement: 0 }],
    ['Null "true" of aws:ViaAWSService, always present', when({ Null: { 'aws:ViaAWSService': 'true' } }), req(), ALLOWED],
    // Multivalued context keys: ForAnyValue over no values is false, ForAllValues true; one value: the operator itself.
    ['ForAnyValue, key absent: false', when({ 'ForAnyValue:StringNotEquals': { 'aws:SourceVpce': VPCE } }), req(), ALLOWED],
    ['ForAllValues, key absent: true', when({ 'ForAllValues:StringEquals': { 'aws:SourceVpce': VPCE } }), req(), { denied: true, statement: 0 }],
    ['ForAnyValue, one value', when({ 'ForAnyValue:StringEquals': { 'aws:SourceVpce': VPCE } }), req({ sourceVpce: VPCE }), { denied: true, statement: 0 }],
    // Policy evaluation logic: one applying Deny is enough, whatever the others say.
    ['a later Deny denies though an earlier one is unknown', { Statement: [when({ Foo: { 'aws:SourceIp': '1.2.3.4' } }).Statement[0], { Sid: 'All', Effect: 'Deny', Action: '*', Resource: '*' }] }, req(), { denied: true, statement: 1, sid: 'All' }],
  ])('%s', (_, document, request, expected) => {
    expect(evaluateDeny(document, request)).toEqual(expected);
  });
});

describe('evaluateDeny: what it does not know is unknown, never "not denied"', () => {
  test.each<Case>([
    ['an unknown operator', when({ DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }), req(), unknown(/operator "DateGreaterThan"/)],
    ['an operator in another case', when({ notipaddress: { 'aws:SourceIp': ENTRIES } }), req({ sourceIp: '198.51.100.7' }), unknown(/operator "notipaddress"/)],
    ['NullIfExists does not exist', when({ NullIfExists: { 'aws:SourceIp': 'true' } }), req(), unknown(/operator "NullIfExists"/)],
    ['an unknown key', when({ StringEquals: { 'aws:PrincipalTag/team': 'x' } }), req(), unknown(/key "aws:PrincipalTag\/team"/)],
    ['an unknown key under Null', when({ Null: { 'aws:MultiFactorAuthAge': 'true' } }), req(), unknown(/key "aws:MultiFactorAuthAge"/)],
    ['an operator on a key of another type', when({ StringEquals: { 'aws:SourceIp': '192.0.2.1' } }), req(), unknown(/does not apply to aws:SourceIp/)],
    ['an address IAM cannot read', when({ NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '192.0.2.300'] } }), req(), unknown(/"192\.0\.2\.300" is not an IP address/)],
    // Condition operators, IP address: "If you specify an IP address without the associated routing prefix, IAM uses
    // the default prefix value of /32" — for IPv6 not the address alone.
    ['a bare IPv6 value', when({ NotIpAddress: { 'aws:SourceIp': '2001:db8::1' } }), req(), unknown(/no prefix/)],
    ['an ARN pattern of fewer than six parts', when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:*' } }), req({ principal: SRE }), unknown(/is not an ARN/)],
    ['a policy variable', when({ StringEquals: { 'aws:SourceVpc': '${aws:username}' } }), req({ sourceVpc: VPC }), unknown(/policy variable/)],
    ['a Bool value that is not a boolean', when({ Bool: { 'aws:ViaAWSService': 'no' } }), req(), unknown(/neither "true" nor "false"/)],
    ['an Effect that is neither', { Statement: [{ Effect: 'deny', Action: '*' }] }, req(), unknown(/Effect "deny"/)],
    ['both Action and NotAction', deny({ NotAction: 's3:*' }), req(), unknown(/both Action and NotAction/)],
    ['an unknown principal type', deny({ Principal: { aws: SUPPORT } }), req({ principal: SUPPORT }), unknown(/Principal "aws"/)],
    ['a Condition that is not an object', deny({ Condition: 'NotIpAddress' }), req(), unknown(/not an object/)],
  ])('%s', (_, document, request, expected) => {
    expect(evaluateDeny(document, request)).toEqual(expected);
  });

  it('a definite false elsewhere in the statement still decides it (Kleene AND)', () => {
    const document = when({ Foo: { 'aws:SourceIp': '1.2.3.4' }, Bool: { 'aws:ViaAWSService': 'false' } });
    expect(evaluateDeny(document, req({ viaAwsService: true }))).toEqual(ALLOWED);
    expect(evaluateDeny(deny({ Action: 'ec2:*', Condition: { Foo: {} } }), req())).toEqual(ALLOWED);
    expect(evaluateDeny(document, req())).toEqual(unknown(/"Foo"/));
  });
});

describe('parts', () => {
  it('parseSourceAddress reads addresses only, IPv4-mapped as IPv4', () => {
    expect(parseSourceAddress('192.0.2.1')).toEqual({ family: 4, value: 0xc0000201n });
    expect(parseSourceAddress('::ffff:192.0.2.1')).toEqual({ family: 4, value: 0xc0000201n });
    expect(parseSourceAddress('2001:db8::1')).toEqual({ family: 6, value: (0x20010db8n << 96n) | 1n });
    for (const bad of ['192.0.2.0/24', '192.0.2', 'fe80::1%eth0', '']) expect(() => parseSourceAddress(bad)).toThrow(/not an IP address/);
    expect(() => evaluateDeny(OWN, req({ sourceIp: 'localhost' }))).toThrow(/not an IP address/);
  });

  it('parseBlock: blocks, bare IPv4, host bits cleared', () => {
    expect(parseBlock('192.0.2.0/24')).toEqual({ family: 4, first: 0xc0000200n, last: 0xc00002ffn });
    expect(parseBlock('192.0.2.7')).toEqual({ family: 4, first: 0xc0000207n, last: 0xc0000207n });
    expect(parseBlock('192.0.2.7/24')).toEqual({ family: 4, first: 0xc0000200n, last: 0xc00002ffn });
    expect(parseBlock('2001:db8::/127')).toEqual({ family: 6, first: 0x20010db8n << 96n, last: (0x20010db8n << 96n) + 1n });
    expect(parseBlock('nope')).toEqual({ reason: expect.stringMatching(/not an IP address/) });
  });

  it('AddressRanges merges overlapping and adjacent blocks per family, in any spelling', () => {
    const ranges = AddressRanges.parse(['10.0.1.0/24', '10.0.0.16/28', '10.0.0.0/24', '10.0.2.7/24', '2001:db8::/127', '2001:db8::2/127']) as AddressRanges;
    expect(ranges.rangeOf({ family: 4, value: 0x0a000010n })).toEqual({ first: 0x0a000000n, last: 0x0a0002ffn });
    expect(ranges.contains({ family: 4, value: 0x0a000300n })).toBe(false);
    expect(ranges.contains({ family: 4, value: 0x09ffffffn })).toBe(false);
    expect(ranges.rangeOf({ family: 6, value: 0x20010db8n << 96n })).toEqual({ first: 0x20010db8n << 96n, last: (0x20010db8n << 96n) + 3n });
    expect(ranges.contains({ family: 6, value: (0x20010db8n << 96n) + 4n })).toBe(false);
    expect(ranges.contains({ family: 6, value: 0x0a000010n })).toBe(false);
    expect(AddressRanges.parse(['10.0.0.0/24', 'x'])).toEqual({ reason: expect.stringMatching(/"x" is not an IP address/) });
  });

  it('a compiled document answers like evaluateDeny, and its decisions are frozen', () => {
    const compiled = compileDenyPolicy(OWN);
    const request = req({ sourceIp: '198.51.100.7' });
    expect(compiled.evaluate(request)).toEqual(evaluateDeny(OWN, request));
    expect(compiled.evaluateAt(parseSourceAddress('192.0.2.1'), request)).toEqual(ALLOWED);
    expect(compiled.evaluateFast({ family: 4, value: 0xc0000201 }, request)).toEqual(ALLOWED);
    expect(compiled.evaluateFast({ family: 4, value: 0xc0000301 }, request)).toEqual(DENIED);
    expect(compiled.evaluateFast(undefined, request)).toEqual(DENIED);
    expect(Object.isFrozen(compiled.evaluate(request))).toBe(true);
  });
});
