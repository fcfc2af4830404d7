/**
 * A fleet's accounts whose stack instance is not CURRENT (lambda/fleet-skipped.ts, lambda/alerts/fleet-messages.ts):
 * told once per account and status, recovered when CURRENT, the record kept only for what was told.
 */
import { AlertMessage, Alerter, MemoryAlertStateStore, SUBJECT_MAX, renderSkipped } from '../lambda/alerts';
import { SkipTeller, tellSkipped } from '../lambda/fleet-skipped';
import type { RunLog } from '../lambda/ports';
import { memoryStateStore } from '../lambda/state/json-store';

const CONTEXT = { allowlist: 'fleet', policyArn: 'policy/rosa-trusted-ips in the accounts of StackSet AllowlistSyncSpoke' };
const A = '111111111111';
const B = '222222222222';
const outdated = (account: string, detail = 'FAILED', reason?: string) => ({ account, instances: [`eu-west-1 OUTDATED (${detail})`], ...(reason ? { reason } : {}) });
const quiet: RunLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function teller(failPublish: () => boolean = () => false) {
  const sent: AlertMessage[] = [];
  const metrics: [string, number][] = [];
  const state = memoryStateStore();
  const publisher = {
    enabled: true,
    publish: async (message: AlertMessage) => {
      if (failPublish()) throw new Error('SNS is down');
      sent.push(message);
    },
  };
  const f: SkipTeller = {
    name: 'fleet',
    alerter: new Alerter({ context: CONTEXT, publisher, store: new MemoryAlertStateStore() }),
    context: CONTEXT,
    metrics: { addMetric: (name, _unit, value) => metrics.push([name, value]) },
    log: quiet,
    state,
    stateKey: 'fleet:fleet',
    stackSet: 'AllowlistSyncSpoke',
  };
  return { f, sent, metrics, state };
}

describe('tellSkipped', () => {
  test('a publish that fails records nothing for those accounts: the next run tells them', async () => {
    let down = true;
    const { f, sent, metrics, state } = teller(() => down);
    await tellSkipped(f, [outdated(A)], []);
    expect(sent).toEqual([]);
    expect((await state.load('fleet:fleet')).skipped).toBeUndefined();
    expect(metrics).toEqual([['FleetAccountsSkipped', 1], ['AlertPublishFailed', 1]]);

    down = false;
    await tellSkipped(f, [outdated(A)], []);
    expect(sent.map((m) => [m.event, m.subject])).toEqual([['skipped', 'allowlist-sync: fleet/111111111111 skipped (eu-west-1 OUTDATED (FAILED))']]);
    expect((await state.load('fleet:fleet')).skipped).toEqual({ [A]: { status: 'eu-west-1 OUTDATED (FAILED)', since: expect.any(String) } });
  });

  test('only what changed is told; the first time skipped is kept across a status change; one that left is dropped silently', async () => {
    const { f, sent, state } = teller();
    await tellSkipped(f, [outdated(A), outdated(B)], [], new Date('2026-12-01T10:00:00Z'));
    expect(sent.map((m) => m.subject)).toEqual(['allowlist-sync: fleet 2 accounts skipped (not CURRENT)']);
    await tellSkipped(f, [outdated(A, 'RUNNING'), outdated(B)], [], new Date('2026-12-01T10:15:00Z'));
    expect(sent.map((m) => m.subject).slice(1)).toEqual(['allowlist-sync: fleet/111111111111 skipped (eu-west-1 OUTDATED (RUNNING))']);
    expect((await state.load('fleet:fleet')).skipped?.[A]).toEqual({ status: 'eu-west-1 OUTDATED (RUNNING)', since: '2026-12-01T10:00:00.000Z' });

    // A is CURRENT again, B left the StackSet: one recovery, for A only; the record is emptied.
    await tellSkipped(f, [], [A]);
    expect(sent.slice(2).map((m) => [m.event, m.subject])).toEqual([['recovered', 'allowlist-sync: fleet/111111111111 CURRENT again, synced']]);
    expect(sent[2].body).toContain('fleet/111111111111 CURRENT again (skipped since 2026-12-01T10:00:00.000Z: eu-west-1 OUTDATED (RUNNING))');
    expect((await state.load('fleet:fleet')).skipped).toBeUndefined();
    await tellSkipped(f, [], [A]);
    expect(sent).toHaveLength(3);
  });

  test('a list of accounts (no StackSet) reads nothing, tells nothing', async () => {
    const { f, sent, metrics } = teller();
    let loads = 0;
    const load = f.state.load.bind(f.state);
    f.state.load = async (key) => (loads++, load(key));
    await tellSkipped({ ...f, stackSet: undefined }, [], [A]);
    expect([loads, sent.length]).toEqual([0, 0]);
    expect(metrics).toEqual([['FleetAccountsSkipped', 0]]);
  });
});

describe('the skipped alert', () => {
  test('each account on its line with the instances and the reason; commands name the StackSet; the subject stays in bounds', () => {
    const message = renderSkipped({ ...CONTEXT, allowlist: 'a-fleet-with-a-rather-long-name-for-a-subject-line' }, [outdated(A, 'FAILED', 'Account 111111111111 should have\n\'AWSCloudFormationStackSetExecutionRole\' role'), { account: B, instances: ['eu-west-1 INOPERABLE', 'us-east-1 OUTDATED'] }], 'AllowlistSyncSpoke');
    expect(message.event).toBe('skipped');
    expect(message.subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
    expect(message.body).toContain("  ! a-fleet-with-a-rather-long-name-for-a-subject-line/111111111111 skipped: its stack instance in eu-west-1 is OUTDATED (FAILED) (reason: Account 111111111111 should have 'AWSCloudFormationStackSetExecutionRole' role): not synced until CURRENT");
    expect(message.body).toContain('/222222222222 skipped: its stack instances are eu-west-1 INOPERABLE, us-east-1 OUTDATED: not synced until CURRENT');
    expect(message.body).toContain('aws cloudformation list-stack-instances --stack-set-name AllowlistSyncSpoke');
  });
});
