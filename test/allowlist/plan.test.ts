import { NormalizedEntries, normalize } from '../../lambda/allowlist/cidr';
import { DEFAULT_GUARDS, Plan, managedPolicyShape, plan } from '../../lambda/allowlist/plan';
import { PolicyDocument, policySize, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';

const desired = (...values: string[]): NormalizedEntries => normalize(values.map((value) => ({ value, source: 'file:ips.txt' })));
const doc = (...entries: string[]): string => serializePolicy(renderDenyPolicy(entries));
/** IAM's GetPolicyVersion form: the pretty document, URL-encoded. */
const iamEncoded = (document: PolicyDocument): string => encodeURIComponent(JSON.stringify(document, null, 4));

/** `20.0.0.0/24`, `20.0.2.0/24`, ...: n blocks that never merge. */
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.0.${i * 2}.0/24`);

describe('plan: statuses and differences', () => {
  it('adopts an empty target: everything is added', () => {
    const p = plan({}, desired('20.0.0.0/25', '20.0.0.128/25', '2001:db8::/32'));
    const document = doc('20.0.0.0/24', '2001:db8::/32');
    expect(p).toEqual<Plan>({
      status: 'changes',
      planId: expect.stringMatching(/^[0-9a-f]{16}$/),
      added: ['20.0.0.0/24', '2001:db8::/32'],
      removed: [],
      entries: ['20.0.0.0/24', '2001:db8::/32'],
      currentEntries: [],
      document,
      documentSize: document.length,
      sizeLimit: 6144,
      drift: false,
      adoption: true,
      currentKind: 'absent',
      statementChanges: [],
      addedEntries: ['20.0.0.0/24', '2001:db8::/32'],
      removedEntries: [],
      upToDate: false,
      refusals: [],
      reasons: [],
    });
    expect(p.documentSize).toBe(policySize(document));
  });

  it('is unchanged when the target already holds the same document, in any encoding', () => {
    const rendered = renderDenyPolicy(['20.0.0.0/24', '192.0.2.1/32']);
    for (const text of [serializePolicy(rendered), JSON.stringify(rendered, null, 2), iamEncoded(rendered)]) {
      const p = plan({ document: text, versionId: 'v3' }, desired('192.0.2.1', '20.0.0.0/24'));
      expect(p).toMatchObject({ status: 'unchanged', added: [], removed: [], drift: false, adoption: false, upToDate: true, refusals: [], baseVersionId: 'v3' });
      // As written in the document: an IPv4 host without its /32.
      expect(p.currentEntries).toEqual(['20.0.0.0/24', '192.0.2.1']);
    }
  });

  it('reports the exact address-level difference', () => {
    const current = { document: doc('20.0.0.0/24', ...spaced(4).slice(1)) };
    const narrower = plan(current, desired('20.0.0.0/25', ...spaced(4).slice(1)));
    expect(narrower).toMatchObject({ status: 'changes', added: [], removed: ['20.0.0.128/25'] });

    const wider = plan({ document: doc('20.0.0.0/25', '2001:db8::/49') }, desired('20.0.0.0/24', '2001:db8::/48'));
    expect(wider).toMatchObject({ status: 'changes', added: ['20.0.0.128/25', '2001:db8:0:8000::/49'], removed: [] });

    const swapped = plan({ document: doc(...spaced(4)) }, desired('20.0.0.0/24', '20.0.2.0/24', '20.0.4.0/24', '20.0.7.0/24'));
    expect(swapped).toMatchObject({ status: 'changes', added: ['20.0.7.0/24'], removed: ['20.0.6.0/24'] });
  });

  it('rewrites entries that are right but not canonical, without drift', () => {
    const p = plan({ document: doc('2001:DB8::/32', '20.0.0.1') }, desired('20.0.0.1', '2001:db8::/32'));
    expect(p).toMatchObject({ status: 'changes', added: [], removed: [], drift: false, currentEntries: ['2001:DB8::/32', '20.0.0.1'] });
    expect(p.document).toBe(doc('20.0.0.1/32', '2001:db8::/32'));
  });

  it('is idempotent: planning again against what was written finds nothing to do', () => {
    const first = plan({ document: doc(...spaced(3)), versionId: 'v1' }, desired(...spaced(3), '192.0.2.0/24'));
    expect(first.status).toBe('changes');
    const again = plan({ document: first.document, versionId: 'v2' }, desired(...spaced(3), '192.0.2.0/24'));
    expect(again).toMatchObject({ status: 'unchanged', added: [], removed: [], drift: false });
    const fromFile = plan({ document: `${JSON.stringify(JSON.parse(first.document), null, 2)}\n` }, desired(...spaced(3), '192.0.2.0/24'));
    expect(fromFile.status).toBe('unchanged');
  });

  it('renders the conditions of the shape it is given', () => {
    const shape = managedPolicyShape({ kmsViaServiceExemption: true, viaAwsServiceExemption: false });
    const p = plan({}, desired('20.0.0.0/24'), { shape });
    expect(JSON.parse(p.document).Statement[0].Condition).toEqual({
      NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24'] },
      Null: { 'kms:ViaService': 'true' },
    });
  });
});

describe('plan: drift', () => {
  const ours = renderDenyPolicy(['20.0.0.0/24']);
  const statement = ours.Statement[0];

  it('treats a missing aws:ViaAWSService exemption as drift', () => {
    const edited: PolicyDocument = { ...ours, Statement: [{ ...statement, Condition: { NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24'] } } }] };
    const p = plan({ document: iamEncoded(edited) }, desired('20.0.0.0/24'));
    expect(p).toMatchObject({ status: 'changes', drift: true, adoption: false, added: [], removed: [] });
    expect(p.document).toBe(doc('20.0.0.0/24'));
  });

  it('treats an extra statement as drift and drops it', () => {
    const edited: PolicyDocument = { ...ours, Statement: [statement, { Sid: 'HandAdded', Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    const p = plan({ document: serializePolicy(edited) }, desired('20.0.0.0/24'));
    expect(p).toMatchObject({ status: 'changes', drift: true, added: [], removed: [] });
    expect(p.document).toBe(doc('20.0.0.0/24'));
  });

  it('treats a hand-edited Action as drift', () => {
    const edited: PolicyDocument = { ...ours, Statement: [{ ...statement, Action: 's3:*' }] };
    expect(plan({ document: serializePolicy(edited) }, desired('20.0.0.0/24'))).toMatchObject({ status: 'changes', drift: true });
  });

  it('adopts a hand-made policy (no Sid): its entries count as current, and it is drift', () => {
    const handMade: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['20.0.0.0/24', '20.0.2.0/24'] } } }],
    };
    const p = plan({ document: iamEncoded(handMade) }, desired('20.0.0.0/24', '20.0.2.0/24', '20.0.4.0/24'));
    expect(p).toMatchObject({
      status: 'changes',
      drift: true,
      adoption: false,
      added: ['20.0.4.0/24'],
      removed: [],
      currentEntries: ['20.0.0.0/24', '20.0.2.0/24'],
    });
  });

  it('adopts a document without any allowlist statement: no drift, everything added, but its statements need an approval to go', () => {
    const foreign: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    const p = plan({ document: serializePolicy(foreign) }, desired('20.0.0.0/24'));
    expect(p).toMatchObject({ status: 'refused', drift: false, adoption: true, currentKind: 'no-allowlist', added: ['20.0.0.0/24'], removed: [], currentEntries: [] });
    expect(p.refusals).toEqual([
      {
        code: 'foreign-statements',
        approvable: true,
        message: 'adopting this policy would drop 1 statement allowlist-sync did not write: an ALLOW statement, Allow s3:* (no Sid); move it to another policy, or approve to drop it',
      },
    ]);
  });
});

describe('plan: planId', () => {
  const current = { document: doc(...spaced(3)), versionId: 'v3' };
  const want = desired(...spaced(3), '192.0.2.0/24');

  it('is the same for the same inputs', () => {
    expect(plan(current, want).planId).toBe(plan({ ...current }, desired(...spaced(3), '192.0.2.0/24')).planId);
    expect(plan(current, want).planId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on how the current document is encoded', () => {
    const encoded = { document: iamEncoded(JSON.parse(current.document)), versionId: 'v3' };
    expect(plan(encoded, want).planId).toBe(plan(current, want).planId);
  });

  it('changes with the base version', () => {
    const ids = new Set([plan(current, want).planId, plan({ ...current, versionId: 'v4' }, want).planId, plan({ document: current.document }, want).planId]);
    expect(ids.size).toBe(3);
  });

  it('changes with the desired document', () => {
    expect(plan(current, desired(...spaced(3), '192.0.2.0/25')).planId).not.toBe(plan(current, want).planId);
    const kms = plan(current, want, { shape: managedPolicyShape({ kmsViaServiceExemption: true }) });
    expect(kms.planId).not.toBe(plan(current, want).planId);
  });

  it('changes with the current document', () => {
    expect(plan({ ...current, document: doc(...spaced(4)) }, want).planId).not.toBe(plan(current, want).planId);
  });
});

describe('plan: guards', () => {
  const broadMessage = (list: string): string => `entries broader than IPv4 /8 or IPv6 /32 would allow too much: ${list}`;

  it('has the documented defaults', () => {
    expect(DEFAULT_GUARDS).toEqual({
      minEntries: 1,
      broadestIpv4Prefix: 8,
      broadestIpv6Prefix: 32,
      maxRemovalFraction: 0.3,
      maxAddedIpv4Addresses: 65536,
      maxAddedIpv6Prefix: 40,
      baselineWindowDays: 7,
      approvalMaxAgeHours: 24,
      sizeLimit: 6144,
    });
  });

  it('refuses an empty list, and the refusal cannot be approved', () => {
    const p = plan({ document: doc('20.0.0.0/24') }, desired());
    expect(p.status).toBe('refused');
    expect(p.refusals).toEqual([
      { code: 'empty', approvable: false, message: 'the allowlist is empty: writing it would deny every request' },
      { code: 'mass-removal', approvable: true, message: '1 of 1 current entries would be removed (100%), more than the 30% allowed' },
    ]);
    expect(p.reasons).toEqual(p.refusals.map((r) => r.message));
    expect(plan({}, desired()).refusals).toEqual([
      { code: 'empty', approvable: false, message: 'the allowlist is empty: writing it would deny every request' },
    ]);
  });

  it('refuses fewer entries than minEntries (counted after aggregation)', () => {
    const guards = { minEntries: 3 };
    expect(plan({}, desired('20.0.0.0/24', '20.0.2.0/24'), { guards }).refusals).toEqual([
      { code: 'min-entries', approvable: true, message: 'only 2 entries, fewer than the minimum of 3' },
    ]);
    expect(plan({}, desired('20.0.0.0/25', '20.0.0.128/25', '20.0.2.0/24'), { guards }).refusals.map((r) => r.code)).toEqual(['min-entries']);
    expect(plan({}, desired(...spaced(3)), { guards }).status).toBe('changes');
  });

  it('refuses a catch-all entry, whatever the breadth limits; that cannot be approved', () => {
    expect(plan({}, desired('0.0.0.0/0')).refusals).toEqual([
      { code: 'catch-all', approvable: false, message: '0.0.0.0/0 allows every address: the policy would protect nothing' },
    ]);
    expect(plan({}, desired('::/0', '20.0.0.0/24')).refusals).toEqual([
      { code: 'catch-all', approvable: false, message: '::/0 allows every address: the policy would protect nothing' },
    ]);
    expect(plan({}, desired('0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1'), { guards: { broadestIpv4Prefix: 0, broadestIpv6Prefix: 0 } }).refusals).toEqual([
      { code: 'catch-all', approvable: false, message: '0.0.0.0/0 and ::/0 allows every address: the policy would protect nothing' },
    ]);
    // ::ffff:0:0/96 is all of IPv4, written as IPv6.
    expect(plan({}, desired('::ffff:0.0.0.0/96')).refusals.map((r) => r.code)).toEqual(['catch-all']);
  });

  it('refuses entries broader than IPv4 /8 or IPv6 /32 by default; /8 and /32 pass', () => {
    expect(plan({}, desired('20.0.0.0/7', '2001:db8::/31', '192.0.2.1')).refusals).toEqual([
      { code: 'too-broad', approvable: true, message: broadMessage('20.0.0.0/7, 2001:db8::/31') },
    ]);
    expect(plan({}, desired('128.0.0.0/1')).refusals).toEqual([{ code: 'too-broad', approvable: true, message: broadMessage('128.0.0.0/1') }]);
    expect(plan({}, desired('::/1')).refusals).toEqual([{ code: 'too-broad', approvable: true, message: broadMessage('::/1') }]);
    expect(plan({}, desired('20.0.0.0/8', '2001:db8::/32')).status).toBe('changes');
  });

  it('checks breadth after aggregation: two /8s that merge into a /7 are refused', () => {
    expect(plan({}, desired('20.0.0.0/8', '21.0.0.0/8')).refusals).toEqual([{ code: 'too-broad', approvable: true, message: broadMessage('20.0.0.0/7') }]);
  });

  it('takes the breadth limits from options', () => {
    expect(plan({}, desired('0.0.0.0/1', '::/1'), { guards: { broadestIpv4Prefix: 1, broadestIpv6Prefix: 1 } }).status).toBe('changes');
    expect(plan({}, desired('20.0.0.0/16'), { guards: { broadestIpv4Prefix: 24 } }).refusals).toEqual([
      { code: 'too-broad', approvable: true, message: 'entries broader than IPv4 /24 or IPv6 /32 would allow too much: 20.0.0.0/16' },
    ]);
    expect(plan({}, desired('2001:db8::/48'), { guards: { broadestIpv6Prefix: 64 } }).refusals.map((r) => r.code)).toEqual(['too-broad']);
  });

  it('allows removing exactly 30% of the current entries, refuses more', () => {
    const current = { document: doc(...spaced(10)) };
    expect(plan(current, desired(...spaced(7))).status).toBe('changes');
    expect(plan(current, desired(...spaced(7))).removed).toEqual(['20.0.14.0/24', '20.0.16.0/24', '20.0.18.0/24']);
    expect(plan(current, desired(...spaced(6))).refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '4 of 10 current entries would be removed (40%), more than the 30% allowed' },
    ]);
  });

  it('counts an entry as removed when part of it is lost', () => {
    const current = { document: doc(...spaced(4)) };
    expect(plan(current, desired('20.0.0.0/25', '20.0.2.0/24', '20.0.4.0/24', '20.0.6.0/24')).status).toBe('changes');
    expect(plan(current, desired('20.0.0.0/25', '20.0.2.0/25', '20.0.4.0/24', '20.0.6.0/24')).refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '2 of 4 current entries would be removed (50%), more than the 30% allowed' },
    ]);
    expect(plan({ document: doc('20.0.0.0/24') }, desired('20.0.0.0/25'))).toMatchObject({ status: 'refused', removed: ['20.0.0.128/25'] });
  });

  it('does not count entries kept inside a merged block as removed', () => {
    const current = { document: doc('20.0.0.0/25', '20.0.0.128/25', '20.0.2.0/24') };
    expect(plan(current, desired('20.0.0.0/24', '20.0.2.0/24'))).toMatchObject({ status: 'changes', added: [], removed: [], refusals: [] });
  });

  it('counts current entries it cannot parse as removed', () => {
    const handMade = (entries: string[]): string =>
      serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': entries } } }] });
    const p = plan({ document: handMade(['010.0.0.1', '010.0.0.2', '20.0.0.3']) }, desired('20.0.0.3', '20.0.0.4'));
    expect(p.refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '2 of 3 current entries would be removed (67%), more than the 30% allowed' },
    ]);
    expect(p).toMatchObject({ added: ['20.0.0.4/32'], removed: [], currentEntries: ['010.0.0.1', '010.0.0.2', '20.0.0.3'] });
    expect(plan({ document: handMade(['010.0.0.1']) }, desired('20.0.0.1')).refusals.map((r) => r.message)).toEqual([
      '1 of 1 current entries would be removed (100%), more than the 30% allowed',
    ]);
  });

  it('takes the removal limit from options', () => {
    const current = { document: doc(...spaced(10)) };
    expect(plan(current, desired(...spaced(5)), { guards: { maxRemovalFraction: 0.5 } }).status).toBe('changes');
    expect(plan(current, desired(...spaced(9)), { guards: { maxRemovalFraction: 0 } }).refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '1 of 10 current entries would be removed (10%), more than the 0% allowed' },
    ]);
  });

  it('does not apply the removal limit when adopting a document without an allowlist', () => {
    const foreign = serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' }] });
    expect(plan({ document: foreign }, desired('192.0.2.0/24')).refusals.map((r) => r.code)).toEqual(['foreign-statements']);
    expect(plan({}, desired('192.0.2.0/24')).status).toBe('changes');
  });

  it('refuses a document over the size limit; that cannot be approved', () => {
    const many = Array.from({ length: 500 }, (_, i) => `20.${i >> 8}.${i & 255}.1`);
    const p = plan({}, desired(...many));
    expect(p.documentSize).toBe(policySize(p.document));
    expect(p.documentSize).toBeGreaterThan(6144);
    expect(p.refusals).toEqual([
      { code: 'size-limit', approvable: false, message: `the document would be ${p.documentSize} characters, over the limit of 6144` },
    ]);
  });

  it('takes the size limit from options; exactly at the limit passes', () => {
    const size = plan({}, desired('20.0.0.0/24')).documentSize;
    expect(plan({}, desired('20.0.0.0/24'), { guards: { sizeLimit: size } })).toMatchObject({ status: 'changes', sizeLimit: size });
    expect(plan({}, desired('20.0.0.0/24'), { guards: { sizeLimit: size - 1 } }).refusals).toEqual([
      { code: 'size-limit', approvable: false, message: `the document would be ${size} characters, over the limit of ${size - 1}` },
    ]);
  });

  it('refuses when any source entry was invalid, naming the entry and its source', () => {
    const p = plan({}, normalize([
      { value: '20.0.0.0/24', source: 'ocm' },
      { value: '10.0.0', source: 'file:ips.txt' },
      { value: '1.2.3.4/33', source: 'static:EXTRA_CIDRS' },
    ]));
    expect(p.status).toBe('refused');
    expect(p.refusals).toEqual([
      {
        code: 'invalid-entries',
        approvable: false,
        message:
          '2 invalid entries: "10.0.0" from file:ips.txt (not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros)), ' +
          '"1.2.3.4/33" from static:EXTRA_CIDRS (prefix /33 is longer than IPv4 allows (/32))',
      },
    ]);
    expect(plan({}, desired('20.0.0.0/24', 'example.com')).reasons).toEqual([
      '1 invalid entry: "example.com" from file:ips.txt (not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros))',
    ]);
  });

  it('refuses even when the valid entries equal the current ones', () => {
    expect(plan({ document: doc('20.0.0.0/24') }, desired('20.0.0.0/24', '20.0.0.256')).status).toBe('refused');
  });

  it('refuses to overwrite a current document it cannot read (approvable)', () => {
    expect(plan({ document: 'garbage' }, desired('20.0.0.0/24')).refusals).toEqual([
      { code: 'unreadable-current', approvable: true, message: 'the current policy cannot be read: the policy document is neither JSON nor URL-encoded JSON' },
    ]);
  });

  it('lists every refusal, still rendering the document for review', () => {
    const p = plan({ document: doc(...spaced(3)) }, desired('0.0.0.0/0', 'bogus'), { guards: { minEntries: 2 } });
    expect(p.refusals.map((r) => r.code)).toEqual(['invalid-entries', 'min-entries', 'catch-all', 'mass-addition']);
    expect(p.document).toBe(doc('0.0.0.0/0'));
  });

  it('keeps a default when an override is present but undefined', () => {
    const current = { document: doc(...spaced(10)) };
    const p = plan(current, desired('12.0.0.0/7'), {
      guards: { minEntries: undefined, maxRemovalFraction: undefined, broadestIpv4Prefix: undefined, sizeLimit: undefined },
    });
    expect(p.refusals.map((r) => r.code)).toEqual(['too-broad', 'mass-removal', 'mass-addition']);
    expect(p.refusals[1].message).toBe('10 of 10 current entries would be removed (100%), more than the 30% allowed');
    expect(p.sizeLimit).toBe(6144);
    expect(plan({}, desired(), { guards: { minEntries: undefined } }).refusals.map((r) => r.code)).toEqual(['empty']);
  });
});
