import fc from 'fast-check';
import { normalize } from '../../lambda/allowlist/cidr';
import { plan } from '../../lambda/allowlist/plan';
import { ALLOWLIST_SID, PolicyDocument, Statement, canonicalJson, parsePolicy, renderCondition, serializePolicy } from '../../lambda/allowlist/policy';
import { findTrustAllowlistStatement, renderTrustStatement, trustPolicyShape } from '../../lambda/allowlist/trust-policy';

const SUPPORT = 'arn:aws:iam::710019948333:role/RH-Technical-Support-Access';
const SRE = 'arn:aws:iam::710019948333:role/RH-SRE-Access';
const ENTRIES = ['3.20.58.12/32', '52.15.23.0/26'];

const desired = (...values: string[]) => normalize(values.map((value) => ({ value, source: 'test' })));

const allowSupport: Statement = {
  Effect: 'Allow',
  Principal: { AWS: SUPPORT },
  Action: ['sts:AssumeRole', 'sts:TagSession'],
  Condition: { StringEquals: { 'sts:ExternalId': 'f4c1a2b3' } },
};
const allowEc2: Statement = { Sid: 'Ec2', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' };
const denyOther: Statement = { Sid: 'NoGuests', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Condition: { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/guest-*' } } };
const oursOld: Statement = renderTrustStatement([SUPPORT], ['192.0.2.0/24']);

/** The statements other than the allowlist's, exactly as JSON.stringify writes them (key order included). */
function foreign(document: PolicyDocument): string[] {
  const index = findTrustAllowlistStatement(document);
  return document.Statement.filter((_, i) => i !== index).map((s) => JSON.stringify(s));
}

describe('trustPolicyShape: render', () => {
  const shape = trustPolicyShape([SUPPORT]);

  it('renders only our statement when there is no document', () => {
    expect(shape.render(ENTRIES, undefined)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: ALLOWLIST_SID,
          Effect: 'Deny',
          Principal: { AWS: SUPPORT },
          Action: 'sts:AssumeRole',
          Condition: { NotIpAddress: { 'aws:SourceIp': ['3.20.58.12', '52.15.23.0/26'] }, Bool: { 'aws:ViaAWSService': 'false' } },
        },
      ],
    });
  });

  it('names several principals as a list, one as a string', () => {
    expect(trustPolicyShape([SUPPORT, SRE]).render(ENTRIES, undefined).Statement[0].Principal).toEqual({ AWS: [SUPPORT, SRE] });
    expect(trustPolicyShape([SRE]).render(ENTRIES, undefined).Statement[0].Principal).toEqual({ AWS: SRE });
  });

  it('refuses to be built without a principal', () => {
    expect(() => trustPolicyShape([])).toThrow(/at least one principal/);
  });

  it('keeps the condition options: the ViaAWSService exemption can be turned off, the KMS one on', () => {
    const strict = trustPolicyShape([SUPPORT], { viaAwsServiceExemption: false }).render(ENTRIES, undefined);
    expect(strict.Statement[0].Condition).toEqual(renderCondition(ENTRIES, { viaAwsServiceExemption: false }));
    expect(strict.Statement[0].Condition).not.toHaveProperty('Bool');
    const kms = trustPolicyShape([SUPPORT], { kmsViaServiceExemption: true }).render(ENTRIES, undefined);
    expect(kms.Statement[0].Condition).toEqual(renderCondition(ENTRIES, { kmsViaServiceExemption: true }));
  });

  it('replaces our statement in place and keeps every other statement exactly as it was', () => {
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, oursOld, allowEc2, denyOther] };
    const before = JSON.stringify(current);
    const rendered = shape.render(ENTRIES, current);

    expect(rendered.Statement.map((s) => s.Sid)).toEqual([undefined, ALLOWLIST_SID, 'Ec2', 'NoGuests']);
    expect(rendered.Statement[1]).toEqual(renderTrustStatement([SUPPORT], ENTRIES));
    expect(foreign(rendered)).toEqual(foreign(current));
    expect(rendered.Statement.filter((_, i) => i !== 1).map(canonicalJson)).toEqual([allowSupport, allowEc2, denyOther].map(canonicalJson));
    // The current document is not mutated.
    expect(JSON.stringify(current)).toBe(before);
  });

  it('appends our statement when the document has none', () => {
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, denyOther] };
    const rendered = shape.render(ENTRIES, current);
    expect(rendered.Statement).toEqual([allowSupport, denyOther, renderTrustStatement([SUPPORT], ENTRIES)]);
  });

  it("keeps the document's Version, Id and other top-level fields, and defaults a missing Version", () => {
    const old: PolicyDocument = { Version: '2008-10-17', Id: 'trust', Statement: [allowSupport] };
    expect(shape.render(ENTRIES, old)).toMatchObject({ Version: '2008-10-17', Id: 'trust' });
    expect(shape.render(ENTRIES, { Statement: [allowSupport] }).Version).toBe('2012-10-17');
  });

  it('keeps foreign statements for any statements that are not ours (property)', () => {
    const json = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Statement[keyof Statement]);
    const foreignStatement = fc
      .record({ Effect: fc.constant('Allow'), Sid: fc.string({ maxLength: 8 }), Action: fc.oneof(fc.constant('sts:AssumeRole'), fc.array(fc.string())), Extra: json })
      .map((s) => s as Statement);
    fc.assert(
      fc.property(fc.array(foreignStatement, { maxLength: 6 }), fc.nat(6), (statements, at) => {
        const position = Math.min(at, statements.length);
        const current: PolicyDocument = { Version: '2012-10-17', Statement: [...statements.slice(0, position), oursOld, ...statements.slice(position)] };
        const rendered = shape.render(ENTRIES, current);
        expect(rendered.Statement).toHaveLength(statements.length + 1);
        expect(rendered.Statement[position]).toEqual(renderTrustStatement([SUPPORT], ENTRIES));
        expect(foreign(rendered)).toEqual(statements.map((s) => JSON.stringify(s)));
      }),
    );
  });
});

