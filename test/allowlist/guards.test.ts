import fc from 'fast-check';
import { addressCount, formatAddresses, formatCount } from '../../lambda/allowlist/addresses';
import { Cidr, NormalizedEntries, normalize, parseEntry, subtract } from '../../lambda/allowlist/cidr';
import { removalMeasure } from '../../lambda/allowlist/guards';
import { PLACEHOLDER_POLICY_DOCUMENT } from '../../lambda/allowlist/placeholder';
import { plan } from '../../lambda/allowlist/plan';
import { ALLOWLIST_SID, PolicyDocument, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';

const desired = (...values: string[]): NormalizedEntries => normalize(values.map((value) => ({ value, source: 'ssm:/office' })));
const doc = (...entries: string[]): string => serializePolicy(renderDenyPolicy(entries));
const codes = (p: { refusals: { code: string }[] }): string[] => p.refusals.map((r) => r.code);
const cidr = (text: string): Cidr => {
  const parsed = parseEntry(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.cidr;
};
/** n public /24s that never merge: 20.0.0.0/24, 20.0.2.0/24, ... */
const spaced = (n: number, second = 0): string[] => Array.from({ length: n }, (_, i) => `20.${second}.${i * 2}.0/24`);

describe('widening is guarded: the additions budget, in addresses', () => {
  const twenty = spaced(20);

  it('refuses 112 disjoint /8s added to a 20-entry list (44% of the IPv4 space), approvably', () => {
    const eights = Array.from({ length: 112 }, (_, i) => `${i * 2 + 1}.0.0.0/8`).filter((e) => !e.startsWith('127.'));
    const p = plan({ document: doc(...twenty) }, desired(...twenty, ...eights));
    expect(codes(p)).toContain('mass-addition');
    expect(p.refusals.find((r) => r.code === 'mass-addition')).toMatchObject({ approvable: true, message: expect.stringMatching(/newly allow ~?2\^\d+(\.\d)? addresses of IPv4 \(at most 65,536 addresses\)/) });
  });

  it('refuses one /9 added, and says how many addresses that is', () => {
    const p = plan({ document: doc(...twenty) }, desired(...twenty, '52.0.0.0/9'));
    expect(p.refusals).toEqual([{ code: 'mass-addition', approvable: true, message: 'the change would newly allow 2^23 addresses of IPv4 (at most 65,536 addresses) in one step' }]);
  });

  it('lets three ordinary new entries through, and exactly one /16 worth', () => {
    expect(plan({ document: doc(...twenty) }, desired(...twenty, '3.132.100.80/28', '52.15.23.0/27', '18.222.33.44')).status).toBe('changes');
    expect(plan({ document: doc(...twenty) }, desired(...twenty, '52.1.0.0/16')).status).toBe('changes');
    expect(codes(plan({ document: doc(...twenty) }, desired(...twenty, '52.1.0.0/16', '52.2.0.1')))).toEqual(['mass-addition']);
  });

  it('measures IPv6 against one /40 worth', () => {
    const current = { document: doc(...twenty, '2600:1f18:24d7:1000::/56') };
    expect(plan(current, desired(...twenty, '2600:1f18:24d7:1000::/56', '2a05:d018::/40')).status).toBe('changes');
    const p = plan(current, desired(...twenty, '2600:1f18:24d7:1000::/56', '2a05:d018::/39'));
    expect(p.refusals).toEqual([{ code: 'mass-addition', approvable: true, message: 'the change would newly allow 2^89 addresses of IPv6 (at most one /40, 2^88 addresses) in one step' }]);
  });

  it('counts only addresses not allowed before: widening a block by its own half is the half', () => {
    const half = plan({ document: doc('52.0.0.0/17', ...twenty) }, desired('52.0.0.0/16', ...twenty));
    expect(half).toMatchObject({ status: 'changes', added: ['52.0.128.0/17'], addedEntries: ['52.0.0.0/16'], removedEntries: ['52.0.0.0/17'] });
    const more = plan({ document: doc('52.0.0.0/16', ...twenty) }, desired('52.0.0.0/14', ...twenty));
    expect(more.refusals[0].message).toContain('newly allow 196,608 addresses of IPv4');
  });

  it('takes its budgets from the guards', () => {
    const p = plan({ document: doc(...twenty) }, desired(...twenty, '52.0.0.0/9'), { guards: { maxAddedIpv4Addresses: 2 ** 23 } });
    expect(p.status).toBe('changes');
    const v6 = plan({ document: doc(...twenty) }, desired(...twenty, '2a05:d018::/48'), { guards: { maxAddedIpv6Prefix: 56 } });
    expect(codes(v6)).toEqual(['mass-addition']);
  });

  it('exempts adopting the placeholder, an absent document, or one without any aws:SourceIp statement', () => {
    const big = desired('52.0.0.0/9', '2a05:d018::/36');
    const placeholder = serializePolicy(PLACEHOLDER_POLICY_DOCUMENT as unknown as PolicyDocument);
    expect(plan({ document: placeholder }, big)).toMatchObject({ status: 'changes', adoption: true, currentKind: 'placeholder', statementChanges: [] });
    expect(plan({}, big)).toMatchObject({ status: 'changes', currentKind: 'absent' });
  });
});

describe('removal is measured in addresses', () => {
  it('refuses dropping a /16 that is 1 of 10 entries (99.99% of the addresses)', () => {
    const current = [...spaced(9), '52.1.0.0/16'];
    const p = plan({ document: doc(...current) }, desired(...spaced(9)));
    expect(p.refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '1 of 10 current entries would be removed (10%, 97% of the IPv4 addresses), more than the 30% allowed' },
    ]);
  });

  it('measures each family on its own: losing the one big IPv6 block is losing IPv6', () => {
    const current = [...spaced(9), '2600:1f18:24d7:1000::/56', '2a05:d018:1234::/48'];
    const p = plan({ document: doc(...current) }, desired(...spaced(9), '2600:1f18:24d7:1000::/56'));
    expect(p.refusals[0].message).toBe('1 of 11 current entries would be removed (9%, 99.5+% of the IPv6 addresses), more than the 30% allowed');
    expect(plan({ document: doc(...current) }, desired(...spaced(9), '2a05:d018:1234::/48')).status).toBe('changes');
  });

  it('agrees with a brute force count on small address spaces (property)', () => {
    // Blocks inside 198.51.100.0/24: 256 addresses, enumerable.
    const block = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })).map(([offset, prefix]) => {
      const size = 2 ** (32 - prefix);
      return `198.51.100.${Math.floor(offset / size) * size}/${prefix}`;
    });
    const addresses = (entries: string[]): Set<number> => {
      const set = new Set<number>();
      for (const e of entries) {
        const c = cidr(e);
        for (let a = Number(c.network); a < Number(c.network) + 2 ** (32 - c.prefix); a++) set.add(a);
      }
      return set;
    };
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 8 }), fc.array(block, { maxLength: 8 }), (reference, next) => {
        const ref = addresses(reference);
        const want = addresses(next);
        const lost = [...ref].filter((a) => !want.has(a)).length;
        const gained = [...want].filter((a) => !ref.has(a)).length;
        const m = removalMeasure({ cidrs: reference.map(cidr), unparsed: 0 }, next.map(cidr));
        expect(m.ipv4).toBeCloseTo(lost / ref.size, 9);
        const entryLost = reference.filter((e) => [...addresses([e])].some((a) => !want.has(a))).length;
        expect(m.lostEntries).toBe(entryLost);
        expect(m.worst).toBeCloseTo(Math.max(lost / ref.size, entryLost / reference.length), 9);
        expect(addressCount(subtract(next.map(cidr), reference.map(cidr)), 4)).toBe(BigInt(gained));
      }),
      { numRuns: 300 },
    );
  });
});

