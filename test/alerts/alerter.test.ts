import {
  IAMClient,
  IAMServiceException,
  ListPolicyTagsCommand,
  LimitExceededException,
  Tag,
  TagPolicyCommand,
  UntagPolicyCommand,
} from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Alerter, decideAlert, failureKey } from '../../lambda/alerts/alerter';
import { AlertOutcome } from '../../lambda/alerts/messages';
import { snsPublisher } from '../../lambda/alerts/publisher';
import { ALERT_STATE_TAGS, AlertState, MemoryAlertStateStore, iamTagAlertStateStore, toTagValue } from '../../lambda/alerts/state';
import { SyncError } from '../../lambda/errors';
import type { Log } from '../../lambda/sync';
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
    expect(failureKey(new SyncError('ocm-timeout', 'OCM answered 503.'))).not.toBe(key);
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
    ['updated is always told', ok, { result: updatedResult() }, 'updated', { status: 'ok', at }, true],
    ['updated after a failure is told as updated', failedState, { result: updatedResult() }, 'updated', { status: 'ok', at }, true],
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

describe('IAM tag store', () => {
  const iam = new IAMClient({ region: 'us-east-1' });
  const iamMock = mockClient(iam);
  beforeEach(() => iamMock.reset());

  test('tag values stay inside IAM charset and length', () => {
    expect(toTagValue('plan:ab12/+=.@-_ ok')).toBe('plan:ab12/+=.@-_ ok');
    expect(toTagValue('a,b;c"d*e')).toBe('a_b_c_d_e');
    expect(toTagValue('x'.repeat(300))).toHaveLength(256);
  });

  test('an unknown state value counts as no state', async () => {
    iamMock.on(ListPolicyTagsCommand).resolves({ Tags: [{ Key: ALERT_STATE_TAGS.status, Value: 'panic' }] });
    await expect(iamTagAlertStateStore(iam, ARN).load()).resolves.toBeUndefined();
  });
});

/** A mocked IAM that keeps the policy's tags, as the real one would between cold starts. */
function taggedPolicy(iamMock: ReturnType<typeof mockClient>, tags: Map<string, string>): void {
  iamMock.on(ListPolicyTagsCommand).callsFake(() => ({ Tags: [...tags].map(([Key, Value]): Tag => ({ Key, Value })), IsTruncated: false }));
  iamMock.on(TagPolicyCommand).callsFake((input: { Tags: Tag[] }) => {
    for (const tag of input.Tags) tags.set(tag.Key as string, tag.Value as string);
    return {};
  });
  iamMock.on(UntagPolicyCommand).callsFake((input: { TagKeys: string[] }) => {
    for (const key of input.TagKeys) tags.delete(key);
    return {};
  });
}

