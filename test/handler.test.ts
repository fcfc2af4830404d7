/**
 * The Lambda entry, end to end, through the container harness (test/helpers/lambda-harness.ts): real SDK clients
 * over aws-sdk-client-mock, FakeIam, the fake SSO+OCM server and the state table on dynalite.
 */
import { randomUUID } from 'node:crypto';
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import * as ssmSdk from '@aws-sdk/client-ssm';
import { policySize, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { FakeIam, accessDenied, VERSION_LIMIT_MESSAGE } from './helpers/fake-iam';
import {
  ARN,
  CLIENT_ID,
  CLIENT_SECRET,
  FUNCTION,
  HAND_MADE,
  METRIC_NAMES,
  NAMESPACE,
  OCM_ITEMS,
  PARAMETER,
  SERVICE,
  SYNCED_DOC,
  SYNCED_ENTRIES,
  TOPIC,
  alertEvents,
  alertState,
  alerts,
  coldStart,
  expectNoVersionWrites,
  fakeIam,
  iamMock,
  installLambdaHarness,
  item,
  out,
  server,
  snsMock,
  ssmHolds,
  ssmMock,
  useIam,
} from './helpers/lambda-harness';
import { FakeOcmServer, hang, ocmError, type FakeTrustedIp, type Responder } from './helpers/ocm-server';

installLambdaHarness();

// ---------------------------------------------------------------------------------------------------------

describe('full cycle through the handler', () => {
  test('adopts a hand-made policy, then is idempotent, then follows an OCM change exactly', async () => {
    const fn = coldStart();

    const first = await fn.invoke();

    expect(first).toEqual({
      status: 'updated',
      planId: expect.stringMatching(/^[0-9a-f]{16}$/),
      added: ['2001:db8::/48'],
      removed: [],
      addedAddresses: ['2001:db8::/48'],
      removedAddresses: [],
      entries: SYNCED_ENTRIES,
      policyArn: ARN,
      versionId: 'v2',
      previousVersionId: 'v1',
      reasons: [],
      approvable: false,
      dryRun: false,
    });
    expect(fakeIam.versionIds()).toEqual(['v1', 'v2']);
    expect(fakeIam.defaultVersionId).toBe('v2');
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    expect(iamMock).toHaveReceivedCommandTimes(iamSdk.CreatePolicyVersionCommand, 1);
    expect(iamMock).toHaveReceivedCommandWith(iamSdk.CreatePolicyVersionCommand, { PolicyArn: ARN, PolicyDocument: SYNCED_DOC, SetAsDefault: true });
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.DeletePolicyVersionCommand);
    expect(alerts()).toEqual([
      {
        event: 'updated',
        topic: TOPIC,
        subject: 'allowlist-sync: rosa-trusted-ips updated (+1 -0)',
        body: expect.stringContaining('Version:  v1 -> v2'),
      },
    ]);
    expect(alerts()[0].body).toContain('Drift:    the previous version had been edited outside allowlist-sync; it was replaced.');
    expect(alerts()[0].body).toContain(`node bin/allowlist-sync.js rollback --target iam:${ARN} --to v1`);
    expect((await alertState())).toEqual({ status: 'ok', key: undefined });
    expect(fakeIam.tags.get('team')).toBe('sre');

    // Second, warm invocation: nothing to do, nothing written, nothing told.
    iamMock.resetHistory();
    const second = await fn.invoke();

    expect(second).toEqual({ ...first, status: 'unchanged', added: [], removed: [], addedAddresses: [], versionId: undefined, previousVersionId: undefined, planId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(second).not.toHaveProperty('versionId');
    expect(second).not.toHaveProperty('previousVersionId');
    expectNoVersionWrites();
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.TagPolicyCommand);
    expect(alerts()).toHaveLength(1);
    expect(fakeIam.versionIds()).toEqual(['v1', 'v2']);

    // OCM changes: exactly one block added and one removed.
    server.items = [item('192.0.2.10'), item('2001:db8::/48'), item('198.51.100.0/25'), item('198.51.100.128/25'), item('203.0.113.0/28')];
    iamMock.resetHistory();
    const third = await fn.invoke();

    expect(third).toEqual({
      status: 'updated',
      planId: expect.stringMatching(/^[0-9a-f]{16}$/),
      added: ['203.0.113.0/28'],
      removed: [],
      addedAddresses: ['203.0.113.0/28'],
      removedAddresses: [],
      entries: ['192.0.2.10/32', '198.51.100.0/24', '203.0.113.0/28', '2001:db8::/48'],
      policyArn: ARN,
      versionId: 'v3',
      previousVersionId: 'v2',
      reasons: [],
      approvable: false,
      dryRun: false,
    });
    // Now one block swapped for another (1 of 4 removed: under the 30% guard).
    server.items = [item('192.0.2.10'), item('2001:db8::/48'), item('203.0.113.64/28'), item('198.51.100.0/24')];
    const fourth = await fn.invoke();

    expect(fourth).toMatchObject({
      status: 'updated',
      added: ['203.0.113.64/28'],
      removed: ['203.0.113.0/28'],
      entries: ['192.0.2.10/32', '198.51.100.0/24', '203.0.113.64/28', '2001:db8::/48'],
      versionId: 'v4',
      previousVersionId: 'v3',
    });
    expect(fakeIam.defaultDocument).toBe(serializePolicy(renderDenyPolicy(fourth.entries)));
    expect(alertEvents()).toEqual(['updated', 'updated', 'updated']);
    expect(alerts()[2].subject).toBe('allowlist-sync: rosa-trusted-ips updated (+1 -1)');
    expect(alerts()[2].body).toContain('Added (1):\n  + 203.0.113.64/28 (16 addresses)\nRemoved (1):\n  - 203.0.113.0/28 (16 addresses)');
  });

  test('builds its clients, credentials and OCM token once per container; a cold start builds new ones', async () => {
    const fn = coldStart();
    await expect(fn.invoke()).resolves.toMatchObject({ status: 'updated' });
    server.items = [...OCM_ITEMS, item('203.0.113.9')];
    await expect(fn.invoke()).resolves.toMatchObject({ status: 'updated' });
    await expect(fn.invoke()).resolves.toMatchObject({ status: 'unchanged' });

    expect(server.requestsTo('token')).toHaveLength(1);
    expect(server.requestsTo('api')).toHaveLength(3);
    expect(ssmMock).toHaveReceivedCommandTimes(ssmSdk.GetParameterCommand, 1);
    expect(snsMock).toHaveReceivedCommandTimes(snsSdk.PublishCommand, 2);
    expect(new Set(iamMock.send.thisValues).size).toBe(1);
    expect(new Set(snsMock.send.thisValues).size).toBe(1);
    expect(new Set(ssmMock.send.thisValues).size).toBe(1);
    // Every request bore the one token issued.
    expect(server.requestsTo('api').map((r) => r.headers.authorization)).toEqual(Array(3).fill(`Bearer ${server.issuedTokens[0]}`));

    const again = coldStart();
    await again.invoke();

    expect(server.requestsTo('token')).toHaveLength(2);
    expect(ssmMock).toHaveReceivedCommandTimes(ssmSdk.GetParameterCommand, 2);
    expect(new Set(iamMock.send.thisValues).size).toBe(2);
    expect(new Set(ssmMock.send.thisValues).size).toBe(2);
  });

  test('a policy at five versions: one deleted first to make room, then kept at four; the default never deleted', async () => {
    // v1 (hand-made) is the default and the oldest; v2..v5 are older syncs someone set aside.
    useIam(new FakeIam({ arn: ARN, document: HAND_MADE, moreDocuments: [SYNCED_DOC, SYNCED_DOC, SYNCED_DOC, SYNCED_DOC] }));
    fakeIam.defaultVersionId = 'v1';

    const result = await coldStart().invoke();

    expect(result).toMatchObject({ status: 'updated', versionId: 'v6', previousVersionId: 'v1', deleted: ['v2', 'v3'] });
    expect(iamMock).toHaveReceivedCommandTimes(iamSdk.DeletePolicyVersionCommand, 2);
    expect(iamMock).not.toHaveReceivedCommandWith(iamSdk.DeletePolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v1' });
    expect(fakeIam.versionIds()).toEqual(['v1', 'v4', 'v5', 'v6']);
    expect(alerts()[0].body).toContain('deleted version v2 to make room');
    expect(fakeIam.defaultVersionId).toBe('v6');
  });

  test("another writer filling the fifth slot meanwhile: IAM's LimitExceeded, one pruned, written once, the other writer reported", async () => {
    useIam(new FakeIam({ arn: ARN, document: HAND_MADE, moreDocuments: [HAND_MADE, HAND_MADE, HAND_MADE] }));
    fakeIam.beforeCreate = () => fakeIam.addVersion(HAND_MADE, false);

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'concurrent-writer' });
    expect(err.message).toContain(`version v5 of ${ARN}, created by someone else while v6 was being written (plan against v4)`);
    expect(fakeIam.defaultVersionId).toBe('v6');
    const creates = iamMock.commandCalls(iamSdk.CreatePolicyVersionCommand);
    expect(creates).toHaveLength(2);
    await expect(creates[0].returnValue).rejects.toMatchObject({ name: 'LimitExceededException', message: VERSION_LIMIT_MESSAGE });
    // One deleted first to make room (named), then the policy kept at four: the next create has a free slot.
    expect(fakeIam.versionIds()).toEqual(['v3', 'v4', 'v5', 'v6']);
    expect(alerts()[0].body).toContain('deleted version v2 to make room');
    expect(out.logs().some((l) => l.level === 'WARN' && String(l.message).startsWith('policy found at the version limit'))).toBe(true);
    expect(alerts()[0].body).toContain('deleted version v1 to make room');
  });

  test('EXTRA_CIDRS joins the OCM list', async () => {
    const result = await coldStart({ EXTRA_CIDRS: '203.0.113.0/24, 192.0.2.11' }).invoke();

    // As entries of the new list (the host joined its neighbour in a /31), and exactly as addresses.
    expect(result).toMatchObject({ status: 'updated', added: ['192.0.2.10/31', '203.0.113.0/24', '2001:db8::/48'], addedAddresses: ['192.0.2.11/32', '203.0.113.0/24', '2001:db8::/48'] });
    expect(result.entries).toEqual(['192.0.2.10/31', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/48']);
  });
});

describe('events', () => {
  test('{"dryRun": true} only plans: status changes, no version written', async () => {
    const result = await coldStart().invoke({ dryRun: true });

    expect(result).toMatchObject({ status: 'changes', added: ['2001:db8::/48'], removed: [], entries: SYNCED_ENTRIES, dryRun: true, reasons: [] });
    expect(result).not.toHaveProperty('versionId');
    expectNoVersionWrites();
    expect(fakeIam.versionIds()).toEqual(['v1']);
    expect(fakeIam.defaultDocument).toBe(HAND_MADE);
    expect(alerts()).toEqual([]);
  });

  test('DRY_RUN=true in the environment only plans, whatever the event', async () => {
    const fn = coldStart({ DRY_RUN: 'true' });

    await expect(fn.invoke()).resolves.toMatchObject({ status: 'changes', dryRun: true });
    await expect(fn.invoke({ dryRun: false })).resolves.toMatchObject({ status: 'changes', dryRun: true });
    expectNoVersionWrites();
  });

  test('{"approve": id} applies exactly the refused plan, and no other', async () => {
    // Hand-made policy, synced first so there is something to remove.
    const fn = coldStart();
    await fn.invoke();
    expect(fakeIam.defaultVersionId).toBe('v2');

    // OCM drops two of three blocks: mass removal, refused.
    server.items = [item('192.0.2.10')];
    const refused = await fn.invoke();
    expect(refused).toMatchObject({
      status: 'refused',
      removed: ['198.51.100.0/24', '2001:db8::/48'],
      reasons: ['2 of 3 current entries would be removed (67%, 99.5+% of the IPv4 addresses, 100% of the IPv6 addresses), more than the 30% allowed'],
      approvable: true,
    });
    const planId = refused.planId;
    expect(alerts()[1].body).toContain(`--payload '{"approve":"${planId}"}'`);

    // Another well-formed id is not this plan's: still refused, nothing written.
    const other = await fn.invoke({ approve: 'aaaaaaaaaaaaaaaa' });
    expect(other).toMatchObject({
      status: 'refused',
      planId,
      reasons: [
        '2 of 3 current entries would be removed (67%, 99.5+% of the IPv4 addresses, 100% of the IPv6 addresses), more than the 30% allowed',
        `the plan changed since it was approved: approved aaaaaaaaaaaaaaaa, the plan is now ${planId}; review it and approve the new id`,
      ],
    });

    // The list moves on before the approval arrives: the approved id no longer matches.
    server.items = [item('198.51.100.0/24')];
    const moved = await fn.invoke({ approve: planId });
    expect(moved.status).toBe('refused');
    expect(moved.planId).not.toBe(planId);
    expect(moved.reasons).toContain(`the plan changed since it was approved: approved ${planId}, the plan is now ${moved.planId}; review it and approve the new id`);
    expect(fakeIam.versionIds()).toEqual(['v1', 'v2']);

    // Back to the reviewed list: the approval applies it.
    server.items = [item('192.0.2.10')];
    const applied = await fn.invoke({ approve: planId });
    expect(applied).toEqual({
      status: 'updated',
      planId,
      added: [],
      removed: ['198.51.100.0/24', '2001:db8::/48'],
      addedAddresses: [],
      removedAddresses: ['198.51.100.0/24', '2001:db8::/48'],
      entries: ['192.0.2.10/32'],
      policyArn: ARN,
      versionId: 'v3',
      previousVersionId: 'v2',
      reasons: ['2 of 3 current entries would be removed (67%, 99.5+% of the IPv4 addresses, 100% of the IPv6 addresses), more than the 30% allowed'],
      approvable: true,
      dryRun: false,
    });
    expect(fakeIam.defaultDocument).toBe(serializePolicy(renderDenyPolicy(['192.0.2.10/32'])));
    expect(iamMock).toHaveReceivedCommandTimes(iamSdk.CreatePolicyVersionCommand, 2);
    expect(alertEvents()).toEqual(['updated', 'refused', 'refused', 'updated']);
    expect(alerts()[3].subject).toBe('allowlist-sync: rosa-trusted-ips updated (+0 -2, approved)');

    // Approving it again is harmless: the plan id no longer exists and nothing is written.
    const replay = await fn.invoke({ approve: planId });
    expect(replay.status).toBe('unchanged');
    expect(iamMock).toHaveReceivedCommandTimes(iamSdk.CreatePolicyVersionCommand, 2);
  });

  test('an approval cannot override a refusal that is not approvable (empty list)', async () => {
    const fn = coldStart();
    server.items = [];
    const refused = await fn.invoke();
    expect(refused.approvable).toBe(false);

    const again = await fn.invoke({ approve: refused.planId });

    expect(again).toMatchObject({ status: 'refused', planId: refused.planId, approvable: false });
    expect(again.reasons).toContain('approval cannot override: empty');
    expectNoVersionWrites();
  });

  test.each<[string, unknown, string]>([
    ['approve not hex', { approve: 'yes please' }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got "yes please".`],
    ['approve a number', { approve: 1234 }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got 1234.`],
    ['approve too short', { approve: 'abc123' }, `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got "abc123".`],
    ['dryRun a string', { dryRun: 'true' }, `The event's "dryRun" must be true or false, got "true".`],
  ])('a malformed event (%s) is an error, and nothing is read or written', async (_name, event, message) => {
    const err = await coldStart().fail(event);

    // The container's own SyncError class (another module registry than this file's).
    expect(err).toMatchObject({ name: 'SyncError', code: 'bad-event', message });
    expect(iamMock.send.callCount).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(alerts()).toEqual([]);
  });
});

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

describe('failures: alerted, then thrown with a message naming the problem', () => {
  test('OCM down (connection refused)', async () => {
    const gone = await FakeOcmServer.start();
    const url = gone.apiUrl;
    await gone.close();

    const err = await coldStart({ OCM_API_URL: url }).fail();

    expect(err).toMatchObject({ code: 'ocm-network' });
    expect(err.message).toContain(`${url}/api/clusters_mgmt/v1/trusted_ip_addresses`);
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].body).toContain(err.message.slice(0, 60));
    expectNoVersionWrites();
  });

  test('OCM hanging: the request times out, then the run is alerted and thrown', async () => {
    server.override('api', hang());

    const err = await coldStart({}, { requestTimeoutMs: 500, attempts: 1 }).fail();

    expect(err).toMatchObject({ code: 'ocm-timeout' });
    expect(err.message).toMatch(/^OCM did not answer GET http:\/\/127\.0\.0\.1:\d+\/api\/clusters_mgmt\/v1\/trusted_ip_addresses\?page=1&size=100 in time \(no complete answer within 500 ms; 1 try\)\./);
    expect(server.requestsTo('api')).toHaveLength(1);
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (ocm-timeout)');
    expectNoVersionWrites();
  });

  test('IAM AccessDenied', async () => {
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(err.message).toMatch(new RegExp(`^IAM denied iam:GetPolicy on ${ARN.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: User: .* is not authorized to perform: iam:GetPolicy`));
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (iam-access-denied)');
    expect(alerts()[0].body).toContain('Allow iam:GetPolicy on this policy for the role running allowlist-sync');
    expectNoVersionWrites();
  });

  test('the policy does not exist (NoSuchEntity): alerted once, the state kept in the table, not on the missing policy', async () => {
    fakeIam.deleted = true;
    const fn = coldStart();

    const err = await fn.fail();

    expect(err).toMatchObject({ code: 'policy-not-found' });
    expect(err.message).toBe(
      `The IAM managed policy ${ARN} does not exist (iam:GetPolicy: Policy ${ARN} was not found.). Check the policy ARN allowlist-sync is configured with (account id, path, name), or deploy the stack that creates the policy.`,
    );
    expect(alertEvents()).toEqual(['failed']);
    await fn.fail();
    await coldStart().fail();
    expect(alertEvents()).toEqual(['failed']);
    expect((await alertState()).status).toBe('failed');
  });

  test.each<[string, Record<string, string | undefined>, string]>([
    ['POLICY_ARN missing', { POLICY_ARN: undefined }, 'Configuration error: POLICY_ARN is required (the ARN of the managed policy to keep in sync). Fix the environment variable and run again.'],
    ['MIN_ENTRIES=abc', { MIN_ENTRIES: 'abc' }, 'Configuration error: MIN_ENTRIES must be a whole number from 1 to 100000, got "abc". Fix the environment variable and run again.'],
    ['POLICY_ARN not an ARN', { POLICY_ARN: 'rosa-trusted-ips' }, 'Configuration error: POLICY_ARN must be an IAM policy ARN like arn:aws:iam::123456789012:policy/name, got "rosa-trusted-ips". Fix the environment variable and run again.'],
    ['DRY_RUN=maybe', { DRY_RUN: 'maybe' }, 'Configuration error: DRY_RUN must be true or false, got "maybe". Fix the environment variable and run again.'],
  ])('bad configuration (%s): alerted once, thrown every time', async (_name, env, message) => {
    const fn = coldStart(env);

    const first = await fn.fail();
    const second = await fn.fail();

    for (const err of [first, second]) expect(err).toMatchObject({ code: 'config', message });
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (config)');
    expect(alerts()[0].body).toContain(message.replace(' Fix the environment variable and run again.', ''));
    expect(alerts()[0].topic).toBe(TOPIC);
    // The policy is neither read nor written (its tags may hold the alert state).
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.GetPolicyCommand);
    expectNoVersionWrites();
    expect(server.requests).toHaveLength(0);
  });

  test('the same configuration error after cold starts is told once (state in the table), its fix as a recovery', async () => {
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();

    expect(alertEvents()).toEqual(['failed']);
    expect((await alertState(`deployment:${FUNCTION}`))).toEqual({ status: 'failed', key: expect.stringMatching(/^config:[0-9a-f]{12}$/) });
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.GetPolicyCommand);

    // Another configuration error is news.
    await coldStart({ MIN_ENTRIES: '0' }).fail();
    expect(alertEvents()).toEqual(['failed', 'failed']);
    expect(alerts()[1].body).toContain('MIN_ENTRIES must be a whole number from 1 to 100000, got "0"');

    const fixed = await coldStart().invoke();
    expect(fixed.status).toBe('updated');
    expect(alertEvents()).toEqual(['failed', 'failed', 'recovered', 'updated']);
    expect(alerts()[2].body).toMatch(/Before: {3}failure \(config:[0-9a-f]{12}\) since \S+/);
    // Told once: the next cold start has nothing more to say about the configuration.
    await coldStart().invoke();
    expect(alertEvents()).toEqual(['failed', 'failed', 'recovered', 'updated']);
  });

  test('without a usable POLICY_ARN the state is still kept (the table is the deployment\'s): one alert in all', async () => {
    const fn = coldStart({ POLICY_ARN: undefined });
    await fn.fail();
    await fn.fail();
    await coldStart({ POLICY_ARN: undefined }).fail();

    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].body).toContain('Policy:   (POLICY_ARN unset)');
  });

  test('bad configuration whose alert cannot be published: the configuration error is thrown, AlertPublishFailed counted', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new Error('connect ETIMEDOUT'));

    const err = await coldStart({ MIN_ENTRIES: 'abc' }).fail();

    expect(err).toMatchObject({ code: 'config' });
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.logs().find((l) => l.message === 'could not alert the configuration error')?.error).toBe(
      `Could not publish the "failed" alert to ${TOPIC}: connect ETIMEDOUT. Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.`,
    );
    // Not stored as told, so the next cold start tries again.
    expect((await alertState()).status).toBeUndefined();
  });

  test('bad configuration without a topic: throws, publishes nothing', async () => {
    const err = await coldStart({ ALERT_TOPIC_ARN: undefined, MIN_ENTRIES: 'abc' }).fail();

    expect(err.message).toContain('MIN_ENTRIES');
    expect(snsMock.send.callCount).toBe(0);
  });

  test('a failure without a topic configured is still thrown', async () => {
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart({ ALERT_TOPIC_ARN: undefined }).fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(snsMock.send.callCount).toBe(0);
    expect((await alertState()).status).toBeUndefined();
  });
});