describe('trustPolicyShape: adoption', () => {
  const shape = trustPolicyShape([SUPPORT, SRE]);
  const handMade: Statement = {
    Sid: 'OnlyFromOffice',
    Effect: 'Deny',
    Principal: { AWS: SUPPORT },
    Action: ['sts:TagSession', 'STS:AssumeRole'],
    Condition: { NotIpAddress: { 'aws:SourceIp': ['198.51.100.0/24', '3.20.58.12'] } },
  };

  it("never takes over someone else's Deny of sts:AssumeRole, however much it looks like ours: ours is added beside it", () => {
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, denyOther, handMade, { ...handMade, Sid: 'Second' }] };
    expect(findTrustAllowlistStatement(current)).toBe(-1);
    expect(shape.extract(current)).toBeUndefined();
    const rendered = shape.render(ENTRIES, current);
    expect(rendered.Statement).toEqual([allowSupport, denyOther, handMade, { ...handMade, Sid: 'Second' }, renderTrustStatement([SUPPORT, SRE], ENTRIES)]);
    // Byte-identical: the contractor's statement keeps its principal, its actions and its list.
    expect(foreign(rendered)).toEqual(current.Statement.map((s) => JSON.stringify(s)));
  });

  it('through plan: the contractor-only Deny stays exactly as it was; adding ours is an adoption, not a removal', () => {
    const current = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport, handMade] });
    const p = plan({ document: current }, desired(...ENTRIES), { shape });
    expect(p).toMatchObject({ status: 'changes', adoption: true, currentKind: 'no-allowlist', removed: [], statementChanges: [] });
    expect(parsePolicy(p.document).Statement.slice(0, 2)).toEqual([allowSupport, handMade]);
  });

  it('finds ours by its Sid, wherever it stands', () => {
    const current: PolicyDocument = { Statement: [handMade, oursOld] };
    expect(findTrustAllowlistStatement(current)).toBe(1);
    expect(shape.extract(current)).toEqual(['192.0.2.0/24']);
  });

  it('does not take over Allows, Denies of other actions, or Denies without a SourceIp condition', () => {
    const notOurs: Statement[] = [
      { ...handMade, Effect: 'Allow' },
      { ...handMade, Action: 'sts:TagSession' },
      { ...handMade, Action: 'sts:AssumeRoleWithWebIdentity' },
      denyOther,
      { ...handMade, Condition: { IpAddress: { 'aws:SourceIp': ['198.51.100.0/24'] } } },
    ];
    const current: PolicyDocument = { Statement: notOurs };
    expect(findTrustAllowlistStatement(current)).toBe(-1);
    expect(shape.extract(current)).toBeUndefined();
    expect(shape.render(ENTRIES, current).Statement).toEqual([...notOurs, renderTrustStatement([SUPPORT, SRE], ENTRIES)]);
  });
});

describe('trustPolicyShape through plan', () => {
  const shape = trustPolicyShape([SUPPORT]);

  it('adopts a trust policy without an allowlist: everything added, foreign statements kept', () => {
    const current = JSON.stringify({ Version: '2012-10-17', Statement: [allowSupport] }, null, 4);
    const p = plan({ document: encodeURIComponent(current) }, desired(...ENTRIES), { shape });
    expect(p).toMatchObject({ status: 'changes', adoption: true, drift: false, added: ENTRIES, removed: [] });
    expect(parsePolicy(p.document).Statement).toEqual([allowSupport, renderTrustStatement([SUPPORT], ENTRIES)]);
  });

  it('is unchanged when our statement already holds the list, whatever the foreign statements', () => {
    const current = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES), denyOther] });
    const p = plan({ document: encodeURIComponent(current) }, desired(...ENTRIES), { shape });
    expect(p).toMatchObject({ status: 'unchanged', upToDate: true, drift: false, adoption: false, added: [], removed: [] });
    expect(p.document).toBe(current);
  });

  it('changes only our statement when the list changes', () => {
    const current = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES), denyOther] });
    const p = plan({ document: current }, desired(...ENTRIES, '3.132.100.80/28'), { shape });
    expect(p).toMatchObject({ status: 'changes', added: ['3.132.100.80/28'], removed: [], drift: false });
    const rendered = parsePolicy(p.document);
    expect(foreign(rendered)).toEqual(foreign(parsePolicy(current)));
  });

  it('sees a change of principals as drift to repair', () => {
    const current = serializePolicy({ Statement: [allowSupport, renderTrustStatement([SRE], ENTRIES)], Version: '2012-10-17' });
    const p = plan({ document: current }, desired(...ENTRIES), { shape });
    expect(p).toMatchObject({ status: 'changes', drift: true, added: [], removed: [] });
    expect(parsePolicy(p.document).Statement[1].Principal).toEqual({ AWS: SUPPORT });
  });

  it("refuses a document over the target's size limit", () => {
    const current = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport] });
    const many = Array.from({ length: 200 }, (_, i) => `20.${i}.0.0/24`);
    const p = plan({ document: current, sizeLimit: 2048 }, desired(...many), { shape });
    expect(p.status).toBe('refused');
    expect(p.refusals.map((r) => r.code)).toEqual(['size-limit']);
    expect(p.sizeLimit).toBe(2048);
  });
});
