/**
 * The guards through the Lambda handler (refused, alerted, counted, nothing written) and alert dedupe across cold
 * starts, through the container harness (test/helpers/lambda-harness.ts).
 */
import { randomUUID } from 'node:crypto';
import { policySize, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import {
  HAND_MADE,
  OCM_ITEMS,
  alertEvents,
  alertState,
  alerts,
  coldStart,
  expectNoVersionWrites,
  fakeIam,
  installLambdaHarness,
  item,
  out,
  server,
} from './helpers/lambda-harness';
import { ocmError, type FakeTrustedIp, type Responder } from './helpers/ocm-server';

installLambdaHarness();

// ---------------------------------------------------------------------------------------------------------

describe('guards: refused, alerted, counted, nothing written', () => {
  const wide = Array.from({ length: 700 }, (_, i) => `20.${i >> 8}.${i & 255}.1`);
  const wideEntries = [...wide.map((a) => `${a}/32`), '192.0.2.10/32', '198.51.100.0/24'];
  const wideSize = policySize(serializePolicy(renderDenyPolicy(wideEntries)));

  test.each<[string, FakeTrustedIp[], (string | RegExp)[]]>([
    ['an empty OCM list', [], ['the allowlist is empty: writing it would deny every request', '2 of 2 current entries would be removed (100%), more than the 30% allowed']],
    ['a catch-all', [...OCM_ITEMS, item('0.0.0.0/0')], ['0.0.0.0/0 allows every address: the policy would protect nothing', /^the change would newly allow ~2\^32\.0 addresses of IPv4/]],
    ['a too-broad block', [...OCM_ITEMS, item('4.0.0.0/6')], ['entries broader than IPv4 /8 or IPv6 /32 would allow too much: 4.0.0.0/6', /^the change would newly allow 2\^26 addresses of IPv4/]],
    ['a mass removal (over 30%)', [item('192.0.2.10')], ['1 of 2 current entries would be removed (50%, 99.5+% of the IPv4 addresses), more than the 30% allowed']],
    ['a private range', [...OCM_ITEMS, item('10.0.0.0/16')], [/^1 entry can never match a request: "10\.0\.0\.0\/16" from ocm \(private \(RFC 1918\), inside 10\.0\.0\.0\/8\); never seen by aws:SourceIp/]],
    ['a widening', [...OCM_ITEMS, item('52.0.0.0/9')], ['the change would newly allow 2^23 addresses of IPv4 (at most 65,536 addresses) in one step']],
    ['an invalid entry from OCM', [...OCM_ITEMS, item('300.1.2.3')], [/^1 invalid entry: "300\.1\.2\.3" from ocm \(.+\)$/]],
    ['a document over the size limit', [...wide.map((a) => item(a)), ...OCM_ITEMS.slice(0, 2)], [`the document would be ${wideSize} characters, over the limit of 6144`]],
  ])('%s', async (_name, items, reasons) => {
    server.items = items;
    const result = await coldStart().invoke();

    expect(result.status).toBe('refused');
    expect(result.reasons).toHaveLength(reasons.length);
    reasons.forEach((reason, i) => (typeof reason === 'string' ? expect(result.reasons[i]).toBe(reason) : expect(result.reasons[i]).toMatch(reason)));
    expect(result).not.toHaveProperty('versionId');
    expectNoVersionWrites();
    expect(fakeIam.versionIds()).toEqual(['v1']);
    expect(fakeIam.defaultDocument).toBe(HAND_MADE);

    expect(alerts()).toHaveLength(1);
    const [alert] = alerts();
    expect(alert.event).toBe('refused');
    expect(alert.subject).toBe(`allowlist-sync: rosa-trusted-ips REFUSED (plan ${result.planId})`);
    expect(alert.body).toContain('Nothing was written; the current version stays in force.');
    for (const reason of result.reasons) expect(alert.body).toContain(reason);
    expect((await alertState())).toEqual({ status: 'refused', key: result.planId });

    expect(out.metric('Refused')).toEqual([1]);
    expect(out.metric('SyncSucceeded')).toEqual([0]);
    expect(out.metric('PolicyUpdated')).toEqual([0]);
  });

  test('guard settings come from the environment (MIN_ENTRIES, BROADEST_IPV4_PREFIX)', async () => {
    const tooFew = await coldStart({ MIN_ENTRIES: '5' }).invoke();
    expect(tooFew).toMatchObject({ status: 'refused', reasons: ['only 3 entries, fewer than the minimum of 5'], approvable: true });

    server.items = [...OCM_ITEMS, item('20.0.0.0/12')];
    const broad = await coldStart({ BROADEST_IPV4_PREFIX: '16' }).invoke();
    expect(broad).toMatchObject({
      status: 'refused',
      reasons: ['entries broader than IPv4 /16 or IPv6 /32 would allow too much: 20.0.0.0/12', 'the change would newly allow 2^20 addresses of IPv4 (at most 65,536 addresses) in one step'],
    });
    expectNoVersionWrites();
  });
});

describe('alert dedupe across cold starts (state in the policy tags)', () => {
  test('the same refusal twice is told once; a new plan is told; the recovery is told', async () => {
    await coldStart().invoke();
    expect(alertEvents()).toEqual(['updated']);

    server.items = [item('192.0.2.10')];
    const first = await coldStart().invoke();
    const second = await coldStart().invoke();
    expect(second.planId).toBe(first.planId);
    expect(alertEvents()).toEqual(['updated', 'refused']);
    expect((await alertState())).toEqual({ status: 'refused', key: first.planId });

    server.items = [item('198.51.100.0/24')];
    const third = await coldStart().invoke();
    expect(third.status).toBe('refused');
    expect(third.planId).not.toBe(first.planId);
    expect(alertEvents()).toEqual(['updated', 'refused', 'refused']);
    expect(alerts()[2].subject).toContain(third.planId);

    server.items = OCM_ITEMS;
    const recovered = await coldStart().invoke();
    expect(recovered.status).toBe('unchanged');
    expect(alertEvents()).toEqual(['updated', 'refused', 'refused', 'recovered']);
    expect(alerts()[3].body).toContain(`Before:   refused plan ${third.planId}`);
    expect((await alertState())).toEqual({ status: 'ok', key: undefined });

    // And quiet again after that.
    await coldStart().invoke();
    expect(alerts()).toHaveLength(4);
  });

  test('the same failure (OCM answering 500) twice: one failed alert, and both invocations throw', async () => {
    // Real OCM gives every error its own operation id; the failure is still the same one.
    const failing: Responder = (req, res, s) => ocmError(500, 'CLUSTERS-MGMT-500', 'Internal server error', randomUUID())(req, res, s);
    server.override('api', failing);

    const first = await coldStart().fail();
    const second = await coldStart().fail();

    for (const err of [first, second]) {
      expect(err).toMatchObject({ code: 'ocm-http' });
      expect(err.message).toMatch(/^OCM GET http:\/\/127\.0\.0\.1:\d+\/api\/clusters_mgmt\/v1\/trusted_ip_addresses\?page=1&size=100 failed with HTTP 500 \(OCM error CLUSTERS-MGMT-500: Internal server error, operation id [0-9a-f-]{36}\)\./);
    }
    // Three tries each (the fast backoff comes from the test seam).
    expect(server.requestsTo('api')).toHaveLength(6);
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (ocm-http)');
    expect((await alertState()).status).toBe('failed');
    expectNoVersionWrites();
    expect(out.metric('SyncSucceeded')).toEqual([0, 0]);

    server.override('api', undefined);
    const back = await coldStart().invoke();
    expect(back.status).toBe('updated');
    // An update after a failure is told as the update (it says it recovered).
    expect(alertEvents()).toEqual(['failed', 'updated']);
    expect(alerts()[1].body).toMatch(/Recovery: the earlier failure since \S+ is over\./);
  });
});
