import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isApprovable } from './allowlist';
import type { SyncRuntime } from './compose';
import { SyncError, describeError } from './errors';
import type { RunRequest } from './events';
import type { MetricsSink, Source, SyncResult } from './ports';
import { sync } from './sync';
import { WRITE_BUDGET_MS, concurrentWriterReport } from './sync-write';
import { METRIC, MetricName } from './metric-names';
import { runInLanes } from './lanes';
import type { FilteredEntry } from './allowlist';
import { keepAttached } from './attachments';

// One invocation: the event, the targets it runs, their results. What the targets are is the composition root's.

export type { MetricsSink, RunLog } from './ports';
export type { SyncRuntime } from './compose';

/** What the function returns. */
export interface HandlerResult {
  status: SyncResult['status'];
  planId: string;
  /** Entries added to and removed from the list. */
  added: string[];
  removed: string[];
  /** The exact address-level difference, as minimal blocks. */
  addedAddresses: string[];
  removedAddresses: string[];
  entries: string[];
  /** The target's resource (named `policyArn` since the first, managed-policy-only release). */
  policyArn: string;
  versionId?: string;
  previousVersionId?: string;
  reasons: string[];
  approvable: boolean;
  dryRun: boolean;
  /** Versions deleted to make room, and other writers seen around the write. */
  deleted?: string[];
  otherWriters?: string[];
  /** `busy`: who holds the lease, until when. */
  holder?: { holder: string; until: string };
  /** What the target's include / exclude filters left out of its sources' entries. */
  filtered?: FilteredEntry[];
  /** `refused` because the saved plan (`expectPlanId`) is not the plan computed now: both ids. */
  stale?: { expected: string; actual: string };
  /** `paused`: who paused, why and when. */
  pause?: { by: string; reason: string; at: string };
  /** Each source's name and how many entries it gave (and deliberately left out). */
  sources?: { source: string; entries: number; skipped: number }[];
  /** Dry runs: the document the plan would write (what `plan --function ... --out FILE` saves for review). */
  document?: string;
}

/** What the function returns for several targets: each one's result, and the worst status. */
export interface MultiTargetResult {
  status: SyncResult['status'];
  targets: (HandlerResult & { target: string })[];
  /** Fleet accounts not synced this run (no CURRENT stack instance), each with why: `{target: NAME/ACCOUNT, reason}`. */
  skipped?: { target: string; reason: string }[];
}

export { isAction, parseEvent } from './events';
export type { ActionRequest, InvocationRequest, RunRequest } from './events';

function count(metrics: MetricsSink, name: MetricName, value: number): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

function recordResult(metrics: MetricsSink, result: SyncResult): void {
  const { plan } = result;
  count(metrics, METRIC.syncSucceeded, result.status === 'refused' ? 0 : 1);
  count(metrics, METRIC.refused, result.status === 'refused' ? 1 : 0);
  count(metrics, METRIC.policyUpdated, result.status === 'updated' ? 1 : 0);
  count(metrics, METRIC.entriesAdded, result.status === 'updated' ? plan.addedEntries.length : 0);
  count(metrics, METRIC.entriesRemoved, result.status === 'updated' ? plan.removedEntries.length : 0);
  if (result.otherWriters?.length) count(metrics, METRIC.concurrentWriter, 1);
  if (result.status === 'busy') count(metrics, METRIC.busy, 1);
  count(metrics, METRIC.allowlistEntries, plan.entries.length);
  count(metrics, METRIC.policySizeChars, plan.documentSize);
  count(metrics, METRIC.policySizeHeadroom, plan.sizeLimit - plan.documentSize);
}

/**
 * One invocation: sync, record metrics, alert. A refusal returns `refused` (and alerts); a failure alerts
 * and then throws, so Lambda's error metric sees it. An alert that cannot be published fails the run, but
 * never undoes a write that already happened.
 */