describe('SNS failing after a write', () => {
  test('the version stays written, AlertPublishFailed is counted, the invocation throws', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new snsSdk.AuthorizationErrorException({ message: 'User is not authorized to perform SNS:Publish', $metadata: { httpStatusCode: 403 } }));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect(err.message).toBe(
      `Could not publish the "updated" alert to ${TOPIC}: User is not authorized to perform SNS:Publish. Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.`,
    );
    // Written, and not rolled back.
    expect(fakeIam.defaultVersionId).toBe('v2');
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.SetDefaultPolicyVersionCommand);
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.DeletePolicyVersionCommand);
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.metric('PolicyUpdated')).toEqual([1]);
    expect(out.metric('SyncSucceeded')).toEqual([1]);
    // The alert state is not advanced, so an unsent refusal or failure is tried again next run.
    expect((await alertState()).status).toBeUndefined();
  });

  test('a failure whose alert cannot be published either: the original error is thrown, AlertPublishFailed counted', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new Error('socket hang up'));
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.metric('SyncSucceeded')).toEqual([0]);
  });
});

describe('several targets (ALLOWLIST_TARGETS)', () => {
  const OTHER = 'arn:aws:iam::123456789012:policy/ci-machines';
  const targets = (second: Record<string, unknown>) =>
    JSON.stringify([{ name: SERVICE, kind: 'managed-policy', policyArn: ARN, sources: ['ocm'] }, { name: 'ci-machines', kind: 'managed-policy', sources: ['static:203.0.113.64/26'], ...second }]);

  test('the list form returns one result per target, each with its metrics under its own service dimension', async () => {
    const list = JSON.stringify([{ name: 'ci-machines', kind: 'managed-policy', policyArn: ARN, sources: ['ocm', 'static:203.0.113.64/26'], dryRun: true }]);
    const result = (await coldStart({ ALLOWLIST_TARGETS: list }).invoke()) as unknown as { status: string; targets: { target: string; status: string; entries: string[] }[] };
    expect(result.status).toBe('changes');
    expect(result.targets.map((t) => [t.target, t.status])).toEqual([['ci-machines', 'changes']]);
    expect(result.targets[0].entries).toContain('203.0.113.64/26');
    expect(out.emf().map((b) => b.service)).toEqual(['ci-machines']);
    expect(out.emf()[0]).toMatchObject({ SyncSucceeded: 1, PolicyUpdated: 0 });
    expect(fakeIam.versionIds().length).toBe(1);
  });

  test('a failing target does not block the other; the invocation then fails naming it, and each is alerted', async () => {
    const err = await coldStart({ ALLOWLIST_TARGETS: targets({ policyArn: OTHER }) }).fail();
    expect(err.message).toMatch(/^1 of 2 targets failed: ci-machines: .*ci-machines.*\(the others: rosa-trusted-ips updated\)\.$/);
    expect(fakeIam.versionIds().length).toBe(2);
    expect(out.emf().find((b) => b.service === 'ci-machines')).toMatchObject({ SyncSucceeded: 0 });
    expect(out.emf().find((b) => b.service === SERVICE)).toMatchObject({ SyncSucceeded: 1, PolicyUpdated: 1 });
  });
});

