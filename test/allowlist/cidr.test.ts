import { Cidr, aggregate, formatCidr, isCovered, lastAddress, normalize, parseEntry, subtract } from '../../lambda/allowlist/cidr';

/** Parses an entry that must be valid, returning its canonical text and warning. */
function canonical(text: string): { text: string; warning?: string } {
  const parsed = parseEntry(text);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to be valid, got: ${parsed.reason}`);
  return parsed.warning === undefined ? { text: formatCidr(parsed.cidr) } : { text: formatCidr(parsed.cidr), warning: parsed.warning };
}

function reasonOf(text: string): string {
  const parsed = parseEntry(text);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to be invalid, got ${formatCidr(parsed.cidr)}`);
  return parsed.reason;
}

function cidr(text: string): Cidr {
  const parsed = parseEntry(text);
  if (!parsed.ok) throw new Error(`bad test input ${text}`);
  return parsed.cidr;
}

const agg = (...texts: string[]): string[] => aggregate(texts.map(cidr)).map(formatCidr);

const NOT_AN_ADDRESS = 'not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros)';

describe('parseEntry: accepted spellings and their canonical text', () => {
  it.each([
    ['20.0.0.1', '20.0.0.1/32'],
    ['20.0.0.1/32', '20.0.0.1/32'],
    ['0.0.0.0', '0.0.0.0/32'],
    ['20.0.0.0/8', '20.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['255.255.255.255', '255.255.255.255/32'],
    ['  192.168.1.0/24\t', '192.168.1.0/24'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2600:1F18:24D7:1000:0000:0000:0000:0000/56', '2600:1f18:24d7:1000::/56'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['::', '::/128'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
    // RFC 5952: the longest run of zeros is compressed, the first on a tie, a single zero never.
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1/128'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1/128'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0/128'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304/128'],
  ])('%j is %s', (input, expected) => {
    expect(canonical(input)).toEqual({ text: expected });
  });

  it('reads a bare IPv4 address and its /32 as the same block', () => {
    expect(parseEntry('20.0.0.1')).toEqual(parseEntry('20.0.0.1/32'));
    expect(parseEntry('20.0.0.1')).toEqual({ ok: true, cidr: { family: 4, network: 0x14000001n, prefix: 32 } });
  });

  it('reads a bare IPv6 address as /128', () => {
    expect(parseEntry('2001:db8::1')).toEqual({ ok: true, cidr: { family: 6, network: 0x20010db8000000000000000000000001n, prefix: 128 } });
  });

  it('clears host bits and says so', () => {
    expect(canonical('20.1.2.3/24')).toEqual({ text: '20.1.2.0/24', warning: 'host bits set; using the network 20.1.2.0/24' });
    expect(canonical('2001:db8::1/32')).toEqual({ text: '2001:db8::/32', warning: 'host bits set; using the network 2001:db8::/32' });
    expect(canonical('255.255.255.255/0')).toEqual({ text: '0.0.0.0/0', warning: 'host bits set; using the network 0.0.0.0/0' });
  });

  it('turns IPv4-mapped IPv6 into IPv4, with a warning', () => {
    expect(canonical('::ffff:20.0.0.1')).toEqual({ text: '20.0.0.1/32', warning: 'IPv4-mapped IPv6 address; using 20.0.0.1/32' });
    expect(canonical('::FFFF:20.0.0.1')).toEqual({ text: '20.0.0.1/32', warning: 'IPv4-mapped IPv6 address; using 20.0.0.1/32' });
    expect(canonical('0:0:0:0:0:ffff:1400:1')).toEqual({ text: '20.0.0.1/32', warning: 'IPv4-mapped IPv6 address; using 20.0.0.1/32' });
    expect(canonical('::ffff:20.0.0.0/120')).toEqual({ text: '20.0.0.0/24', warning: 'IPv4-mapped IPv6 address; using 20.0.0.0/24' });
    expect(canonical('::ffff:255.255.255.255')).toEqual({ text: '255.255.255.255/32', warning: 'IPv4-mapped IPv6 address; using 255.255.255.255/32' });
  });

  it('keeps a block broader than the mapped range as IPv6', () => {
    expect(canonical('::ffff:0:0/95')).toEqual({ text: '::fffe:0:0/95', warning: 'host bits set; using the network ::fffe:0:0/95' });
  });

  it.each([
    ['10.0.0', NOT_AN_ADDRESS],
    ['010.0.0.1', NOT_AN_ADDRESS],
    ['20.0.0.01', NOT_AN_ADDRESS],
    ['0x0a.0.0.1', NOT_AN_ADDRESS],
    ['1.2.3.4.5', NOT_AN_ADDRESS],
    ['256.0.0.1', NOT_AN_ADDRESS],
    ['167772161', NOT_AN_ADDRESS],
    ['/8', NOT_AN_ADDRESS],
    ['example.com', NOT_AN_ADDRESS],
    ['localhost', NOT_AN_ADDRESS],
    ['fe80::1%eth0', NOT_AN_ADDRESS],
    ['fe80::1%25eth0', NOT_AN_ADDRESS],
    ['[::1]', NOT_AN_ADDRESS],
    ['1::2::3', NOT_AN_ADDRESS],
    ['1:2:3:4:5:6:7:8:9', NOT_AN_ADDRESS],
    ['12345::1', NOT_AN_ADDRESS],
    ['1.2.3.4 5.6.7.8', NOT_AN_ADDRESS],
    ['1.2.3.4 /24', NOT_AN_ADDRESS],
    ['１.2.3.4', NOT_AN_ADDRESS],
    ['', 'empty entry'],
    ['   ', 'empty entry'],
    ['1.2.3.4/33', 'prefix /33 is longer than IPv4 allows (/32)'],
    ['::/129', 'prefix /129 is longer than IPv6 allows (/128)'],
    ['20.0.0.0/', 'prefix "/" is not a number'],
    ['20.0.0.0/08', 'prefix "/08" is not a number'],
    ['1.2.3.4/0032', 'prefix "/0032" is not a number'],
    ['1.2.3.4/+24', 'prefix "/+24" is not a number'],
    ['1.2.3.4/-1', 'prefix "/-1" is not a number'],
    ['1.2.3.4/ 24', 'prefix "/ 24" is not a number'],
    ['1.2.3.4/24/5', 'prefix "/24/5" is not a number'],
    ['1.2.3.4/٣', 'prefix "/٣" is not a number'],
    ['::ffff:010.0.0.1', 'the IPv4 part of an IPv6 address must be four decimal parts without leading zeros'],
    ['::ffff:0x0a.0.0.1', 'the IPv4 part of an IPv6 address must be four decimal parts without leading zeros'],
    ['::1.2.3.4', 'IPv4-compatible IPv6 (::a.b.c.d) is deprecated and ambiguous: write a.b.c.d or ::ffff:a.b.c.d'],
  ])('%j is invalid: %s', (input, reason) => {
    expect(reasonOf(input)).toBe(reason);
  });
});

describe('formatCidr and lastAddress', () => {
  it('formats the top of both families', () => {
    expect(formatCidr({ family: 4, network: 0xffffffffn, prefix: 32 })).toBe('255.255.255.255/32');
    expect(formatCidr({ family: 6, network: (1n << 128n) - 1n, prefix: 128 })).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128');
    expect(formatCidr({ family: 6, network: 0n, prefix: 0 })).toBe('::/0');
  });

  it('gives the last address of a block', () => {
    expect(lastAddress(cidr('20.0.0.0/24'))).toBe(0x140000ffn);
    expect(lastAddress(cidr('0.0.0.0/0'))).toBe(0xffffffffn);
    expect(lastAddress(cidr('::/0'))).toBe((1n << 128n) - 1n);
    expect(lastAddress(cidr('20.0.0.1'))).toBe(0x14000001n);
  });
});

describe('aggregate', () => {
  it('returns nothing for nothing', () => {
    expect(agg()).toEqual([]);
  });

  it('removes duplicates written differently', () => {
    expect(agg('20.0.0.1', '20.0.0.1/32', '20.0.0.1/32', '::ffff:20.0.0.1')).toEqual(['20.0.0.1/32']);
    expect(agg('2001:DB8::/32', '2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32')).toEqual(['2001:db8::/32']);
    expect(agg('2001:db8::1', '2001:db8::1/128')).toEqual(['2001:db8::1/128']);
  });

  it('drops nested blocks', () => {
    expect(agg('20.0.0.0/24', '20.0.0.128/25', '20.0.0.7', '20.0.0.0/24')).toEqual(['20.0.0.0/24']);
    expect(agg('2001:db8:1::/48', '2001:db8::/32', '2001:db8:ffff::1')).toEqual(['2001:db8::/32']);
    expect(agg('20.0.0.0/8', '0.0.0.0/0', '192.168.0.0/16')).toEqual(['0.0.0.0/0']);
    expect(agg('::/0', '2001:db8::/32', 'ffff::1')).toEqual(['::/0']);
  });

  it('merges adjacent aligned blocks, repeatedly', () => {
    expect(agg('20.0.0.0/25', '20.0.0.128/25')).toEqual(['20.0.0.0/24']);
    expect(agg('20.0.0.0/24', '20.0.1.0/25', '20.0.1.128/25')).toEqual(['20.0.0.0/23']);
    expect(agg('20.0.0.0', '20.0.0.1', '20.0.0.2', '20.0.0.3')).toEqual(['20.0.0.0/30']);
    expect(agg('2001:db8::/33', '2001:db8:8000::/33')).toEqual(['2001:db8::/32']);
    expect(agg('0.0.0.0/1', '128.0.0.0/1')).toEqual(['0.0.0.0/0']);
    expect(agg('::/1', '8000::/1')).toEqual(['::/0']);
  });

  it('does not merge adjacent blocks that are not aligned', () => {
    expect(agg('20.0.1.0/24', '20.0.2.0/24')).toEqual(['20.0.1.0/24', '20.0.2.0/24']);
    expect(agg('20.0.0.1', '20.0.0.2')).toEqual(['20.0.0.1/32', '20.0.0.2/32']);
    expect(agg('2001:db8:1::/48', '2001:db8:2::/48')).toEqual(['2001:db8:1::/48', '2001:db8:2::/48']);
    // A run of three /25s covers a /24 and a /25, not three /25s.
    expect(agg('20.0.0.0/25', '20.0.0.128/25', '20.0.1.0/25')).toEqual(['20.0.0.0/24', '20.0.1.0/25']);
    // Adjacent, different sizes, starting unaligned: split into the fewest aligned blocks.
    expect(agg('20.0.0.128/25', '20.0.1.0/24')).toEqual(['20.0.0.128/25', '20.0.1.0/24']);
  });

  it('orders IPv4 before IPv6, numerically (not as text)', () => {
    expect(agg('2001:db8::/32', '192.168.0.0/16', '::1', '9.0.0.0/8', '20.0.0.0/8', '1.2.3.4', '2001:db8::/32')).toEqual([
      '1.2.3.4/32',
      '9.0.0.0/8',
      '20.0.0.0/8',
      '192.168.0.0/16',
      '::1/128',
      '2001:db8::/32',
    ]);
    expect(agg('20.0.0.10', '20.0.0.9', '20.0.0.100')).toEqual(['20.0.0.9/32', '20.0.0.10/32', '20.0.0.100/32']);
  });

  it('keeps the families apart: nested and adjacent only within a family', () => {
    expect(agg('0.0.0.0/0', '::/0')).toEqual(['0.0.0.0/0', '::/0']);
    // ::ffff:0:0/96 becomes IPv4 /0 on parsing; the IPv6 range right below it stays IPv6.
    expect(agg('255.255.255.255', '::', '::/127', '0.0.0.0/1', '128.0.0.0/1')).toEqual(['0.0.0.0/0', '::/127']);
    expect(agg('20.0.0.0/25', '::/1', '20.0.0.128/25', '8000::/1', '20.0.0.5')).toEqual(['20.0.0.0/24', '::/0']);
  });

  it('handles the very top of each address space', () => {
    expect(agg('255.255.255.255/32', '255.255.255.254/32')).toEqual(['255.255.255.254/31']);
    expect(agg('255.255.255.255', '255.255.255.253')).toEqual(['255.255.255.253/32', '255.255.255.255/32']);
    expect(agg('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe')).toEqual([
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127',
    ]);
    expect(agg('128.0.0.0/1', '255.255.255.255')).toEqual(['128.0.0.0/1']);
  });

  it('does not modify its input', () => {
    const input = [cidr('20.0.0.128/25'), cidr('20.0.0.0/25')];
    const copy = input.map((c) => ({ ...c }));
    aggregate(input);
    expect(input).toEqual(copy);
  });
});

describe('subtract and isCovered', () => {
  const sub = (a: string[], b: string[]): string[] => subtract(a.map(cidr), b.map(cidr)).map(formatCidr);

  it('gives the exact address difference', () => {
    expect(sub(['20.0.0.0/24'], ['20.0.0.0/25'])).toEqual(['20.0.0.128/25']);
    expect(sub(['20.0.0.0/24'], ['20.0.0.1'])).toEqual([
      '20.0.0.0/32',
      '20.0.0.2/31',
      '20.0.0.4/30',
      '20.0.0.8/29',
      '20.0.0.16/28',
      '20.0.0.32/27',
      '20.0.0.64/26',
      '20.0.0.128/25',
    ]);
    expect(sub(['20.0.0.0/25'], ['20.0.0.0/24'])).toEqual([]);
    expect(sub(['20.0.0.0/24', '2001:db8::/32'], ['2001:db8::/33'])).toEqual(['20.0.0.0/24', '2001:db8:8000::/33']);
    expect(sub(['0.0.0.0/0'], ['::/0'])).toEqual(['0.0.0.0/0']);
    expect(sub([], ['20.0.0.0/8'])).toEqual([]);
    expect(sub(['20.0.0.0/30'], [])).toEqual(['20.0.0.0/30']);
    expect(sub(['20.0.0.0/24', '20.0.2.0/24'], ['20.0.0.0/23'])).toEqual(['20.0.2.0/24']);
  });

  it('removes several holes from one range', () => {
    expect(sub(['20.0.0.0/29'], ['20.0.0.1', '20.0.0.4', '20.0.0.7'])).toEqual(['20.0.0.0/32', '20.0.0.2/31', '20.0.0.5/32', '20.0.0.6/32']);
  });

  it('tells whether a block is covered by a list', () => {
    expect(isCovered(cidr('20.0.0.0/24'), [cidr('20.0.0.0/25'), cidr('20.0.0.128/25')])).toBe(true);
    expect(isCovered(cidr('20.0.0.0/24'), [cidr('20.0.0.0/25')])).toBe(false);
    expect(isCovered(cidr('20.0.0.0/24'), [cidr('::/0')])).toBe(false);
    expect(isCovered(cidr('20.0.0.0/24'), [])).toBe(false);
  });
});

describe('normalize', () => {
  it('aggregates valid entries and reports invalid ones with their source', () => {
    const result = normalize([
      { value: '20.0.0.0/25', source: 'file:a.txt' },
      { value: '20.0.0.128/25', source: 'static:EXTRA_CIDRS' },
      { value: '10.0.0', source: 'file:a.txt' },
      { value: '2001:DB8::1/32', source: 'ocm' },
      { value: '::ffff:192.0.2.1', source: 'ocm' },
      { value: '', source: 'static' },
    ]);
    expect(result).toEqual({
      cidrs: [cidr('20.0.0.0/24'), cidr('192.0.2.1'), cidr('2001:db8::/32')],
      invalid: [
        { value: '10.0.0', source: 'file:a.txt', reason: NOT_AN_ADDRESS },
        { value: '', source: 'static', reason: 'empty entry' },
      ],
      neverSeen: [],
      warnings: [
        '"2001:DB8::1/32" from ocm: host bits set; using the network 2001:db8::/32',
        '"::ffff:192.0.2.1" from ocm: IPv4-mapped IPv6 address; using 192.0.2.1/32',
      ],
    });
  });

  it('gives an empty result for no entries', () => {
    expect(normalize([])).toEqual({ cidrs: [], invalid: [], neverSeen: [], warnings: [] });
  });
});
