import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { Alerter, AlertContext, SkipRecovery, SkippedNews, renderSkipRecovered, renderSkipped } from './alerts';
import { describeError } from './errors';
import type { FleetDiscovery } from './fleet';
import { METRIC } from './metric-names';
import type { MetricsSink, RunLog, SkippedAccount, StateStore } from './ports';

// A fleet account whose stack instance is not CURRENT is left out (the StackSet has not put the spoke role and
// policy there as they should be). Left out silently, its list would freeze: the lockout this tool exists to
// prevent. So each one is counted (FleetAccountsSkipped, alarmed), told once per account and status, told again
// only when the status changes, and told as recovered when it is CURRENT again. What was told lives in the
// fleet's own record of the state store (`skipped`), so a cold container does not tell it again.

/** What telling a fleet's skipped accounts needs. */
export interface SkipTeller {
  name: string;
  alerter: Alerter;
  context: AlertContext;
  metrics: MetricsSink;
  log: RunLog;
  state: StateStore;
  /** The fleet's record key (`fleet:NAME`): its alert state and its `skipped`. */
  stateKey: string;
  /** The StackSet, for the alert's commands. */
  stackSet?: string;
  /** The accounts this container knows the record holds as skipped; undefined until it has read the record once. */
  knownSkipped?: Set<string>;
}

const statusOf = (instances: readonly string[]): string => instances.join(', ');

/**
 * Counts this run's skipped accounts, tells what changed since the record (new or other status: `skipped`; CURRENT
 * again: `recovered`) and keeps the record. An account skipped before and now neither CURRENT nor skipped (it left
 * the StackSet, or is excluded) is dropped without a word. A publish that fails leaves the record as it was for
 * those accounts, so the next run tells them; nothing here fails the run.
 */
export async function tellSkipped(f: SkipTeller, notCurrent: FleetDiscovery['skipped'], current: readonly string[], now: Date = new Date(Date.now())): Promise<void> {
  f.metrics.addMetric(METRIC.fleetAccountsSkipped, MetricUnit.Count, notCurrent.length);
  // A list of accounts has no stack instances: nothing is ever skipped, nothing to read.
  if (f.stackSet === undefined) return;
  if (notCurrent.length > 0) f.log.warn('fleet accounts skipped: their stack instances are not CURRENT, their policies are not synced', { fleet: f.name, skipped: notCurrent });
  // Nothing skipped now, and nothing known to be recorded: no read of the state table.
  if (notCurrent.length === 0 && f.knownSkipped !== undefined && f.knownSkipped.size === 0) return;
  try {
    const before = (await f.state.load(f.stateKey)).skipped ?? {};
    const after: Record<string, SkippedAccount> = {};
    const news: SkippedNews[] = [];
    for (const s of notCurrent) {
      const known = before[s.account];
      const status = statusOf(s.instances);
      if (known?.status === status) after[s.account] = known;
      else news.push(s);
    }
    const isCurrent = new Set(current);
    const back: SkipRecovery[] = Object.entries(before)
      .filter(([account]) => isCurrent.has(account))
      .map(([account, was]) => ({ account, status: was.status, since: was.since }));
    const dropped = Object.keys(before).filter((a) => !isCurrent.has(a) && !notCurrent.some((s) => s.account === a));
    if (dropped.length > 0) f.log.info('fleet accounts no longer skipped: they left the StackSet or are excluded', { fleet: f.name, accounts: dropped });
    if (news.length > 0 && (await publish(f, () => f.alerter.send(renderSkipped(f.context, news, f.stackSet))))) {
      for (const n of news) after[n.account] = { status: statusOf(n.instances), since: before[n.account]?.since ?? now.toISOString() };
    }
    if (back.length > 0 && !(await publish(f, () => f.alerter.send(renderSkipRecovered(f.context, back))))) {
      for (const b of back) after[b.account] = before[b.account];
    }
    if (JSON.stringify(before) !== JSON.stringify(after)) await f.state.update(f.stateKey, { skipped: Object.keys(after).length > 0 ? after : null });
    f.knownSkipped = new Set(Object.keys(after));
  } catch (err) {
    // The record could not be read or kept: the next run tries again (a repeat beats silence).
    f.knownSkipped = undefined;
    f.log.warn('could not tell or record the fleet\'s skipped accounts', { fleet: f.name, error: describeError(err) });
  }
}

async function publish(f: SkipTeller, send: () => Promise<void>): Promise<boolean> {
  if (!f.alerter.enabled) return true;
  try {
    await send();
    return true;
  } catch (err) {
    f.metrics.addMetric(METRIC.alertPublishFailed, MetricUnit.Count, 1);
    f.log.error('the skipped-accounts alert could not be published; the next run tries again', { fleet: f.name, error: describeError(err) });
    return false;
  }
}
