/**
 * The Lambda entry, end to end, through the container harness (test/helpers/lambda-harness.ts): real SDK clients
 * over aws-sdk-client-mock, FakeIam, the fake SSO+OCM server and the state table on dynalite.
 *
 * The full cycle and the events here; the guards and alert dedupe in handler-guards.test.ts, failures in
 * handler-failures.test.ts, several targets, metrics and secrets in handler-observability.test.ts.
 */
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import * as ssmSdk from '@aws-sdk/client-ssm';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { FakeIam, VERSION_LIMIT_MESSAGE } from './helpers/fake-iam';
import {
  ARN,
  HAND_MADE,
  OCM_ITEMS,
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
  ssmMock,
  useIam,
} from './helpers/lambda-harness';

installLambdaHarness();

// ---------------------------------------------------------------------------------------------------------

describe('full cycle through the handler', () => {
  test('adopts a hand-made policy, then is idempotent, then follows an OCM change exactly', async () => {
    const fn = coldStart();

    const first = await fn.invoke();

    expect(first).toEqual({
      status: 'updated',
      sources: [{ source: 'ocm', entries: 3, skipped: 1 }],
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
      sources: [{ source: 'ocm', entries: 5, skipped: 0 }],
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
      sources: [{ source: 'ocm', entries: 1, skipped: 0 }],
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
