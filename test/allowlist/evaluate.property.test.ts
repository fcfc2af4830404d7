import fc from 'fast-check';
import { Cidr, Family, formatCidr, lastAddress } from '../../lambda/allowlist/cidr';
import { RequestContext, compileDenyPolicy, evaluateDeny } from '../../lambda/allowlist/evaluate';
import { PolicyDocument, renderDenyPolicy } from '../../lambda/allowlist/policy';

// The evaluator against brute force: every address of a small space, for random lists of blocks inside it. The
// spaces are 10.0.0.0/24 and 2001:db8::/120 — the evaluator must not care that one of them is private.

const RUNS = { numRuns: 100 };
const V4_BASE = 0x0a000000n; // 10.0.0.0
const V6_BASE = 0x20010db8n << 96n; // 2001:db8::
const SPACE = 256n;

/** A block inside the 256-address space at `base`: prefixes /24-/32 (IPv4), /120-/128 (IPv6). */
function blockIn(family: Family, base: bigint): fc.Arbitrary<Cidr> {
  const bits = family === 4 ? 32 : 128;
  return fc.tuple(fc.bigInt({ min: 0n, max: SPACE - 1n }), fc.integer({ min: bits - 8, max: bits })).map(([offset, prefix]) => {
    const size = 1n << BigInt(bits - prefix);
    return { family, network: base + (offset / size) * size, prefix };
  });
}

const lists = (family: Family, base: bigint) => fc.array(blockIn(family, base), { maxLength: 8 });

const inList = (list: readonly Cidr[], family: Family, value: bigint): boolean =>
  list.some((c) => c.family === family && value >= c.network && value <= lastAddress(c));

/** Every address of the space and its two neighbours outside it, as text. */
function addresses(family: Family, base: bigint): { value: bigint; text: string }[] {
  const out = [];
  for (let value = base - 1n; value <= base + SPACE; value++) {
    const text = formatCidr({ family, network: value, prefix: family === 4 ? 32 : 128 });
    out.push({ value, text: text.slice(0, text.lastIndexOf('/')) });
  }
  return out;
}
const V4_ADDRESSES = addresses(4, V4_BASE);
const V6_ADDRESSES = addresses(6, V6_BASE);

const request = (fields: Partial<RequestContext>): RequestContext => ({ action: 'ec2:RunInstances', viaAwsService: false, ...fields });

/** Addresses (with and without aws:ViaAWSService) where the evaluator and the reference disagree. */
function disagreements(
  document: PolicyDocument,
  space: readonly { value: bigint; text: string }[],
  reference: (value: bigint, viaAwsService: boolean) => boolean,
  spell: (text: string) => string = (text) => text,
): string[] {
  const evaluator = compileDenyPolicy(document);
  const wrong: string[] = [];
  for (const { value, text } of space) {
    for (const viaAwsService of [false, true]) {
      const got = evaluator.evaluate(request({ sourceIp: spell(text), viaAwsService })).denied;
      if (got !== reference(value, viaAwsService)) wrong.push(`${spell(text)} via=${viaAwsService}: ${String(got)}`);
    }
  }
  return wrong;
}

describe('evaluateDeny agrees with brute force on the tool\'s deny', () => {
  test('IPv4: denied iff in no listed block and not via an AWS service', () => {
    fc.assert(
      fc.property(lists(4, V4_BASE), (list) => {
        const document = renderDenyPolicy(list.map(formatCidr));
        expect(disagreements(document, V4_ADDRESSES, (v, via) => !via && !inList(list, 4, v))).toEqual([]);
      }),
      RUNS,
    );
  });

  test('IPv4-mapped IPv6 callers are judged as IPv4', () => {
    fc.assert(
      fc.property(lists(4, V4_BASE), (list) => {
        const document = renderDenyPolicy(list.map(formatCidr));
        expect(disagreements(document, V4_ADDRESSES, (v, via) => !via && !inList(list, 4, v), (text) => `::ffff:${text}`)).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  test('IPv6: denied iff in no listed block and not via an AWS service; IPv4 blocks never hold IPv6 callers', () => {
    fc.assert(
      fc.property(lists(6, V6_BASE), lists(4, V4_BASE), (list, v4) => {
        const document = renderDenyPolicy([...v4, ...list].map(formatCidr));
        expect(disagreements(document, V6_ADDRESSES, (v, via) => !via && !inList(list, 6, v))).toEqual([]);
      }),
      RUNS,
    );
  });

  test('without the ViaAWSService exemption, AWS services are under the IP rule too', () => {
    fc.assert(
      fc.property(lists(4, V4_BASE), (list) => {
        const document = renderDenyPolicy(list.map(formatCidr), { viaAwsServiceExemption: false });
        expect(disagreements(document, V4_ADDRESSES, (v) => !inList(list, 4, v))).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  test('a request without aws:SourceIp is denied unless via an AWS service, whatever the list', () => {
    fc.assert(
      fc.property(lists(4, V4_BASE), lists(6, V6_BASE), fc.boolean(), (v4, v6, viaAwsService) => {
        const decision = evaluateDeny(renderDenyPolicy([...v4, ...v6].map(formatCidr)), request({ viaAwsService, sourceVpce: 'vpce-1' }));
        expect(decision.denied).toBe(!viaAwsService);
      }),
      RUNS,
    );
  });
});

describe('evaluateDeny agrees with brute force on other IP operators', () => {
  const single = (operator: string, list: readonly Cidr[]): PolicyDocument => ({
    Statement: [{ Effect: 'Deny', Action: 'ec2:*', Resource: '*', Condition: { [operator]: { 'aws:SourceIp': list.map(formatCidr) } } }],
  });
  const absent = (document: PolicyDocument) => evaluateDeny(document, request({})).denied;

  test.each<[string, (inside: boolean) => boolean, boolean]>([
    // [operator, denied for a present address, denied when aws:SourceIp is absent]
    ['NotIpAddress', (inside) => !inside, true],
    ['NotIpAddressIfExists', (inside) => !inside, true],
    ['IpAddress', (inside) => inside, false],
    ['IpAddressIfExists', (inside) => inside, true],
    ['ForAnyValue:NotIpAddress', (inside) => !inside, false],
    ['ForAllValues:IpAddress', (inside) => inside, true],
  ])('%s', (operator, present, whenAbsent) => {
    fc.assert(
      fc.property(lists(4, V4_BASE), lists(6, V6_BASE), (v4, v6) => {
        const list = [...v4, ...v6];
        const document = single(operator, list);
        expect(disagreements(document, V4_ADDRESSES, (v) => present(inList(list, 4, v)))).toEqual([]);
        expect(disagreements(document, V6_ADDRESSES, (v) => present(inList(list, 6, v)))).toEqual([]);
        expect(absent(document)).toBe(whenAbsent);
      }),
      { numRuns: 40 },
    );
  });
});