export async function runSync(request: RunRequest, runtime: SyncRuntime, options: RunOptions = {}): Promise<HandlerResult> {
  const { log, metrics, alerter } = runtime;
  if (options.beginRun ?? true) runtime.beginRun?.();
  const started = Date.now();
  const dryRun = runtime.dryRun || request.dryRun;
  let result: SyncResult;
  try {
    result = await sync({
      sources: runtime.sources.map((source) => withDeadline(source, options.deadline)),
      target: runtime.target,
      plan: runtime.plan,
      dryRun,
      approve: request.approve,
      ...(request.expectPlanId !== undefined ? { expectPlanId: request.expectPlanId } : {}),
      log,
      state: runtime.state,
      announcer: alerter,
      writer: options.writer ?? 'function',
      ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
      ...(runtime.leaseWaitsMs ? { leaseWaitsMs: runtime.leaseWaitsMs } : {}),
      ...(runtime.policyChecks ? { policyChecks: runtime.policyChecks } : {}),
    });
    runtime.keepRecord?.(result.record);
  } catch (err) {
    metrics.addMetric(METRIC.syncDuration, MetricUnit.Milliseconds, Date.now() - started);
    count(metrics, METRIC.syncSucceeded, 0);
    log.error('sync failed', { target: runtime.name, code: err instanceof SyncError ? err.code : 'error', error: describeError(err) });
    await alerter.notify({ error: err }).catch((alertErr: unknown) => {
      count(metrics, METRIC.alertPublishFailed, 1);
      log.error('the failure alert could not be published either', { target: runtime.name, error: describeError(alertErr) });
    });
    throw err;
  }
  metrics.addMetric(METRIC.syncDuration, MetricUnit.Milliseconds, Date.now() - started);
  const { plan } = result;
  if (result.stale) {
    // A saved plan that no longer applies: the operator's answer, not the deployment's refusal (no alert, no alarm).
    log.warn('the saved plan is stale; nothing written', { target: runtime.name, expected: result.stale.expected, planId: plan.planId });
    return handlerResult(result, runtime, dryRun);
  }
  recordResult(metrics, result);
  if (result.unannounced) {
    count(metrics, METRIC.alertPublishFailed, 1);
    log.error('alert could not be published; the policy write (if any) stands', { target: runtime.name, error: describeError(result.unannounced), status: result.status });
    throw result.unannounced;
  }
  if (runtime.attachments && result.status !== 'busy') await checkAttachments(runtime, result, dryRun);
  if (result.otherWriters?.length) {
    // Written and announced (the alert names the other writer); the run still fails, so the error alarm sees it.
    const err = concurrentWriterReport(runtime.resource, result);
    log.error('another writer was at work on the target', { target: runtime.name, error: err.message, otherWriters: result.otherWriters });
    throw err;
  }
  log.info('sync finished', { target: runtime.name, status: result.status, planId: plan.planId, added: plan.addedEntries, removed: plan.removedEntries, reasons: plan.reasons, entries: plan.entries.length });
  try {
    await alerter.notify({ result });
  } catch (err) {
    count(metrics, METRIC.alertPublishFailed, 1);
    log.error('alert could not be published; the policy write (if any) stands', { target: runtime.name, error: describeError(err), status: result.status });
    throw err;
  }
  return handlerResult(result, runtime, dryRun);
}

/** A sync's result as the function returns it. */
function handlerResult(result: SyncResult, runtime: SyncRuntime, dryRun: boolean): HandlerResult {
  const { plan } = result;
  return {
    status: result.status,
    planId: plan.planId,
    added: plan.addedEntries,
    removed: plan.removedEntries,
    addedAddresses: plan.added,
    removedAddresses: plan.removed,
    entries: plan.entries,
    policyArn: runtime.resource,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
    reasons: plan.reasons,
    approvable: isApprovable(plan),
    dryRun,
    ...(result.deleted?.length ? { deleted: result.deleted } : {}),
    ...(result.otherWriters?.length ? { otherWriters: result.otherWriters } : {}),
    ...(result.holder ? { holder: { holder: result.holder.holder, until: new Date(result.holder.expiresAt).toISOString() } } : {}),
    ...(plan.filtered?.length ? { filtered: plan.filtered } : {}),
    ...(result.stale ? { stale: result.stale } : {}),
    ...(result.pausedBy ? { pause: result.pausedBy } : {}),
    sources: result.sources,
    ...(dryRun ? { document: plan.document } : {}),
  };
}

/**
 * Keeps a managed policy attached where it must be (attachTo*): news is alerted once and the record keeps what is
 * still missing. A failure here is logged and counted, never the run's failure: the document sync stands.
 */
async function checkAttachments(runtime: SyncRuntime, result: SyncResult, dryRun: boolean): Promise<void> {
  const { attachments, log, metrics } = runtime;
  if (!attachments) return;
  try {
    const report = await keepAttached(attachments.ops, attachments.rule, { dryRun, record: result.record ?? {}, now: new Date(Date.now()), ...(result.attachmentCount !== undefined ? { attachmentCount: result.attachmentCount } : {}) });
    if (report.fullCheck) log.debug('attachments checked in full', { target: runtime.name, why: report.fullCheck });
    if (report.news.length > 0) {
      count(metrics, METRIC.detached, report.news.length);
      log.warn('the policy was found detached', { target: runtime.name, news: report.news });
      await runtime.alerter.detached(report.news);
    }
    if (report.back.length > 0) log.info('the policy is attached again', { target: runtime.name, principals: report.back });
    if (report.record) await runtime.state.update(runtime.target.key, { attachments: report.record });
  } catch (err) {
    count(metrics, METRIC.attachmentCheckFailed, 1);
    log.error('could not check the policy attachments', { target: runtime.name, error: describeError(err) });
  }
}

