/**
 * Break-glass and remote actions through the handler (test/helpers/lambda-harness.ts): a managed policy on FakeIam,
 * OCM on the fake server, the state table on dynalite. Pause lifts the deny (the placeholder), scheduled runs write
 * nothing, resume restores through the guards; status and rollback events; saved plans (expectPlanId).
 * Trust and inline policies and files: break-glass-kinds.test.ts.
 */
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import { isPlaceholder, parsePolicy } from '../lambda/allowlist';
import type { TargetRecord } from '../lambda/ports';
import { dynamoStateStore } from '../lambda/state/dynamodb-store';
import { ARN, FUNCTION, SYNCED_DOC, SYNCED_ENTRIES, alertEvents, alerts, coldStart, dynamo, expectNoVersionWrites, fakeIam, iamMock, installLambdaHarness, item, server, snsMock, tableItems } from './helpers/lambda-harness';

installLambdaHarness();

const REASON = 'Red Hat SRE locked out of cluster prod-1 (INC-4711)';
const PAUSE = { action: 'pause', reason: REASON, by: 'ana@example.com' };

async function record(): Promise<TargetRecord> {
  const client = dynamo.client();
  try {
    return await dynamoStateStore(client, dynamo.table).load(ARN);
  } finally {
    client.destroy();
  }
}

const versionWrites = (): number => iamMock.commandCalls(iamSdk.CreatePolicyVersionCommand).length;

/** A container whose policy has been synced once (v2 holds SYNCED_DOC), alerts cleared. */
async function synced(): Promise<ReturnType<typeof coldStart>> {
  const fn = coldStart();
  await fn.invoke();
  expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
  snsMock.resetHistory();
  return fn;
}

describe('pause', () => {
  test('lifts the deny at once (the placeholder), records who, why and what it replaced, and alerts "paused"', async () => {
    const fn = await synced();

    const result = await fn.invoke(PAUSE);

    expect(result).toMatchObject({ action: 'pause', status: 'paused', versionId: 'v3', previousVersionId: 'v2', lifted: SYNCED_ENTRIES, written: true, alerted: true });
    expect(isPlaceholder(parsePolicy(fakeIam.defaultDocument))).toBe(true);
    const kept = await record();
    expect(kept.pause).toEqual({ by: 'ana@example.com', reason: REASON, at: expect.any(String), replacedVersionId: 'v2', entries: SYNCED_ENTRIES });
    expect(kept.outbox).toBeUndefined();
    expect(kept.lastRun).toMatchObject({ status: 'paused', versionId: 'v3' });
    // The baseline is the allowlist before the pause: the restore is measured against it.
    expect(kept.baseline?.entries).toEqual(SYNCED_ENTRIES);

    const [alert] = alerts();
    expect(alertEvents()).toEqual(['paused']);
    expect(alert.subject).toBe('allowlist-sync: rosa-trusted-ips PAUSED by ana@example.com, IP restriction lifted');
    expect(alert.body).toContain('the IP restriction is lifted');
    expect(alert.body).toContain(`Why:      ${REASON}`);
    expect(alert.body).toContain('Version:  v2 -> v3, a document that denies nothing');
    expect(alert.body).toContain('Lifted:   3 entries were in force');
    expect(alert.body).toContain(`aws lambda invoke --function-name ${FUNCTION} --cli-binary-format raw-in-base64-out --payload '{"action":"resume","by":"<your name>"}' /dev/stdout`);
    expect(alert.body).not.toMatch(/allowlist is empty|empty list/i);
  });

  test('already paused: says so and writes nothing; scheduled runs report paused and write nothing; a dry run still plans', async () => {
    const fn = await synced();
    await fn.invoke(PAUSE);
    const writes = versionWrites();
    snsMock.resetHistory();

    const again = await fn.invoke({ ...PAUSE, by: 'bob' });
    expect(again).toMatchObject({ status: 'already-paused', written: false, alerted: false, pause: { by: 'ana@example.com', reason: REASON } });

    const scheduled = await coldStart().invoke();
    expect(scheduled).toMatchObject({ status: 'paused', pause: { by: 'ana@example.com', reason: REASON } });

    const dry = await fn.invoke({ dryRun: true });
    expect(dry).toMatchObject({ status: 'changes', dryRun: true, entries: SYNCED_ENTRIES });

    expect(versionWrites()).toBe(writes);
    expect(isPlaceholder(parsePolicy(fakeIam.defaultDocument))).toBe(true);
    expect(alerts()).toEqual([]);
    expect((await record()).lastRun).toMatchObject({ status: 'paused' });
  });

  test('a pause whose alert could not be published stays owed: the next (paused) run tells it, late', async () => {
    const fn = await synced();
    snsMock.on(snsSdk.PublishCommand).rejectsOnce(Object.assign(new Error('SNS is down'), { name: 'InternalErrorException' }));

    const result = await fn.invoke(PAUSE);
    expect(result).toMatchObject({ status: 'paused', alerted: false });
    expect((await record()).outbox).toHaveLength(1);

    const next = await coldStart().invoke();
    expect(next.status).toBe('paused');
    const late = alerts().filter((a) => a.event === 'paused');
    expect(late).toHaveLength(2);
    expect(late[1].body).toContain('Announced late: the run that paused it');
    expect(late[1].body).toContain('In force now: v3.');
    expect((await record()).outbox).toBeUndefined();
  });
});