describe('metrics (EMF on stdout)', () => {
  test('an update emits every sync metric once, in the namespace, with the service dimension', async () => {
    const result = await coldStart().invoke();

    const blobs = out.emf();
    expect(blobs).toHaveLength(1);
    const [blob] = blobs;
    const [directive] = blob._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(NAMESPACE);
    expect(directive.Dimensions).toEqual([['service']]);
    expect(blob.service).toBe(SERVICE);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual([...METRIC_NAMES].sort());
    expect(directive.Metrics.find((m) => m.Name === 'SyncDuration')?.Unit).toBe('Milliseconds');
    expect(directive.Metrics.filter((m) => m.Name !== 'SyncDuration').every((m) => m.Unit === 'Count')).toBe(true);
    const size = policySize(SYNCED_DOC);
    expect(blob).toMatchObject({
      SyncSucceeded: 1,
      PolicyUpdated: 1,
      Refused: 0,
      EntriesAdded: 1,
      EntriesRemoved: 0,
      AllowlistEntries: result.entries.length,
      PolicySizeChars: size,
      PolicySizeHeadroom: 6144 - size,
    });
    expect(typeof blob.SyncDuration).toBe('number');
    expect(blob.SyncDuration as number).toBeGreaterThanOrEqual(0);

    // The cold start is counted on the first invocation of a container only.
    const coldStarts = () => out.records().filter((r) => 'ColdStart' in r);
    expect(coldStarts()).toHaveLength(1);
    expect(coldStarts()[0]).toMatchObject({ ColdStart: 1, service: SERVICE });
  });

  test('an unchanged run counts a success and no update; the next cold start counts another ColdStart', async () => {
    const fn = coldStart();
    await fn.invoke();
    await fn.invoke();

    expect(out.metric('SyncSucceeded')).toEqual([1, 1]);
    expect(out.metric('PolicyUpdated')).toEqual([1, 0]);
    expect(out.metric('EntriesAdded')).toEqual([1, 0]);
    expect(out.records().filter((r) => 'ColdStart' in r)).toHaveLength(1);
    await coldStart().invoke();
    expect(out.records().filter((r) => 'ColdStart' in r)).toHaveLength(2);
  });

  test('without POWERTOOLS_SERVICE_NAME nor ALLOWLIST_NAME, metrics and alerts name the same (default) allowlist', async () => {
    await coldStart({ POWERTOOLS_SERVICE_NAME: undefined, ALLOWLIST_NAME: undefined }).invoke();

    expect(out.emf()[0].service).toBe('rosa-trusted-ips');
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips updated (+1 -0)');
    expect(out.logs().every((l) => l.service === 'rosa-trusted-ips')).toBe(true);
  });

  test('ALLOWLIST_NAME alone names the metrics dimension, the logs and the alerts', async () => {
    await coldStart({ POWERTOOLS_SERVICE_NAME: undefined, ALLOWLIST_NAME: 'corp-vpn' }).invoke();

    expect(out.emf()[0].service).toBe('corp-vpn');
    expect(alerts()[0].subject).toBe('allowlist-sync: corp-vpn updated (+1 -0)');
  });

  test('logs are JSON lines with the service, the request id and the result', async () => {
    const result = await coldStart().invoke();

    const finished = out.logs().find((l) => l.message === 'sync finished');
    expect(finished).toMatchObject({
      level: 'INFO',
      service: SERVICE,
      function_name: FUNCTION,
      function_request_id: expect.stringMatching(/^0a1b2c3d-/),
      status: 'updated',
      planId: result.planId,
      added: ['2001:db8::/48'],
      removed: [],
      entries: 3,
    });
  });
});