describe('Alerter', () => {
  const iam = new IAMClient({ region: 'us-east-1' });
  const sns = new SNSClient({ region: 'eu-west-1' });
  const iamMock = mockClient(iam);
  const snsMock = mockClient(sns);
  let tags: Map<string, string>;
  let warnings: string[];
  const log: Log = { info: () => undefined, warn: (message) => warnings.push(message) };

  beforeEach(() => {
    iamMock.reset();
    snsMock.reset();
    tags = new Map([['team', 'sre']]);
    warnings = [];
    taggedPolicy(iamMock, tags);
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  /** A cold start: new clients' state is only what the policy's tags hold. */
  function coldStart(minute = 0): Alerter {
    return new Alerter({
      context,
      publisher: snsPublisher(sns, TOPIC),
      store: iamTagAlertStateStore(iam, ARN),
      log,
      now: () => new Date(NOW.getTime() + minute * 60_000),
    });
  }

  function publishedEvents(): string[] {
    return snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes?.event?.StringValue ?? '?');
  }

  test('publishes subject, body and the event attribute subscribers filter on', async () => {
    const report = await coldStart().notify({ result: updatedResult() });

    expect(report).toEqual({ event: 'updated', published: true, stateSaved: true });
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'allowlist-sync: rosa-trusted-ips updated (+2 -1)',
      Message: expect.stringContaining(`--to v3`),
      MessageAttributes: { event: { DataType: 'String', StringValue: 'updated' } },
    });
  });

  test('across cold starts: each state change alerted once, repeats stay quiet, state kept in policy tags', async () => {
    const planA = refusedResult('v3');
    const planB = refusedResult('v4');
    const runs: [AlertOutcome, string | undefined][] = [
      [{ result: unchangedResult() }, undefined],
      [{ result: planA }, 'refused'],
      [{ result: planA }, undefined],
      [{ result: planB }, 'refused'],
      [{ error: credentialError('3f1c9a2e-1b2c-4d5e-8f90-123456789abc') }, 'failed'],
      [{ error: credentialError('9e8d7c6b-5a49-4382-9171-0a1b2c3d4e5f') }, undefined],
      [{ error: new SyncError('ocm-unavailable', 'OCM answered 503.') }, 'failed'],
      [{ result: unchangedResult() }, 'recovered'],
      [{ result: unchangedResult() }, undefined],
      [{ result: updatedResult() }, 'updated'],
      [{ result: updatedResult() }, 'updated'],
    ];
    const expected: string[] = [];
    for (const [i, [outcome, event]] of runs.entries()) {
      const report = await coldStart(i).notify(outcome);
      expect(report.event).toBe(event);
      if (event) expected.push(event);
      expect(publishedEvents()).toEqual(expected);
      if (i === 1) {
        expect(tags.get(ALERT_STATE_TAGS.status)).toBe('refused');
        expect(tags.get(ALERT_STATE_TAGS.key)).toBe(planA.plan.planId);
        expect(tags.get(ALERT_STATE_TAGS.at)).toBe('2024-05-01T03:01:00.000Z');
      }
      if (i === 5) expect(tags.get(ALERT_STATE_TAGS.key)).toMatch(/^ocm-auth-invalid-grant:[0-9a-f]{12}$/);
    }
    // Repeats write no tags: one TagPolicy per change of state (runs 0, 1, 3, 4, 6, 7, 9, 10).
    expect(iamMock).toHaveReceivedCommandTimes(TagPolicyCommand, 8);
    expect(tags.get(ALERT_STATE_TAGS.status)).toBe('ok');
    expect(tags.has(ALERT_STATE_TAGS.key)).toBe(false);
    expect(tags.get('team')).toBe('sre');
    for (const [key, value] of tags) {
      expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u);
      expect(key.length).toBeLessThanOrEqual(128);
    }
  });

  test('SNS failing: alert-publish-failed is thrown, the state is not saved, and the next run tries again', async () => {
    snsMock.on(PublishCommand).rejectsOnce(new Error('User is not authorized to perform: SNS:Publish'));
    const refused = refusedResult();

    const err = await coldStart().notify({ result: refused }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect((err as Error).message).toContain(TOPIC);
    expect(iamMock).not.toHaveReceivedCommand(TagPolicyCommand);
    expect(tags.has(ALERT_STATE_TAGS.status)).toBe(false);

    await expect(coldStart(1).notify({ result: refused })).resolves.toMatchObject({ event: 'refused', published: true, stateSaved: true });
    expect(publishedEvents()).toEqual(['refused', 'refused']);
  });

  test('SNS failing on an update: the warm container sends the lost update first on its next run', async () => {
    snsMock.on(PublishCommand).rejectsOnce(new Error('Throttling: Rate exceeded'));
    const alerter = coldStart();
    const err = await alerter.notify({ result: updatedResult() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'alert-publish-failed' });

    // The next run finds the policy unchanged, which alone would alert nothing.
    const unchanged = { ...updatedResult(), status: 'unchanged' as const };
    await expect(alerter.notify({ result: unchanged })).resolves.toMatchObject({ published: false });
    expect(publishedEvents()).toEqual(['updated', 'updated']);
    const subjects = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);
    expect(subjects[1]).toBe(subjects[0]);
    // Sent once: a third run sends nothing more.
    await alerter.notify({ result: unchanged });
    expect(publishedEvents()).toEqual(['updated', 'updated']);
  });

  test('state unreadable: alerts anyway (a duplicate beats silence) and says so in the log', async () => {
    iamMock.on(ListPolicyTagsCommand).rejects(new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not authorized to perform: iam:ListPolicyTags', $metadata: {} }));

    const report = await coldStart().notify({ error: new SyncError('ocm-unavailable', 'OCM answered 503.') });

    expect(report).toMatchObject({ event: 'failed', published: true });
    expect(warnings).toEqual([expect.stringContaining('could not load the alert state')]);
  });

  test('state not writable: the alert still goes out, the run is not failed for it, the log says so', async () => {
    iamMock.on(TagPolicyCommand).rejects(new LimitExceededException({ message: 'Cannot exceed quota for TagsPerPolicy: 50', $metadata: {} }));

    const report = await coldStart().notify({ result: refusedResult() });

    expect(report).toEqual({ event: 'refused', published: true, stateSaved: false });
    expect(warnings).toEqual([expect.stringContaining('could not save the alert state')]);
  });

  test('no topic configured: nothing published, no state read or written', async () => {
    const alerter = new Alerter({ context, publisher: snsPublisher(sns, undefined), store: iamTagAlertStateStore(iam, ARN), log });

    await expect(alerter.notify({ error: new Error('boom') })).resolves.toEqual({ published: false, stateSaved: false });
    expect(snsMock.calls()).toHaveLength(0);
    expect(iamMock.calls()).toHaveLength(0);
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