/** How one invocation runs a target. */
export interface RunOptions {
  beginRun?: boolean;
  /** Epoch ms the invocation must end by (the function's remaining time): budgets for the fetch and the write. */
  deadline?: number;
  /** The lease holder and announcement writer: `function:NAME/REQUEST_ID`. */
  writer?: string;
  /** With several targets: how many run at once (default DEFAULT_CONCURRENCY). */
  concurrency?: number;
  /** With several targets: told each target's outcome once all have run, before a failure is thrown (fleet roll-ups). */
  onSettled?: (outcomes: readonly TargetOutcome[]) => void;
}

/** How one target's run ended: its status, or `failed` when it threw. */
export interface TargetOutcome {
  target: string;
  status: SyncResult['status'] | 'failed';
}

/** The source, told to answer while there is still time to write and announce. */
function withDeadline(source: Source, deadline: number | undefined): Source {
  if (deadline === undefined) return source;
  const by = deadline - WRITE_BUDGET_MS;
  return { name: source.name, fetch: (options = {}) => source.fetch({ ...options, deadline: Math.min(by, options.deadline ?? by) }) };
}

const SEVERITY: SyncResult['status'][] = ['unchanged', 'paused', 'changes', 'updated', 'busy', 'refused'];

/**
 * One invocation over several targets, a few at once (targets on the same role one after the other): a failing
 * target never blocks the others. Each is alerted on its own; when any failed, the invocation throws after all have
 * run, naming them. Results are in the targets' order.
 */
export async function runAll(request: RunRequest, runtimes: readonly SyncRuntime[], options: Omit<RunOptions, 'beginRun'> = {}): Promise<MultiTargetResult> {
  const selected = request.target === undefined ? runtimes : runtimes.filter((r) => r.name === request.target);
  if (selected.length === 0) {
    throw new SyncError('bad-event', `The event names target ${JSON.stringify(request.target)}, but the targets are ${runtimes.map((r) => r.name).join(', ')}.`);
  }
  runtimes[0]?.beginRun?.();
  return runTargets(request, selected, options);
}

/**
 * Runs the selected targets (beginRun already called): the bounded pool, each alerted on its own, the worst status.
 * `failed` are entries that failed before they could run (a fleet whose accounts could not be found), told with the
 * others' failures: the invocation throws after all have run, naming every one.
 */
export async function runTargets(request: RunRequest, selected: readonly SyncRuntime[], options: Omit<RunOptions, 'beginRun'> = {}, failed: readonly string[] = []): Promise<MultiTargetResult> {
  if (request.approve !== undefined && selected.length > 1) {
    throw new SyncError('bad-event', 'An approval must name its target when there are several: send {"approve": "<planId>", "target": "<name>"} as the refusal alert shows.');
  }
  if (request.expectPlanId !== undefined && selected.length > 1) {
    throw new SyncError('bad-event', 'A saved plan must name its target when there are several: send {"expectPlanId": "<planId>", "target": "<name>"}.');
  }
  // Targets overlap their waits on AWS (a bounded pool); targets on one role keep their order (runtime.lane).
  const settled = await runInLanes(
    selected,
    (runtime, index) => runtime.lane ?? `#${index}`,
    (runtime) => runSync(request, runtime, { ...options, beginRun: false }),
    options.concurrency,
  );
  const results: MultiTargetResult['targets'] = [];
  const failures: string[] = [...failed];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') results.push({ target: selected[i].name, ...outcome.value });
    else failures.push(`${selected[i].name}: ${describeError(outcome.reason)}`);
  });
  options.onSettled?.(settled.map((outcome, i) => ({ target: selected[i].name, status: outcome.status === 'fulfilled' ? outcome.value.status : 'failed' })));
  if (failures.length > 0) {
    const done = results.map((r) => `${r.target} ${r.status}`).join(', ');
    throw new SyncError('targets-failed', `${failures.length} of ${selected.length + failed.length} targets failed: ${failures.join(' | ')}${done ? ` (the others: ${done})` : ''}.`);
  }
  const status = results.map((r) => r.status).reduce((worst, s) => (SEVERITY.indexOf(s) > SEVERITY.indexOf(worst) ? s : worst), 'unchanged');
  return { status, targets: results };
}
