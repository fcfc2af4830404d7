import fc from 'fast-check';
import { formatCidr, parseEntry } from '../../lambda/allowlist/cidr';
import { fastIpv4Key, fastIpv6, packIpv4 } from '../../lambda/allowlist/fast-parse';

// The fast paths may decline anything (the full parser then decides), but what they accept must be
// exactly what the full parser reads, with no warning to lose.
function agreesWithFullParser(text: string): void {
  const full = parseEntry(text);
  const v4 = fastIpv4Key(text);
  if (v4 >= 0) {
    expect(full).toEqual({ ok: true, cidr: { family: 4, network: BigInt(Math.floor(v4 / 64)), prefix: v4 % 64 } });
  }
  const v6 = fastIpv6(text);
  if (v6) expect(full).toEqual({ ok: true, cidr: { family: 6, ...v6 } });
}

const ipv4Block = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([a, p]) => {
  const network = a - (a % 2 ** (32 - p));
  return { network, prefix: p };
});
const hextet = fc.integer({ min: 0, max: 0xffff });
const ipv6Block = fc.tuple(fc.array(hextet, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 })).map(([groups, p]) => {
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { network: value & ~((1n << BigInt(128 - p)) - 1n), prefix: p };
});

describe('fast IPv4 path', () => {
  it('accepts every canonical block and agrees with the full parser', () => {
    fc.assert(
      fc.property(ipv4Block, ({ network, prefix }) => {
        const text = formatCidr({ family: 4, network: BigInt(network), prefix });
        expect(fastIpv4Key(text)).toBe(packIpv4(network, prefix));
        if (prefix === 32) expect(fastIpv4Key(text.slice(0, -3))).toBe(packIpv4(network, 32));
        agreesWithFullParser(text);
      }),
      { numRuns: 500 },
    );
  });

  it.each(['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/08', ' 1.2.3.4', '10.1.2.3/24', '0x0a.0.0.1', '1.2.3.4/3x'])(
    'declines %s (the full parser explains or warns)',
    (text) => {
      expect(fastIpv4Key(text)).toBe(-1);
      agreesWithFullParser(text);
    },
  );
});

describe('fast IPv6 path', () => {
  it('accepts canonical, expanded and upper-case spellings and agrees with the full parser', () => {
    fc.assert(
      fc.property(ipv6Block, ({ network, prefix }) => {
        const canonical = formatCidr({ family: 6, network, prefix });
        const expanded = `${network.toString(16).padStart(32, '0').replace(/(.{4})(?!$)/g, '$1:')}/${prefix}`;
        for (const text of [canonical, expanded, expanded.toUpperCase()]) agreesWithFullParser(text);
        const mapped = network >> 32n === 0xffffn;
        if (!mapped) expect(fastIpv6(canonical)).toEqual({ network, prefix });
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the full parser on arbitrary strings made of address characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:./%'.split('')), maxLength: 45 }), agreesWithFullParser),
      { numRuns: 2000 },
    );
  });

  it.each(['::ffff:10.0.0.1', '::ffff:a00:1', '2001:db8::1/64', '1:2:3:4:5:6:7:8:9', '1::2::3', '2001:db8:::1', 'fe80::1%eth0', '12345::', '1:2:3:4:5:6:7:', '::/129', '::/08'])(
    'declines %s (the full parser explains or warns)',
    (text) => {
      expect(fastIpv6(text)).toBeUndefined();
      agreesWithFullParser(text);
    },
  );
});
