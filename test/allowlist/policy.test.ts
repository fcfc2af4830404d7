import {
  ALLOWLIST_SID,
  MANAGED_POLICY_SIZE_LIMIT,
  PolicyDocument,
  canonicalJson,
  findAllowlistStatement,
  parsePolicy,
  policySize,
  renderCondition,
  renderDenyPolicy,
  serializePolicy,
  sourceIpsOf,
} from '../../lambda/allowlist/policy';

const ENTRIES = ['20.0.0.0/24', '2001:db8::/32'];

describe('renderDenyPolicy / serializePolicy', () => {
  it('renders the deny-unless-trusted-IP document exactly', () => {
    expect(serializePolicy(renderDenyPolicy(ENTRIES))).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"AllowlistSyncDenyOutsideTrustedIps","Effect":"Deny","Action":"*","Resource":"*",' +
        '"Condition":{"NotIpAddress":{"aws:SourceIp":["20.0.0.0/24","2001:db8::/32"]},"Bool":{"aws:ViaAWSService":"false"}}}]}',
    );
    expect(ALLOWLIST_SID).toBe('AllowlistSyncDenyOutsideTrustedIps');
  });

  it('adds the KMS exemption when asked', () => {
    expect(renderDenyPolicy(['20.0.0.0/24'], { kmsViaServiceExemption: true }).Statement[0].Condition).toEqual({
      NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24'] },
      Bool: { 'aws:ViaAWSService': 'false' },
      Null: { 'kms:ViaService': 'true' },
    });
  });

  it('drops the aws:ViaAWSService exemption when switched off', () => {
    expect(renderDenyPolicy(['20.0.0.0/24'], { viaAwsServiceExemption: false }).Statement[0].Condition).toEqual({
      NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24'] },
    });
    expect(renderDenyPolicy(['20.0.0.0/24'], { viaAwsServiceExemption: false, kmsViaServiceExemption: true }).Statement[0].Condition).toEqual({
      NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24'] },
      Null: { 'kms:ViaService': 'true' },
    });
  });

  it('does not share the caller’s entries array', () => {
    const entries = ['20.0.0.0/24'];
    const document = renderDenyPolicy(entries);
    entries.push('20.0.1.0/24');
    expect(sourceIpsOf(document.Statement[0])).toEqual(['20.0.0.0/24']);
  });
});

describe('policySize', () => {
  it('counts characters, not whitespace', () => {
    expect(policySize(' { "a" : 1 }\n')).toBe(7);
    expect(policySize('')).toBe(0);
    const document = renderDenyPolicy(ENTRIES);
    expect(policySize(JSON.stringify(document, null, 2))).toBe(policySize(serializePolicy(document)));
    expect(policySize(serializePolicy(document))).toBe(serializePolicy(document).length);
  });

  it('uses IAM’s managed policy limit', () => {
    expect(MANAGED_POLICY_SIZE_LIMIT).toBe(6144);
  });
});

