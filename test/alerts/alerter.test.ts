import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Alerter, decideAlert, failureKey } from '../../lambda/alerts/alerter';
import { AlertOutcome } from '../../lambda/alerts/messages';
import { snsPublisher } from '../../lambda/alerts/publisher';
import { AlertState, MemoryAlertStateStore, boundedKey, recordAlertStateStore } from '../../lambda/alerts/state';
import { SyncError } from '../../lambda/errors';
import type { Log, StateStore } from '../../lambda/ports';
import { memoryStateStore } from '../../lambda/state/json-store';
import { ARN, refusedResult, unchangedResult, updatedResult } from './results';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
const context = { allowlist: 'rosa-trusted-ips', policyArn: ARN, functionName: 'allowlist-sync-fn' };
const NOW = new Date('2024-05-01T03:00:00.000Z');

const credentialError = (requestId: string) =>
  new SyncError('ocm-auth-invalid-grant', `Red Hat SSO refused the OCM credential (invalid_grant, operation ${requestId}).`, 'Renew the token in SSM parameter /allowlist-sync/ocm.');

describe('failureKey', () => {
  test('the same failure keeps its key across runs despite request ids and timestamps', () => {
    const a = failureKey(credentialError('3f1c9a2e-1b2c-4d5e-8f90-123456789abc at 2024-05-01T03:00:00Z'));
    const b = failureKey(credentialError('9e8d7c6b-5a49-4382-9171-0a1b2c3d4e5f at 2024-05-01T04:00:00Z'));
    expect(a).toBe(b);
    expect(a).toMatch(/^ocm-auth-invalid-grant:[0-9a-f]{12}$/);
  });

  test('a different message or code is a different failure', () => {
    const key = failureKey(new SyncError('ocm-unavailable', 'OCM answered 503.'));
    expect(failureKey(new SyncError('ocm-unavailable', 'OCM answered 502.'))).not.toBe(key);
    expect(failureKey(new SyncError('ocm-bad-response', 'OCM answered 503.'))).not.toBe(key);
  });

  test('transient failures are one failure per code, whatever the action or page: throttling never alerts every run', () => {
    const a = failureKey(new SyncError('iam-throttled', 'IAM kept throttling iam:GetPolicy on arn:1 after several retries: Rate exceeded.'));
    const b = failureKey(new SyncError('iam-throttled', 'IAM kept throttling iam:CreatePolicyVersion on arn:1 after several retries: Rate exceeded.'));
    expect(a).toBe(b);
    expect(a).toBe('iam-throttled:transient');
    expect(failureKey(new SyncError('ocm-timeout', 'page 1'))).toBe(failureKey(new SyncError('ocm-timeout', 'page 3')));
  });

  test('keys stay inside a safe charset and length', () => {
    expect(boundedKey('plan:ab12/+=.@-_ ok')).toBe('plan:ab12/+=.@-_ ok');
    expect(boundedKey('a,b;c"d*e')).toBe('a_b_c_d_e');
    expect(boundedKey('x'.repeat(300))).toHaveLength(256);
  });
});