describe('removal is measured over time: the baseline', () => {
  it('refuses the step at which many small removals add up to more than 30% of the baseline', () => {
    // Twelve runs each removing 29% would take 100 entries to 3; the second one is refused.
    const hundred = [...spaced(100)];
    const baseline = { entries: hundred, versionId: 'v2', since: '2026-11-28T00:00:00.000Z' };
    const first = hundred.slice(0, 71);
    expect(plan({ document: doc(...hundred) }, desired(...first), { baseline }).status).toBe('changes');
    const second = first.slice(0, 51);
    const p = plan({ document: doc(...first) }, desired(...second), { baseline });
    expect(p.refusals).toEqual([
      {
        code: 'mass-removal',
        approvable: true,
        message:
          '49 of 100 baseline entries would be removed (49%) counting earlier changes, more than the 30% allowed: the baseline is the largest allowlist in force within 7 days (v2, since 2026-11-28T00:00:00.000Z)',
      },
    ]);
    expect(p.baselineVersionId).toBe('v2');
  });

  it('does not refuse a plan that removes nothing now, however far below the baseline the list already is', () => {
    const baseline = { entries: spaced(100), versionId: 'v2' };
    const p = plan({ document: doc(...spaced(50)) }, desired(...spaced(50), '52.0.0.0/24'), { baseline });
    expect(p.status).toBe('changes');
  });

  it('is ignored when adopting (there is no allowlist to protect yet)', () => {
    expect(plan({}, desired(...spaced(3)), { baseline: { entries: spaced(100) } }).status).toBe('changes');
  });
});

