import fc from 'fast-check';
import { evaluateDeny } from '../../lambda/allowlist/evaluate';
import { ANY_ACTION_PROBE } from '../../lambda/allowlist/plan';
import { renderDenyPolicy } from '../../lambda/allowlist/policy';
import { MAX_SAMPLED_PROBES, carriesKeys, keysTestedByValue, sampleProbes, spreadIndices } from '../../lambda/allowlist/proof-sample';

// The sample of the proof's probes IAM's simulator is asked: bounded, spread over the list, and every promise in it
// one the evaluator (and so the proof) agrees with for a document the tool renders.

const OPTIONS = { action: ANY_ACTION_PROBE, viaAwsServiceExemption: true };
const blocks = (n: number) => Array.from({ length: n }, (_, i) => `${20 + Math.floor(i / 250)}.${i % 250}.0.0/24`);

describe('sampleProbes', () => {
  test('at most 12 probes whatever the length of the list, and never more than the proof has', () => {
    for (const n of [1, 2, 3, 7, 50, 500]) {
      const probes = sampleProbes(renderDenyPolicy(blocks(n)), blocks(n), OPTIONS);
      expect(probes.length).toBeLessThanOrEqual(MAX_SAMPLED_PROBES);
      // Two outside addresses, each direct and via an AWS service, then each entry's ends and neighbours.
      expect(probes.length).toBeGreaterThanOrEqual(Math.min(MAX_SAMPLED_PROBES, 4 + 2 * n));
    }
  });

  test('the same input, the same sample', () => {
    const entries = blocks(300);
    expect(sampleProbes(renderDenyPolicy(entries), entries, OPTIONS)).toEqual(sampleProbes(renderDenyPolicy(entries), entries, OPTIONS));
  });

  test('a 500-entry list: the first entry and the last one are among those sampled', () => {
    const entries = blocks(500);
    const subjects = sampleProbes(renderDenyPolicy(entries), entries, OPTIONS).map((p) => p.subject);
    expect(subjects).toContain('20.0.0.0, the first address of 20.0.0.0/24');
    expect(subjects).toContain('21.249.0.255, the last address of 21.249.0.0/24');
  });

  test('every sampled promise holds for the rendered document (property: random lists and exemptions)', () => {
    const entry = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 32 })).map(([a, b, p]) => {
      const value = ((a << 24) | (b << 16)) >>> 0;
      const network = p === 32 ? value : (value & ~((1 << (32 - p)) - 1)) >>> 0;
      return `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${p}`;
    });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { minLength: 1, maxLength: 40 }), fc.boolean(), fc.boolean(), fc.boolean(), (raw, kms, vpc, via) => {
        // Canonical and disjoint, as plan() gives them: drop any block inside another.
        const entries = raw.filter((e, i) => !raw.some((o, j) => j !== i && contains(o, e) && (!contains(e, o) || j < i)));
        const conditions = { kmsViaServiceExemption: kms, viaAwsServiceExemption: via, ...(vpc ? { vpcExemption: ['vpc-0123456789abcdef0', 'vpce-0123456789abcdef0'] } : {}) };
        const document = renderDenyPolicy(entries, conditions);
        for (const probe of sampleProbes(document, entries, { action: ANY_ACTION_PROBE, viaAwsServiceExemption: via })) {
          const decision = evaluateDeny(document, probe.request).denied;
          expect([probe.subject, decision]).toEqual([probe.subject, probe.expected === 'denied']);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('exemptions: one KMS probe per family; no request through a VPC endpoint (no aws:SourceIp, which NotIpAddress tests)', () => {
    const entries = ['192.0.2.0/24'];
    const document = renderDenyPolicy(entries, { kmsViaServiceExemption: true, vpcExemption: ['vpc-0123456789abcdef0', 'vpc-11111111', 'vpce-0123456789abcdef0', 'vpce-22222222'] });
    const probes = sampleProbes(document, entries, OPTIONS);
    expect(probes.filter((p) => p.request.kmsViaService !== undefined).map((p) => p.expected)).toEqual(['not denied', 'not denied']);
    // AWS leaves a missing key under NotIpAddress undocumented ("might not be reliable"): the proof alone asks these.
    expect(probes.filter((p) => p.request.sourceIp === undefined)).toEqual([]);
    expect(sampleProbes(renderDenyPolicy(entries), entries, OPTIONS).every((p) => p.request.sourceIp !== undefined)).toBe(true);
  });

  test('a key tested only by ...IfExists may be missing: those probes stay (the choice follows the operators)', () => {
    const entries = ['192.0.2.0/24'];
    const document = renderDenyPolicy(entries, { vpcExemption: ['vpc-0123456789abcdef0', 'vpce-0123456789abcdef0'] });
    const condition = document.Statement[0].Condition as Record<string, unknown>;
    const ifExists = { ...document, Statement: [{ ...document.Statement[0], Condition: { ...condition, NotIpAddressIfExists: condition.NotIpAddress, NotIpAddress: undefined } }] };
    const viaVpc = sampleProbes(JSON.parse(JSON.stringify(ifExists)), entries, OPTIONS).filter((p) => p.request.sourceIp === undefined);
    expect(viaVpc.map((p) => [p.request.sourceVpc, p.request.sourceVpce])).toEqual([
      ['vpc-00000000000000000', 'vpce-00000000000000000'],
      ['vpc-0123456789abcdef0', 'vpce-00000000000000000'],
      ['vpc-00000000000000000', 'vpce-0123456789abcdef0'],
    ]);
  });

  test('keysTestedByValue: every key but those under Null and ...IfExists; carriesKeys reads them from the request', () => {
    const document = renderDenyPolicy(['192.0.2.0/24'], { kmsViaServiceExemption: true, vpcExemption: ['vpc-0123456789abcdef0'] });
    expect(keysTestedByValue(document.Statement[0]).sort()).toEqual(['aws:sourceip', 'aws:viaawsservice']);
    expect(keysTestedByValue({ Effect: 'Deny', Condition: { 'ForAnyValue:StringEquals': { 'aws:PrincipalTag/team': 'x' } } })).toEqual(['aws:principaltag/team']);
    expect(carriesKeys({ action: 'a', viaAwsService: false, sourceIp: '192.0.2.1' }, ['aws:sourceip', 'aws:viaawsservice'])).toBe(true);
    expect(carriesKeys({ action: 'a', viaAwsService: false, sourceVpc: 'vpc-1' }, ['aws:sourceip'])).toBe(false);
    // A key the simulator is never told about counts as missing.
    expect(carriesKeys({ action: 'a', viaAwsService: false, sourceIp: '192.0.2.1' }, ['aws:principaltag/team'])).toBe(false);
  });

  test('without the AWS-service exemption, a call via a service is promised denied', () => {
    const entries = ['192.0.2.0/24'];
    const probes = sampleProbes(renderDenyPolicy(entries, { viaAwsServiceExemption: false }), entries, { ...OPTIONS, viaAwsServiceExemption: false });
    expect(probes.filter((p) => p.request.viaAwsService).map((p) => p.expected)).toEqual(['denied', 'denied']);
  });

  test('an entry that is not a block is named', () => {
    expect(() => sampleProbes(renderDenyPolicy(['192.0.2.0/24']), ['not-an-ip'], OPTIONS)).toThrow('not-an-ip');
  });
});

describe('spreadIndices', () => {
  test.each([
    [0, 4, []],
    [1, 4, [0]],
    [5, 1, [0]],
    [5, 2, [0, 4]],
    [500, 4, [0, 166, 333, 499]],
    [3, 10, [0, 1, 2]],
  ])('%i entries, %i wanted: %j', (n, count, expected) => {
    expect(spreadIndices(n, count)).toEqual(expected);
  });
});

/** True when IPv4 block `outer` holds block `inner`. */
function contains(outer: string, inner: string): boolean {
  const parse = (b: string) => {
    const [ip, p] = b.split('/');
    const v = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return { first: v, last: v + 2 ** (32 - Number(p)) - 1 };
  };
  const o = parse(outer);
  const i = parse(inner);
  return o.first <= i.first && i.last <= o.last;
}