describe('resume', () => {
  test('clears the pause and alerts "resumed"; the next scheduled run restores the allowlist, saying it ends the pause', async () => {
    const fn = await synced();
    await fn.invoke(PAUSE);
    snsMock.resetHistory();

    const resumed = await fn.invoke({ action: 'resume', by: 'bob', sync: false });
    expect(resumed).toMatchObject({ action: 'resume', status: 'resumed', alerted: true, resumed: { by: 'bob', pause: { by: 'ana@example.com', reason: REASON } } });
    expect(resumed).not.toHaveProperty('sync');
    expect(isPlaceholder(parsePolicy(fakeIam.defaultDocument))).toBe(true);
    expect(alertEvents()).toEqual(['resumed']);
    expect(alerts()[0].body).toContain('The next scheduled run restores the allowlist through the usual plan and guards');
    expect((await record()).pause).toBeUndefined();

    const restored = await coldStart().invoke();
    expect(restored).toMatchObject({ status: 'updated', versionId: 'v4', entries: SYNCED_ENTRIES });
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    const update = alerts()[1];
    expect(update.subject).toBe('allowlist-sync: rosa-trusted-ips updated (+3 -0, restored after pause)');
    expect(update.body).toContain(`Restored: the allowlist is back in force after the pause by ana@example.com at `);
    expect((await record()).resumed).toBeUndefined();

    const notPaused = await fn.invoke({ action: 'resume' });
    expect(notPaused).toMatchObject({ status: 'not-paused', alerted: false });
  });

  test('by default syncs right away: restored in the same invocation', async () => {
    const fn = await synced();
    await fn.invoke(PAUSE);

    const result = await fn.invoke({ action: 'resume', by: 'bob' });

    expect(result).toMatchObject({ status: 'resumed', sync: { status: 'updated', versionId: 'v4', entries: SYNCED_ENTRIES } });
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
  });

  test('refused by the guards (the list shrank during the pause): the pause is lifted all the same, the refusal alerted and approvable', async () => {
    const fn = await synced();
    await fn.invoke(PAUSE);
    server.items = [item('192.0.2.10')];
    snsMock.resetHistory();

    const result = await fn.invoke({ action: 'resume', by: 'bob' });

    // Measured against the allowlist before the pause, not against the placeholder (which would be "adoption").
    expect(result).toMatchObject({ status: 'resumed', sync: { status: 'refused', approvable: true } });
    const sync = (result as unknown as { sync: { planId: string; reasons: string[] } }).sync;
    expect(sync.reasons.join(' ')).toMatch(/remov/);
    expect(isPlaceholder(parsePolicy(fakeIam.defaultDocument))).toBe(true);
    expect(alertEvents()).toEqual(['resumed', 'refused']);
    // The refusal does not read as safe: the document in force is the pause's, which denies nothing.
    const refusal = alerts()[1];
    expect(refusal.subject).toBe(`allowlist-sync: rosa-trusted-ips REFUSED (plan ${sync.planId}), IP restriction still lifted`);
    expect(refusal.body).toMatch(/^allowlist-sync REFUSED to restore the allowlist for rosa-trusted-ips after its pause\. Nothing was written: THE IP RESTRICTION IS STILL LIFTED/);
    expect(refusal.body).not.toContain('the current version stays in force');
    const status = await fn.invoke({ action: 'status' });
    expect(status).toMatchObject({ status: 'shown', resumed: { by: 'bob' }, pendingRefusal: { planId: sync.planId } });
    expect(status).not.toHaveProperty('pause');

    const approved = await fn.invoke({ approve: sync.planId });
    expect(approved).toMatchObject({ status: 'updated', entries: ['192.0.2.10/32'] });
    expect((await record()).resumed).toBeUndefined();
  });
});