describe('adoption is only adoption', () => {
  const twenty = spaced(20);
  const ours = renderDenyPolicy(twenty);

  it('sees our statement edited to NotIpAddressIfExists as the allowlist: 20 entries to 1 is a mass removal, and the edit is named', () => {
    const condition = { NotIpAddressIfExists: { 'aws:SourceIp': twenty }, Bool: { 'aws:ViaAWSService': 'false' } };
    const edited: PolicyDocument = { ...ours, Statement: [{ ...ours.Statement[0], Condition: condition }] };
    const p = plan({ document: serializePolicy(edited) }, desired(twenty[0]));
    expect(p).toMatchObject({ adoption: false, currentKind: 'allowlist', drift: true, currentEntries: twenty });
    expect(codes(p)).toEqual(['mass-removal']);
    expect(p.statementChanges).toEqual([
      { change: 'changed', label: `Sid "${ALLOWLIST_SID}" (Deny *)`, allow: false, detail: 'Condition NotIpAddressIfExists (not ours), NotIpAddress (missing)' },
    ]);
  });

  it('still sees the allowlist when the Sid is gone too, under any operator, in any key case', () => {
    const handMade: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddressIfExists: { 'AWS:SourceIP': twenty } } }] };
    const p = plan({ document: serializePolicy(handMade) }, desired(twenty[0]));
    expect(p).toMatchObject({ adoption: false, currentKind: 'allowlist' });
    expect(codes(p)).toEqual(['mass-removal']);
  });

  it('refuses adopting a hand-made policy that holds other statements, naming each; approvable', () => {
    const handMade: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DenyOutsideOffice', Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': twenty } } },
        { Sid: 'BreakGlass', Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: ['s3:DeleteBucket', 's3:PutBucketPolicy'], Resource: '*' },
      ],
    };
    const p = plan({ document: serializePolicy(handMade) }, desired(...twenty));
    expect(p.refusals).toEqual([
      {
        code: 'foreign-statements',
        approvable: true,
        message:
          'adopting this policy would drop 2 statements allowlist-sync did not write: an ALLOW statement, Sid "BreakGlass" (Allow *); Deny s3:DeleteBucket,s3:PutBucketPolicy (no Sid); move them to another policy, or approve to drop them',
      },
    ]);
  });

  it('restores a managed policy that gained an Allow by hand, without a refusal, naming it and flagging the Allow', () => {
    const attacked: PolicyDocument = { ...ours, Statement: [ours.Statement[0], { Sid: 'Backdoor', Effect: 'Allow', Action: '*', Resource: '*' }] };
    const p = plan({ document: serializePolicy(attacked) }, desired(...twenty));
    expect(p).toMatchObject({ status: 'changes', drift: true, refusals: [] });
    expect(p.statementChanges).toEqual([{ change: 'removed', label: 'Sid "Backdoor" (Allow *)', allow: true }]);
    expect(p.document).toBe(doc(...twenty));
  });

  it('flags our own statement turned into an Allow', () => {
    const flipped: PolicyDocument = { ...ours, Statement: [{ ...ours.Statement[0], Effect: 'Allow' }] };
    const p = plan({ document: serializePolicy(flipped) }, desired(...twenty));
    expect(p.statementChanges).toEqual([{ change: 'changed', label: `Sid "${ALLOWLIST_SID}" (Allow *)`, allow: true, detail: 'Effect "Allow" (expected "Deny")' }]);
  });

  it('treats the placeholder with a hand-added statement as ours: restored, the addition named', () => {
    const placeholder = PLACEHOLDER_POLICY_DOCUMENT as unknown as PolicyDocument;
    const edited: PolicyDocument = { ...placeholder, Statement: [...placeholder.Statement, { Sid: 'Extra', Effect: 'Allow', Action: 'iam:*', Resource: '*' }] };
    const p = plan({ document: serializePolicy(edited) }, desired(...twenty));
    expect(p).toMatchObject({ status: 'changes', currentKind: 'no-allowlist', adoption: true, refusals: [] });
    expect(p.statementChanges).toEqual([{ change: 'removed', label: 'Sid "Extra" (Allow iam:*)', allow: true }]);
  });
});