describe('parsePolicy', () => {
  const document = renderDenyPolicy(ENTRIES);

  it('reads a plain document', () => {
    expect(parsePolicy(serializePolicy(document))).toEqual(document);
    expect(parsePolicy(JSON.stringify(document, null, 2))).toEqual(document);
  });

  it('reads a URL-encoded document as IAM’s GetPolicyVersion returns it', () => {
    expect(parsePolicy(encodeURIComponent(JSON.stringify(document, null, 4)))).toEqual(document);
    expect(parsePolicy(encodeURIComponent(serializePolicy(document)))).toEqual(document);
  });

  it('reads a plain document saved with a UTF-8 byte order mark', () => {
    expect(parsePolicy(`\ufeff${JSON.stringify(document, null, 2)}\n`)).toEqual(document);
  });

  it('does not decode a plain document twice', () => {
    const text = '{"Version":"2012-10-17","Statement":[{"Sid":"Percent","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/100%25%20done"}]}';
    expect(parsePolicy(text).Statement[0].Resource).toBe('arn:aws:s3:::b/100%25%20done');
  });

  it('decodes a URL-encoded document exactly once', () => {
    const withPercent: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::b/50%25' }] };
    expect(parsePolicy(encodeURIComponent(JSON.stringify(withPercent))).Statement[0].Resource).toBe('arn:aws:s3:::b/50%25');
  });

  it('turns a single Statement object into a list', () => {
    expect(parsePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}')).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    });
  });

  it.each([
    ['', 'the policy document is neither JSON nor URL-encoded JSON'],
    ['not json', 'the policy document is neither JSON nor URL-encoded JSON'],
    ['%7B%22Statement', 'the policy document is neither JSON nor URL-encoded JSON'],
    ['%ZZ', 'the policy document is neither JSON nor URL-encoded JSON'],
    ['null', 'the policy document is not a JSON object'],
    ['[]', 'the policy document is not a JSON object'],
    ['"text"', 'the policy document is not a JSON object'],
    ['%5B%5D', 'the policy document is not a JSON object'],
    ['{}', 'the policy document has no Statement'],
    ['{"Version":"2012-10-17"}', 'the policy document has no Statement'],
    ['{"Statement":[1]}', 'the policy document has a Statement that is not an object'],
    ['{"Statement":"Deny"}', 'the policy document has a Statement that is not an object'],
    ['{"Statement":[{"Effect":"Deny"},null]}', 'the policy document has a Statement that is not an object'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parsePolicy(text)).toThrow(new Error(message));
  });
});

describe('findAllowlistStatement / sourceIpsOf', () => {
  const other = { Sid: 'Other', Effect: 'Allow', Action: 's3:*', Resource: '*' };
  const handMade = { Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24'] } } };

  it('finds our statement by Sid, wherever it is', () => {
    const ours = renderDenyPolicy(['20.0.0.0/24']).Statement[0];
    expect(findAllowlistStatement({ Statement: [other, handMade, ours] })).toBe(2);
  });

  it('adopts the first Deny statement with NotIpAddress aws:SourceIp', () => {
    const allowWithIp = { ...handMade, Effect: 'Allow' };
    const denyWithoutIp = { Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const second = { ...handMade, Condition: { NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } } };
    expect(findAllowlistStatement({ Statement: [other, allowWithIp, denyWithoutIp, handMade, second] })).toBe(3);
    expect(findAllowlistStatement({ Statement: [other, second] })).toBe(1);
  });

  it('finds nothing in a document without an allowlist', () => {
    expect(findAllowlistStatement({ Statement: [other] })).toBe(-1);
    expect(findAllowlistStatement({ Statement: [] })).toBe(-1);
  });

  it('reads the entries as a list or a single string', () => {
    expect(sourceIpsOf(handMade)).toEqual(['192.0.2.0/24']);
    expect(sourceIpsOf({ Condition: { NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } } })).toEqual(['198.51.100.0/24']);
    expect(sourceIpsOf(other)).toBeUndefined();
    expect(sourceIpsOf({ Condition: { NotIpAddress: { 'aws:SourceIp': [1, 2] } } })).toBeUndefined();
    expect(sourceIpsOf({ Condition: { IpAddress: { 'aws:SourceIp': ['20.0.0.0/8'] } } })).toBeUndefined();
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: 'x' } })).toBe('{"a":{"c":"x","d":[2,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe('document form of entries', () => {
  it('writes IPv4 hosts without /32 and keeps every other prefix, IPv6 hosts included', () => {
    const condition = renderCondition(['192.0.2.1/32', '20.0.0.0/8', '2001:db8::1/128', '2001:db8::/32']);
    expect(condition.NotIpAddress).toEqual({ 'aws:SourceIp': ['192.0.2.1', '20.0.0.0/8', '2001:db8::1/128', '2001:db8::/32'] });
  });
});