describe('secrets', () => {
  test('never in logs, errors or alerts: a normal run, a renewed token, and SSO and OCM errors that echo them', async () => {
    // A normal run and a token renewal after OCM revokes the token.
    const fn = coldStart();
    await fn.invoke();
    server.revokeTokens();
    await fn.invoke();
    expect(server.issuedTokens).toHaveLength(2);

    // OCM answers with an error page quoting the bearer token it was sent.
    const echoToken: Responder = (req, res) => {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Bad request with ${String(req.headers.authorization)}</title></head></html>`);
    };
    server.enqueue('api', echoToken);
    const ocmErr = await fn.fail();
    expect(ocmErr.message).toContain('Bearer [redacted]');

    // SSO answers a fresh container with an error quoting the client secret and the Basic header.
    const echoSecret: Responder = (req, res) => {
      res.writeHead(401, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Denied ${CLIENT_SECRET} ${String(req.headers.authorization)}</title></head></html>`);
    };
    server.override('token', echoSecret);
    const ssoErr = await coldStart().fail();
    expect(ssoErr.message).toContain('[redacted]');
    expect(alertEvents()).toEqual(['updated', 'failed', 'failed']);
    // The afterEach check runs over every line, error and alert of this test.
    expect(out.lines.length).toBeGreaterThan(10);
  });

  test('a malformed credentials parameter is named, never quoted', async () => {
    ssmHolds(`{"clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}"`);

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'ocm-credentials-invalid' });
    expect(err.message).toContain(`SSM parameter "${PARAMETER}"`);
    expect(alertEvents()).toEqual(['failed']);
  });
});