describe('decideAlert', () => {
  const ok: AlertState = { status: 'ok', at: '2024-04-30T00:00:00.000Z' };
  const refused = refusedResult();
  const refusedState: AlertState = { status: 'refused', key: refused.plan.planId, at: '2024-04-30T00:00:00.000Z' };
  const error = new SyncError('ocm-unavailable', 'OCM answered 503.');
  const failedState: AlertState = { status: 'failed', key: failureKey(error), at: '2024-04-30T00:00:00.000Z' };
  const at = NOW.toISOString();

  test.each<[string, AlertState | undefined, AlertOutcome, string | undefined, AlertState, boolean]>([
    // An update is announced by the sync through the outbox; the alerter only ends what was wrong before.
    ['updated when ok: nothing more to say or store', ok, { result: updatedResult() }, undefined, { status: 'ok', at }, false],
    ['updated after a failure: the state becomes ok', failedState, { result: updatedResult() }, undefined, { status: 'ok', at }, true],
    ['busy (another writer holds the lease): nothing', failedState, { result: { ...updatedResult(), status: 'busy' } }, undefined, failedState, false],
    ['unchanged after a failure: recovered', failedState, { result: unchangedResult() }, 'recovered', { status: 'ok', at }, true],
    ['unchanged after a refusal: recovered', refusedState, { result: unchangedResult() }, 'recovered', { status: 'ok', at }, true],
    ['dry-run changes after a failure: recovered', failedState, { result: { ...updatedResult(), status: 'changes' } }, 'recovered', { status: 'ok', at }, true],
    ['unchanged when ok: nothing, nothing stored', ok, { result: unchangedResult() }, undefined, ok, false],
    ['unchanged with no state yet: nothing told, ok stored', undefined, { result: unchangedResult() }, undefined, { status: 'ok', at }, true],
    ['a new refusal is told', ok, { result: refused }, 'refused', { status: 'refused', key: refused.plan.planId, at }, true],
    ['the same refusal again: nothing', refusedState, { result: refused }, undefined, refusedState, false],
    ['another plan refused: told', refusedState, { result: refusedResult('v9') }, 'refused', { status: 'refused', key: refusedResult('v9').plan.planId, at }, true],
    ['a failure is told', ok, { error }, 'failed', { status: 'failed', key: failureKey(error), at }, true],
    ['the same failure again: nothing', failedState, { error: new SyncError('ocm-unavailable', 'OCM answered 503.') }, undefined, failedState, false],
    ['another failure: told', failedState, { error: new SyncError('ocm-unavailable', 'OCM answered 500.') }, 'failed', { status: 'failed', key: failureKey(new SyncError('ocm-unavailable', 'OCM answered 500.')), at }, true],
    ['a failure after a refusal: told', refusedState, { error }, 'failed', { status: 'failed', key: failureKey(error), at }, true],
    ['a failure with no state (lost or unreadable): told', undefined, { error }, 'failed', { status: 'failed', key: failureKey(error), at }, true],
  ])('%s', (_name, previous, outcome, event, state, save) => {
    const decision = decideAlert(previous, outcome, NOW);
    expect(decision.event).toBe(event);
    expect(decision.state).toEqual(state);
    expect(decision.save).toBe(save);
  });
});

describe('the record store of alert state', () => {
  test('an unknown state value (a hand edit in the table) counts as no state', async () => {
    const state = memoryStateStore();
    await state.update('k', { alert: { status: 'panic' as AlertState['status'], at: 'x' } });
    await expect(recordAlertStateStore(state, 'k').load()).resolves.toBeUndefined();
  });

  test('reads the record the run already loaded, once, then the store', async () => {
    const state = memoryStateStore();
    const loaded = { alert: { status: 'failed' as const, key: 'k1', at: 'a' } };
    let handed: typeof loaded | undefined = loaded;
    const store = recordAlertStateStore(state, 'k', () => {
      const taken = handed;
      handed = undefined;
      return taken;
    });
    await expect(store.load()).resolves.toEqual(loaded.alert);
    await expect(store.load()).resolves.toBeUndefined();
  });
});