describe('status and rollback events', () => {
  test('status: the last sync (when, outcome, version), the version in force and the state, reading only', async () => {
    const fn = await synced();
    await fn.invoke();
    // A second quiet run: `at` moves on, `since` keeps when runs began to end this way.
    await fn.invoke();
    const before = JSON.stringify(await tableItems());
    const calls = iamMock.send.callCount;

    const status = await fn.invoke({ action: 'status' });

    expect(status).toMatchObject({
      action: 'status',
      status: 'shown',
      target: `iam:${ARN}`,
      defaultVersionId: 'v2',
      entries: SYNCED_ENTRIES,
      lastRun: { status: 'unchanged', at: expect.any(String), since: expect.any(String), versionId: 'v2', writer: expect.stringContaining(`function:${FUNCTION}/`) },
      alertState: { status: 'ok' },
      baseline: { entries: 3, inForce: true },
      owed: 0,
    });
    expect(JSON.stringify(await tableItems())).toBe(before);
    expect(iamMock.commandCalls(iamSdk.CreatePolicyVersionCommand)).toHaveLength(1);
    expect(iamMock.send.callCount).toBeGreaterThan(calls);
    expectNoWritesSince(calls);
  });

  test('rollback: to an earlier version, judged like the CLI does, announced', async () => {
    const fn = await synced();
    server.items = [...server.items, item('203.0.113.9')];
    expect(await fn.invoke()).toMatchObject({ status: 'updated', versionId: 'v3' });
    snsMock.resetHistory();

    const result = await fn.invoke({ action: 'rollback', to: 'v2', by: 'ana' });

    expect(result).toMatchObject({ action: 'rollback', target: 'rosa-trusted-ips', status: 'rolled-back', fromVersionId: 'v3', toVersionId: 'v2', forced: false, removed: ['203.0.113.9/32'] });
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    expect(alertEvents()).toEqual(['updated']);
    expect(alerts()[0].body).toContain('rollback to v2');

    const toHandMade = await fn.invoke({ action: 'rollback', to: 'v1' });
    expect(toHandMade).toMatchObject({ status: 'refused', refusals: expect.arrayContaining([expect.objectContaining({ code: 'foreign-statements', approvable: true })]) });
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
  });
});

/** No IAM write call since the `calls`-th call. */
function expectNoWritesSince(calls: number): void {
  const writes = iamMock.send.getCalls().slice(calls).map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
  expect(writes.filter((n) => /Create|Delete|SetDefault|Put|Update|Attach/.test(n))).toEqual([]);
}

