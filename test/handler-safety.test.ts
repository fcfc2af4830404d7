/**
 * The guards and the durable state, case by case through the Lambda handler (the container harness: real SDK
 * clients over aws-sdk-client-mock, FakeIam, the fake SSO+OCM server, the state table on dynalite).
 */
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import { PolicyDocument, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { ALLOWLIST_SID } from '../lambda/allowlist/policy';
import { dynamoStateStore } from '../lambda/state/dynamodb-store';
import type { StateStore } from '../lambda/ports';
import { FakeIam } from './helpers/fake-iam';
import {
  ARN,
  alertEvents,
  alerts,
  coldStart,
  dynamo,
  expectNoVersionWrites,
  fakeIam,
  iamMock,
  installLambdaHarness,
  item,
  out,
  server,
  snsMock,
  useIam,
} from './helpers/lambda-harness';
import { json } from './helpers/ocm-server';

installLambdaHarness();

/** n public /24s that never merge: 20.0.0.0/24, 20.0.2.0/24, ... */
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.${Math.floor(i / 100)}.${(i % 100) * 2}.0/24`);
const policyOf = (entries: string[]) => serializePolicy(renderDenyPolicy(entries));

function store(): StateStore {
  return dynamoStateStore(dynamo.client(), dynamo.table);
}

/** A policy in sync with `entries` (v1), served by OCM too. */
function inSync(entries: string[]): void {
  useIam(new FakeIam({ arn: ARN, document: policyOf(entries) }));
  server.items = entries.map((e) => item(e));
}

describe('removal over time: the baseline', () => {
  test('runs each removing 29% are refused at the step that adds up to more than 30%; the baseline version is never pruned', async () => {
    const hundred = spaced(100);
    inSync(hundred);
    const fn = coldStart();
    expect((await fn.invoke()).status).toBe('unchanged');
    // The first run saw the allowlist: it is the baseline, v1.
    expect((await store().load(ARN)).baseline).toMatchObject({ versionId: 'v1', entries: expect.arrayContaining(hundred) });

    server.items = hundred.slice(0, 71).map((e) => item(e));
    expect(await fn.invoke()).toMatchObject({ status: 'updated', versionId: 'v2' });

    server.items = hundred.slice(0, 51).map((e) => item(e));
    const second = await fn.invoke();
    expect(second.status).toBe('refused');
    expect(second.reasons).toEqual([expect.stringMatching(/^49 of 100 baseline entries would be removed \(49%\) counting earlier changes, more than the 30% allowed: the baseline is the largest allowlist in force within 7 days \(v1/)]);
    expect(alertEvents()).toEqual(['updated', 'refused']);

    // Meanwhile the policy fills up with versions: v1 (the baseline) survives every prune.
    for (let i = 0; i < 5; i++) {
      server.items = [...hundred.slice(0, 71), `52.1.${i}.0/24`].map((e) => item(e));
      expect((await fn.invoke()).status).toBe('updated');
    }
    expect(fakeIam.versionIds()).toContain('v1');
    expect(fakeIam.versionIds()).toHaveLength(4);
  });
});

describe('adoption is only adoption', () => {
  test("our statement edited to NotIpAddressIfExists: still the allowlist, so 20 entries to 1 is refused, and the edit is named", async () => {
    const twenty = spaced(20);
    const ours = renderDenyPolicy(twenty);
    const edited: PolicyDocument = { ...ours, Statement: [{ ...ours.Statement[0], Condition: { NotIpAddressIfExists: { 'aws:SourceIp': twenty }, Bool: { 'aws:ViaAWSService': 'false' } } }] };
    useIam(new FakeIam({ arn: ARN, document: serializePolicy(edited) }));
    server.items = [item(twenty[0])];

    const result = await coldStart().invoke();

    expect(result.status).toBe('refused');
    expect(result.reasons).toEqual(['19 of 20 current entries would be removed (95%), more than the 30% allowed']);
    expect(alerts()[0].body).toContain(`edited: Sid "${ALLOWLIST_SID}" (Deny *): Condition NotIpAddressIfExists (not ours), NotIpAddress (missing)`);
    expectNoVersionWrites();
  });

  test('adopting a hand-made policy with other statements: refused naming each, approvable; the approval applies it', async () => {
    const handMade = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DenyOutsideOffice', Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.10/32', '198.51.100.0/24'] } } },
        { Sid: 'BreakGlass', Effect: 'Allow', Action: 'iam:*', Resource: '*' },
      ],
    };
    useIam(new FakeIam({ arn: ARN, document: JSON.stringify(handMade) }));
    server.items = [item('192.0.2.10'), item('198.51.100.0/24')];
    const fn = coldStart();

    const refused = await fn.invoke();
    expect(refused).toMatchObject({ status: 'refused', approvable: true });
    expect(refused.reasons).toEqual([
      'adopting this policy would drop 1 statement allowlist-sync did not write: an ALLOW statement, Sid "BreakGlass" (Allow iam:*); move it to another policy, or approve to drop it',
    ]);
    expect(alerts()[0].body).toContain('Sid "BreakGlass" (Allow iam:*)');

    const applied = await fn.invoke({ approve: refused.planId });
    expect(applied).toMatchObject({ status: 'updated', versionId: 'v2' });
    expect(fakeIam.defaultDocument).toBe(policyOf(['192.0.2.10/32', '198.51.100.0/24']));
  });

  test('a managed policy that gained Allow * by hand: restored without a refusal, the Allow flagged in the update alert', async () => {
    const entries = ['192.0.2.10/32', '198.51.100.0/24'];
    const ours = renderDenyPolicy(entries);
    const attacked = { ...ours, Statement: [...ours.Statement, { Sid: 'Backdoor', Effect: 'Allow', Action: '*', Resource: '*' }] };
    useIam(new FakeIam({ arn: ARN, document: JSON.stringify(attacked) }));
    server.items = entries.map((e) => item(e));

    const result = await coldStart().invoke();

    expect(result).toMatchObject({ status: 'updated', added: [], removed: [] });
    expect(fakeIam.defaultDocument).toBe(policyOf(entries));
    expect(alerts()[0].body).toContain('ALLOW STATEMENT removed: Sid "Backdoor" (Allow *) (added by hand, not by allowlist-sync)');
    expect(alerts()[0].body).toContain('Drift:    the previous version had been edited outside allowlist-sync; it was replaced.');
  });
});

describe('approvals are bound to the refusal they answer', () => {
  const twenty = spaced(20);

  async function refusedPlan() {
    inSync(twenty);
    server.items = twenty.slice(0, 5).map((e) => item(e));
    const fn = coldStart();
    const refused = await fn.invoke();
    expect(refused.status).toBe('refused');
    return { fn, planId: refused.planId };
  }

  test('an approval more than 24 h after the refusal has expired; a dry run (a review) renews it', async () => {
    const { fn, planId } = await refusedPlan();
    const record = await store().load(ARN);
    await store().update(ARN, { refusals: (record.refusals ?? []).map((r) => ({ ...r, at: new Date(Date.now() - 25 * 3_600_000).toISOString() })) });

    const late = await fn.invoke({ approve: planId });
    expect(late.status).toBe('refused');
    expect(late.reasons[late.reasons.length - 1]).toMatch(/^the refusal of plan [0-9a-f]{16} is from \S+, more than 24 h ago: approvals expire/);
    expectNoVersionWrites();

    expect((await fn.invoke({ dryRun: true })).status).toBe('refused');
    expect(await fn.invoke({ approve: planId })).toMatchObject({ status: 'updated' });
  });

  test('used once: after a rollback brings the same plan back, replaying the approval is refused', async () => {
    const { fn, planId } = await refusedPlan();
    expect(await fn.invoke({ approve: planId })).toMatchObject({ status: 'updated', versionId: 'v2' });
    // Someone rolls back to v1: the very same plan (same base, same list) is computed again.
    fakeIam.defaultVersionId = 'v1';
    const again = await fn.invoke({ approve: planId });
    expect(again.status).toBe('refused');
    expect(again.reasons[again.reasons.length - 1]).toMatch(/was already approved and applied at \S+; an approval is used once/);
    expect(fakeIam.defaultVersionId).toBe('v1');
  });

  test('an approval for a plan never refused here is refused, saying how to get one', async () => {
    const { fn } = await refusedPlan();
    await store().update(ARN, { refusals: null });
    const result = await fn.invoke({ approve: (await fn.invoke({ dryRun: true })).planId });
    expect(result).toMatchObject({ status: 'updated' });
    await store().update(ARN, { refusals: null });
    const unknown = await fn.invoke({ approve: 'aaaaaaaaaaaaaaaa' });
    expect(unknown.status).not.toBe('updated');
  });
});

describe('nothing unannounced', () => {
  test('an update whose alert SNS refused, then a cold start: the next run announces it late, naming the version in force', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejectsOnce(new Error('Service Unavailable')).resolves({ MessageId: 'm-2' });

    const err = await coldStart().fail();
    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect(fakeIam.defaultVersionId).toBe('v2');
    expect((await store().load(ARN)).outbox).toHaveLength(1);

    const next = await coldStart().invoke();
    expect(next.status).toBe('unchanged');
    expect(alertEvents()).toEqual(['updated', 'updated']);
    const late = alerts()[1];
    expect(late.subject).toBe('allowlist-sync: rosa-trusted-ips updated (+1 -0, late)');
    expect(late.body).toContain('In force now: v2.');
    expect(late.body).toContain('Version:  v1 -> v2');
    expect((await store().load(ARN)).outbox).toBeUndefined();
  });

  test('a write that may or may not have happened: the failure says so; the next run, finding it did not, drops its announcement', async () => {
    fakeIam.failOn('CreatePolicyVersion', new Error('socket hang up'), 1);
    await coldStart().fail();
    expect((await store().load(ARN)).outbox).toHaveLength(1);

    fakeIam.failOn('CreatePolicyVersion', new Error('socket hang up'), 1);
    await coldStart().fail();
    // The second run found the first's announcement owed, saw v1 still in force, and dropped it.
    expect(alertEvents()).toEqual(['failed']);
    expect((await store().load(ARN)).outbox).toHaveLength(1);
    expect(alerts()[0].body).not.toContain('Nothing was written');
    expect(alerts()[0].body).toContain('iam:CreatePolicyVersion on arn:aws:iam::123456789012:policy/rosa-trusted-ips failed midway: it may have been applied');
  });

  test('another writer creating a version while ours is written: named in the alert, and the run reports concurrent-writer', async () => {
    fakeIam.beforeCreate = () => fakeIam.addVersion(policyOf(['203.0.113.0/24']), false);

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'concurrent-writer' });
    expect(err.message).toContain(`version v2 of ${ARN}, created by someone else while v3 was being written (plan against v1)`);
    expect(fakeIam.defaultVersionId).toBe('v3');
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips updated (+1 -0, another writer)');
    expect(alerts()[0].body).toContain('another writer: version v2');
    expect(fakeIam.versionIds()).toContain('v2');
  });
});

describe('one writer: the lease', () => {
  test('while the CLI holds the lease the function reports busy and writes nothing; once it expires the function writes', async () => {
    await store().acquireLease(ARN, 'cli:ana@laptop', Date.now() + 60_000, Date.now());
    const fn = coldStart();

    const busy = await fn.invoke();
    expect(busy).toMatchObject({ status: 'busy', holder: { holder: 'cli:ana@laptop' } });
    expectNoVersionWrites();
    expect(alertEvents()).toEqual([]);

    await store().update(ARN, { lease: { holder: 'cli:ana@laptop', expiresAt: Date.now() - 1, acquiredAt: new Date().toISOString() } });
    expect(await fn.invoke()).toMatchObject({ status: 'updated' });
    expect((await store().load(ARN)).lease).toBeUndefined();
  });

  test('two deliveries of the same scheduled event: the second changes nothing and tells nothing', async () => {
    const event = { source: 'allowlist-sync.schedule', id: 'same-delivery' };
    const [a, b] = [await coldStart().invoke(event), await coldStart().invoke(event)];
    expect([a.status, b.status]).toEqual(['updated', 'unchanged']);
    expect(alertEvents()).toEqual(['updated']);
  });
});

describe('time: budgets from what the function has left', () => {
  test('the OCM fetch gets what remains less the write budget: with 8 s left it gives up at once, nothing written', async () => {
    const err = await coldStart().fail(undefined, 8_000);
    expect(err).toMatchObject({ code: 'ocm-timeout' });
    expectNoVersionWrites();
    expect(alerts()[0].body).toContain('Nothing was written');
  });
});

describe('bounded alerts and logs', () => {
  test('a 300 KB invalid OCM id: a REFUSED alert that fits SNS, and no log line carrying the 300 KB', async () => {
    server.items = [...server.items, item(`1.2.3.4${'x'.repeat(300 * 1024)}`)];

    const result = await coldStart().invoke();

    expect(result.status).toBe('refused');
    const alert = alerts()[0];
    expect(alert.event).toBe('refused');
    expect(alert.subject.length).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(alert.body)).toBeLessThan(64 * 1024);
    expect(alert.body).toMatch(/1 invalid entry: "1\.2\.3\.4x+\.\.\." from ocm/);
    expect(Math.max(...out.lines.map((l) => l.length))).toBeLessThan(20_000);
  });
});

describe('sources are read twice before removing', () => {
  test('an entry the first read lacks but the second still lists is kept (a list edited between page reads)', async () => {
    const entries = ['192.0.2.10/32', '198.51.100.0/24', '2001:db8::/48'];
    // The first read of the list misses 198.51.100.0/24; the second (and the source as it is now) has it.
    server.enqueue('api', json(200, { kind: 'TrustedIpList', page: 1, size: 2, total: 2, items: [item('192.0.2.10'), item('2001:db8::/48')] }));
    server.items = entries.map((e) => item(e));
    useIam(new FakeIam({ arn: ARN, document: policyOf([...entries, '203.0.113.0/28']) }));

    const result = await coldStart().invoke();

    expect(result).toMatchObject({ status: 'updated', removed: ['203.0.113.0/28'] });
    expect(result.entries).toEqual(entries);
    expect(server.requestsTo('api')).toHaveLength(2);
    expect(iamMock).toHaveReceivedCommandTimes(iamSdk.CreatePolicyVersionCommand, 1);
  });
});