describe('Alerter', () => {
  const sns = new SNSClient({ region: 'eu-west-1' });
  const snsMock = mockClient(sns);
  let state: StateStore & { data(): unknown };
  let warnings: string[];
  const log: Log = { info: () => undefined, warn: (message) => warnings.push(message) };

  beforeEach(() => {
    snsMock.reset();
    state = memoryStateStore();
    warnings = [];
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  /** A cold start: its only memory is the state store's record. */
  function coldStart(minute = 0, store = recordAlertStateStore(state, ARN)): Alerter {
    return new Alerter({ context, publisher: snsPublisher(sns, TOPIC), store, log, now: () => new Date(NOW.getTime() + minute * 60_000) });
  }

  function publishedEvents(): string[] {
    return snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes?.event?.StringValue ?? '?');
  }

  test('publishes subject, body and the event attribute subscribers filter on', async () => {
    const report = await coldStart().notify({ result: refusedResult() });

    expect(report).toEqual({ event: 'refused', published: true, stateSaved: true });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: `allowlist-sync: rosa-trusted-ips REFUSED (plan ${refusedResult().plan.planId})`,
      Message: expect.stringContaining('--approve'),
      MessageAttributes: { event: { DataType: 'String', StringValue: 'refused' } },
    });
  });

  test('across cold starts: each state change alerted once, repeats stay quiet, state kept in the record', async () => {
    const planA = refusedResult('v3');
    const planB = refusedResult('v4');
    const runs: [AlertOutcome, string | undefined][] = [
      [{ result: unchangedResult() }, undefined],
      [{ result: planA }, 'refused'],
      [{ result: planA }, undefined],
      [{ result: planA }, undefined],
      [{ result: planB }, 'refused'],
      [{ error: credentialError('3f1c9a2e-1b2c-4d5e-8f90-123456789abc') }, 'failed'],
      [{ error: credentialError('9e8d7c6b-5a49-4382-9171-0a1b2c3d4e5f') }, undefined],
      [{ error: new SyncError('ocm-unavailable', 'OCM answered 503.') }, 'failed'],
      [{ result: unchangedResult() }, 'recovered'],
      [{ result: unchangedResult() }, undefined],
      [{ error: new SyncError('iam-throttled', 'IAM kept throttling iam:GetPolicy.') }, 'failed'],
      [{ error: new SyncError('iam-throttled', 'IAM kept throttling iam:GetPolicyVersion.') }, undefined],
      [{ error: new SyncError('iam-throttled', 'IAM kept throttling iam:CreatePolicyVersion.') }, undefined],
      [{ result: updatedResult() }, undefined],
    ];
    const expected: string[] = [];
    for (const [i, [outcome, event]] of runs.entries()) {
      const report = await coldStart(i).notify(outcome);
      expect(report.event).toBe(event);
      if (event) expected.push(event);
      expect(publishedEvents()).toEqual(expected);
      const alert = (await state.load(ARN)).alert;
      if (i === 1) expect(alert).toEqual({ status: 'refused', key: planA.plan.planId, at: '2024-05-01T03:01:00.000Z' });
      if (i === 6) expect(alert?.key).toMatch(/^ocm-auth-invalid-grant:[0-9a-f]{12}$/);
    }
    expect((await state.load(ARN)).alert).toEqual({ status: 'ok', at: '2024-05-01T03:13:00.000Z' });
  });

  test('SNS failing: alert-publish-failed is thrown, the state is not saved, and the next run tries again', async () => {
    snsMock.on(PublishCommand).rejectsOnce(new Error('User is not authorized to perform: SNS:Publish'));
    const refused = refusedResult();

    const err = await coldStart().notify({ result: refused }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect((err as Error).message).toContain(TOPIC);
    expect((await state.load(ARN)).alert).toBeUndefined();

    await expect(coldStart(1).notify({ result: refused })).resolves.toMatchObject({ event: 'refused', published: true, stateSaved: true });
    expect(publishedEvents()).toEqual(['refused', 'refused']);
  });

  test('state unreadable: alerts anyway (a duplicate beats silence) and says so in the log', async () => {
    const broken = { load: () => Promise.reject(new Error('ProvisionedThroughputExceeded')), save: () => Promise.resolve() };

    const report = await coldStart(0, broken).notify({ error: new SyncError('ocm-unavailable', 'OCM answered 503.') });

    expect(report).toMatchObject({ event: 'failed', published: true });
    expect(warnings).toEqual([expect.stringContaining('could not load the alert state')]);
  });

  test('state not writable: the alert still goes out, the run is not failed for it, the log says so', async () => {
    const readOnly = { load: () => Promise.resolve(undefined), save: () => Promise.reject(new Error('AccessDenied')) };

    const report = await coldStart(0, readOnly).notify({ result: refusedResult() });

    expect(report).toEqual({ event: 'refused', published: true, stateSaved: false });
    expect(warnings).toEqual([expect.stringContaining('could not save the alert state')]);
  });

  test('no topic configured: nothing published, no state read or written', async () => {
    const alerter = new Alerter({ context, publisher: snsPublisher(sns, undefined), store: recordAlertStateStore(state, ARN), log });

    await expect(alerter.notify({ error: new Error('boom') })).resolves.toEqual({ published: false, stateSaved: false });
    expect(snsMock.calls()).toHaveLength(0);
    expect(state.data()).toEqual({ version: 1, targets: {}, history: {} });
  });

  test('the in-memory store works the same way', async () => {
    const store = new MemoryAlertStateStore();
    const alerter = new Alerter({ context, publisher: snsPublisher(sns, TOPIC), store, now: () => NOW });
    await alerter.notify({ result: refusedResult() });
    await alerter.notify({ result: refusedResult() });
    expect(publishedEvents()).toEqual(['refused']);
    expect(store.state).toEqual({ status: 'refused', key: refusedResult().plan.planId, at: NOW.toISOString() });
  });
});
