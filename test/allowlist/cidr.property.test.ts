import fc from 'fast-check';
import { Cidr, Family, aggregate, familyBits, formatCidr, lastAddress, parseEntry, subtract } from '../../lambda/allowlist/cidr';

const RUNS = { numRuns: 200 };

/** Blocks inside a small window of each family (so they nest and touch often), plus the space's edges. */
function cidrIn(family: Family, windowBase: bigint, windowBits: number): fc.Arbitrary<Cidr> {
  const bits = familyBits(family);
  return fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << BigInt(windowBits)) - 1n }), fc.integer({ min: bits - windowBits, max: bits }))
    .map(([offset, prefix]) => {
      const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
      return { family, network: (windowBase + offset) & mask, prefix };
    });
}

const V4_TOP = 0xffffffffn;
const V6_TOP = (1n << 128n) - 1n;

const anyCidr: fc.Arbitrary<Cidr> = fc.oneof(
  { weight: 5, arbitrary: cidrIn(4, 0x0a000000n, 10) },
  { weight: 2, arbitrary: cidrIn(4, V4_TOP - 0x3ffn, 10) },
  { weight: 3, arbitrary: cidrIn(6, 0x20010db8n << 96n, 10) },
  { weight: 1, arbitrary: cidrIn(6, V6_TOP - 0x3ffn, 10) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Cidr>(
      { family: 4, network: 0n, prefix: 0 },
      { family: 6, network: 0n, prefix: 0 },
      { family: 4, network: 0n, prefix: 1 },
      { family: 4, network: 0x80000000n, prefix: 1 },
      { family: 6, network: 0n, prefix: 128 },
    ),
  },
);

const cidrList = fc.array(anyCidr, { maxLength: 12 });

interface Address {
  family: Family;
  value: bigint;
}

function contains(list: readonly Cidr[], address: Address): boolean {
  return list.some((c) => c.family === address.family && address.value >= c.network && address.value <= lastAddress(c));
}

/** Every block's first and last address, and the addresses just outside, clamped to the space. */
function boundaryProbes(...lists: (readonly Cidr[])[]): Address[] {
  const probes: Address[] = [];
  for (const list of lists) {
    for (const c of list) {
      const top = c.family === 4 ? V4_TOP : V6_TOP;
      for (const value of [c.network - 1n, c.network, lastAddress(c), lastAddress(c) + 1n]) {
        if (value >= 0n && value <= top) probes.push({ family: c.family, value });
      }
    }
  }
  return probes;
}

const randomProbes = fc.array(
  fc.oneof(
    fc.bigInt({ min: 0x0a000000n - 2n, max: 0x0a000400n + 2n }).map((value): Address => ({ family: 4, value })),
    fc.bigInt({ min: 0n, max: V4_TOP }).map((value): Address => ({ family: 4, value })),
    fc.bigInt({ min: 0n, max: V6_TOP }).map((value): Address => ({ family: 6, value })),
    fc.bigInt({ min: (0x20010db8n << 96n) - 2n, max: (0x20010db8n << 96n) + 0x402n }).map((value): Address => ({ family: 6, value })),
  ),
  { maxLength: 20 },
);

const isAligned = (c: Cidr): boolean => (c.network & ((1n << BigInt(familyBits(c.family) - c.prefix)) - 1n)) === 0n;

/** The probes on which `actual` and `expected` disagree (expected: none). One expect per run keeps it fast. */
function disagreements(probes: readonly Address[], actual: (p: Address) => boolean, expected: (p: Address) => boolean): Address[] {
  return probes.filter((p) => actual(p) !== expected(p));
}

function expectSameAddresses(a: readonly Cidr[], b: readonly Cidr[], probes: readonly Address[]): void {
  const all = [...probes, ...boundaryProbes(a, b)];
  expect(disagreements(all, (p) => contains(a, p), (p) => contains(b, p))).toEqual([]);
}

describe('aggregate (properties)', () => {
  it('covers exactly the same addresses as its input', () => {
    fc.assert(
      fc.property(cidrList, randomProbes, (input, probes) => {
        expectSameAddresses(aggregate(input), input, probes);
      }),
      RUNS,
    );
  });

  it('gives aligned, sorted, non-overlapping blocks with nothing left to merge', () => {
    fc.assert(
      fc.property(cidrList, (input) => {
        const out = aggregate(input);
        for (const c of out) expect(isAligned(c)).toBe(true);
        for (let i = 1; i < out.length; i++) {
          const [a, b] = [out[i - 1], out[i]];
          if (a.family !== b.family) {
            expect([a.family, b.family]).toEqual([4, 6]);
            continue;
          }
          // Sorted and disjoint; and not even touching unless they cannot form one aligned block.
          expect(b.network > lastAddress(a)).toBe(true);
          const mergeable =
            a.prefix === b.prefix && a.prefix > 0 && lastAddress(a) + 1n === b.network && isAligned({ ...a, prefix: a.prefix - 1 });
          expect(mergeable).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('is idempotent and ignores input order and duplicates', () => {
    fc.assert(
      fc.property(cidrList, fc.infiniteStream(fc.double()), (input, randoms) => {
        const once = aggregate(input);
        expect(aggregate(once)).toEqual(once);
        const shuffled = [...input, ...input.slice(0, 3)]
          .map((c) => ({ c, key: randoms.next().value }))
          .sort((x, y) => x.key - y.key)
          .map((x) => x.c);
        expect(aggregate(shuffled)).toEqual(once);
      }),
      RUNS,
    );
  });

  it('round-trips through its canonical text', () => {
    fc.assert(
      fc.property(cidrList, (input) => {
        for (const c of aggregate(input)) {
          const text = formatCidr(c);
          // Blocks inside ::ffff:0:0/96 are read back as IPv4, by design; none are generated here.
          expect(parseEntry(text)).toEqual({ ok: true, cidr: c });
        }
      }),
      RUNS,
    );
  });
});

describe('subtract (properties)', () => {
  it('a − b holds exactly the addresses of a not in b, in canonical form', () => {
    fc.assert(
      fc.property(cidrList, cidrList, randomProbes, (a, b, probes) => {
        const diff = subtract(a, b);
        expect(aggregate(diff)).toEqual(diff);
        const all = [...probes, ...boundaryProbes(a, b, diff)];
        expect(disagreements(all, (p) => contains(diff, p), (p) => contains(a, p) && !contains(b, p))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('(a − b) is disjoint from b, and (a − b) ∪ (a ∩ b) = a', () => {
    fc.assert(
      fc.property(cidrList, cidrList, (a, b) => {
        const diff = subtract(a, b);
        expect(subtract(diff, b)).toEqual(diff);
        const intersection = subtract(a, diff);
        expect(subtract(intersection, b)).toEqual([]);
        expect(aggregate([...diff, ...intersection])).toEqual(aggregate(a));
      }),
      RUNS,
    );
  });
});