describe('addresses aws:SourceIp never sees', () => {
  it.each([
    ['10.1.2.0/24', 'private (RFC 1918), inside 10.0.0.0/8'],
    ['172.16.0.1', 'private (RFC 1918), inside 172.16.0.0/12'],
    ['192.168.1.0/24', 'private (RFC 1918), inside 192.168.0.0/16'],
    ['100.64.0.0/10', 'shared carrier-grade NAT space (RFC 6598), inside 100.64.0.0/10'],
    ['127.0.0.1', 'loopback, inside 127.0.0.0/8'],
    ['169.254.169.254', 'link-local, inside 169.254.0.0/16'],
    ['0.0.0.0/8', '"this network" (RFC 791), never a source address, inside 0.0.0.0/8'],
    ['224.0.0.0/4', 'multicast, inside 224.0.0.0/4'],
    ['255.255.255.255', 'reserved (including the broadcast address), inside 240.0.0.0/4'],
    ['fd12:3456::/32', 'unique-local (RFC 4193), inside fc00::/7'],
    ['FE80::1', 'link-local, inside fe80::/10'],
    ['::1', 'the unspecified and loopback addresses, inside ::/127'],
    ['::ffff:10.0.0.1', 'private (RFC 1918), inside 10.0.0.0/8'],
    ['ff02::1', 'multicast, inside ff00::/8'],
  ])('refuses %s, not approvably, naming the entry, its source and why', (entry, why) => {
    const p = plan({}, desired('52.15.23.0/27', entry));
    expect(p.refusals).toHaveLength(1);
    expect(p.refusals[0]).toMatchObject({ code: 'never-seen', approvable: false });
    expect(p.refusals[0].message).toContain(`${JSON.stringify(entry)} from ssm:/office (${why})`);
    expect(p.refusals[0].message).toContain('for that traffic see the VPC exemption');
  });

  it('lets documentation ranges and broad public blocks that merely contain a private range through', () => {
    expect(plan({}, desired('192.0.2.0/24', '198.51.100.7', '203.0.113.0/24', '2001:db8::/32', '172.0.0.0/8')).status).toBe('changes');
  });

  it('judges each entry as written, before aggregation could merge it into a public neighbour', () => {
    expect(codes(plan({}, desired('11.0.0.0/8', '10.0.0.0/8')))).toContain('never-seen');
  });
});

describe('plans read as people think', () => {
  it('shows one catch-all as one added entry, the address blocks kept apart', () => {
    const p = plan({ document: doc('52.15.23.0/27') }, desired('0.0.0.0/0'));
    expect(p.addedEntries).toEqual(['0.0.0.0/0']);
    expect(p.removedEntries).toEqual(['52.15.23.0/27']);
    expect(p.added.length).toBeGreaterThan(10);
  });

  it('formats counts for people', () => {
    expect(formatCount(65536n)).toBe('65,536');
    expect(formatCount(1n << 72n)).toBe('2^72');
    expect(formatCount((1n << 72n) + (1n << 71n))).toBe('~2^72.6');
    expect(formatAddresses(1n)).toBe('1 address');
  });
});