describe('saved plans (expectPlanId)', () => {
  test('applies when the plan computed now has exactly that id', async () => {
    const fn = coldStart();
    const planned = await fn.invoke({ dryRun: true });
    expect(planned.status).toBe('changes');

    const applied = await fn.invoke({ expectPlanId: planned.planId });

    expect(applied).toMatchObject({ status: 'updated', planId: planned.planId, versionId: 'v2' });
  });

  test('a stale plan writes nothing, records nothing, alerts nothing: refused, saved-plan-stale, both ids, not approvable', async () => {
    const fn = coldStart();
    const planned = await fn.invoke({ dryRun: true });
    server.items = [...server.items, item('203.0.113.9')];
    const before = JSON.stringify(await tableItems());
    snsMock.resetHistory();

    const result = await fn.invoke({ expectPlanId: planned.planId });

    expect(result).toMatchObject({ status: 'refused', approvable: false, stale: { expected: planned.planId, actual: result.planId } });
    expect(result.planId).not.toBe(planned.planId);
    expect(result.reasons).toEqual([expect.stringContaining(`the saved plan ${planned.planId} is stale: iam:${ARN} and its sources now give plan ${result.planId}`)]);
    expectNoVersionWrites();
    expect(alerts()).toEqual([]);
    expect(JSON.stringify(await tableItems())).toBe(before);
    // With an approval too: the saved plan's id rules first.
    expect(await fn.invoke({ expectPlanId: planned.planId, approve: planned.planId })).toMatchObject({ status: 'refused', stale: { expected: planned.planId } });
    expectNoVersionWrites();
  });
});

describe('bad events', () => {
  test.each<[string, unknown, string]>([
    ['a mistyped dryRun', { dryrun: true }, `The event's "dryrun" is not a field of a sync event (did you mean dryRun?).`],
    ['a mistyped action', { action: 'pasue', reason: 'x' }, `The event's "action" must be one of sync, pause, resume, status, rollback, got "pasue" (did you mean pause?).`],
    ['an action of the wrong type', { action: 3 }, `The event's "action" must be one of sync, pause, resume, status, rollback, got 3.`],
    ['a pause without a reason', { action: 'pause' }, `The event's "reason" must say why the IP restriction is lifted (non-empty text), got nothing.`],
    ['a blank reason', { action: 'pause', reason: '  ' }, `The event's "reason" must say why the IP restriction is lifted (non-empty text), got "  ".`],
    ['a reason too long', { action: 'pause', reason: 'x'.repeat(501) }, `The event's "reason" must be at most 500 characters, got 501.`],
    ['a mistyped field of pause', { action: 'pause', reason: 'x', reasn: 'y' }, `The event's "reasn" is not a field of the "pause" event (did you mean reason?).`],
    ['a field of another action', { action: 'status', force: true }, `The event's "force" is not a field of the "status" event (known: action, target).`],
    ['by of the wrong type', { action: 'resume', by: 7 }, `The event's "by" must name who acts (non-empty text), got 7.`],
    ['sync of the wrong type', { action: 'resume', sync: 'no' }, `The event's "sync" must be true or false, got "no".`],
    ['a rollback to a bare number', { action: 'rollback', to: '3' }, `The event's "to" must be a managed policy version (v3) or a kept revision (r3), got "3".`],
    ['force of the wrong type', { action: 'rollback', force: 'yes' }, `The event's "force" must be true or false, got "yes".`],
    ['a saved plan id that is not one', { expectPlanId: 'abc' }, `The event's "expectPlanId" must be a plan id (16 hex digits, from the saved plan), got "abc".`],
    ['an unknown target', { action: 'pause', target: 'rosa-trusted-ip', reason: 'x' }, `The event names target "rosa-trusted-ip", but the targets are rosa-trusted-ips (did you mean rosa-trusted-ips?).`],
    ['an array', [], 'The event must be a JSON object (or empty), got an array.'],
  ])('%s is a bad-event naming the field; nothing is read or written', async (_name, event, message) => {
    const err = await coldStart().fail(event);

    expect(err).toMatchObject({ name: 'SyncError', code: 'bad-event', message });
    expect(iamMock.send.callCount).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(alerts()).toEqual([]);
  });

  test('the scheduler\'s own envelope still syncs', async () => {
    expect(await coldStart().invoke({ source: 'allowlist-sync.schedule', 'detail-type': 'Scheduled Event', detail: {} })).toMatchObject({ status: 'updated' });
  });
});
