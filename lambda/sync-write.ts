import { Baseline, Guards, Plan, decodePolicyDocument, filterLines, statementLines } from './allowlist';
import { markApproved } from './allowlist/approval';
import { nextBaseline } from './allowlist/baseline';
import { SyncError, describeError } from './errors';
import { announcementFor, outboxPatch, withOwed } from './outbox';
import type { Announcement, Announcer, CurrentPolicy, Lease, Log, StateStore, Target, TargetPatch, TargetRecord, WriteResult } from './ports';
import { TargetRefusedError } from './ports';
import { canonicalCurrent, refuse } from './sync-record';

/** Time a write needs to finish and be announced; a run with less left does not start one. */
export const WRITE_BUDGET_MS = 10_000;
/** A lease without a deadline to follow (the CLI without --timeout) lasts this long. */
export const DEFAULT_LEASE_MS = 5 * 60_000;
/** Replaced documents of an unversioned target kept for rollback. */
export const HISTORY_KEPT = 10;

/** What the write step needs. */
export interface WriteStep {
  target: Target;
  state: StateStore;
  plan: Plan;
  record: TargetRecord;
  current: CurrentPolicy;
  approved: boolean;
  baseline?: Baseline;
  guards: Guards;
  announcer?: Announcer;
  writer?: string;
  deadline?: number;
  leaseWaitsMs?: readonly number[];
  now: () => Date;
  log?: Log;
  /** The write itself, when it is not `target.write` of the plan's document (a rollback of a managed policy sets the default instead). */
  perform?: (protect: readonly string[]) => Promise<WriteResult>;
  /** Said in the announcement before everything else (e.g. `rollback to v3 by cli:ana@laptop, forced`). */
  headline?: string;
  /** Kept in the record with the owed announcement, before the write (a pause is recorded before its document is written). */
  before?: TargetPatch;
  /** What the announcement tells besides the change: a pause (told as `paused`), a restore after one. */
  tells?: Pick<Announcement, 'pause' | 'restored'>;
  /** Leave the baseline as it is (a pause is no allowlist: the restore after it is measured against the one before). */
  keepBaseline?: boolean;
  /** The last run's status this write records; default `updated`. */
  lastRunStatus?: string;
  /** More of the record, once the write is known (its version), in the same update that gives the lease back. */
  after?: (written: { versionId?: string; previousVersionId?: string }) => TargetPatch;
}

/** What the write step did. */
export interface WriteOutcome {
  status: 'updated' | 'refused' | 'busy';
  plan: Plan;
  versionId?: string;
  previousVersionId?: string;
  deleted?: string[];
  otherWriters?: string[];
  holder?: Lease;
  /** The write stands but its announcement could not be published: it stays owed (the caller fails the run after counting it). */
  unannounced?: SyncError;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes the lease, trying again briefly while someone else holds it. */
async function takeLease(step: WriteStep, holder: string, expiresAt: number): Promise<{ ok: true; record: TargetRecord } | { ok: false; holder: Lease }> {
  const waits = step.leaseWaitsMs ?? [1000, 2000];
  for (let attempt = 0; ; attempt++) {
    const nowMs = step.now().getTime();
    const outcome = await step.state.acquireLease(step.target.key, holder, expiresAt, nowMs);
    if (outcome.ok) return { ok: true, record: outcome.record };
    const wait = waits[attempt];
    if (wait === undefined || (step.deadline !== undefined && nowMs + wait + WRITE_BUDGET_MS > step.deadline)) return { ok: false, holder: outcome.holder };
    await sleep(wait);
  }
}

/**
 * Lease → owed announcement → write → history → announce → record. Two writes from the same base never both
 * succeed (the lease, and the target's own base check); a killed run leaves the announcement owed, and a run
 * out of time never starts.
 */
export async function writePlan(step: WriteStep): Promise<WriteOutcome> {
  const { target, state, plan: p, log } = step;
  const writer = step.writer ?? 'unknown';
  const started = step.now();
  if (step.deadline !== undefined && step.deadline - started.getTime() < WRITE_BUDGET_MS) {
    throw new SyncError(
      'deadline',
      `Not starting the write of plan ${p.planId} to ${target.name}: ${Math.max(0, Math.round((step.deadline - started.getTime()) / 1000))} s remain, and a write needs ${WRITE_BUDGET_MS / 1000} s to finish and be announced.`,
      'Nothing was written; the next run tries again (raise the function timeout if this repeats).',
    );
  }
  const lease = await takeLease(step, writer, step.deadline ?? started.getTime() + DEFAULT_LEASE_MS);
  if (!lease.ok) {
    log?.warn('another writer holds the lease; nothing written', { target: target.name, holder: lease.holder.holder, until: new Date(lease.holder.expiresAt).toISOString() });
    return { status: 'busy', plan: p, holder: lease.holder };
  }
  // The last record update gives the lease back in the same request; any other way out gives it back here.
  const held = { released: false };
  try {
    return await writeUnderLease(step, writer, lease.record, held);
  } finally {
    if (!held.released) {
      await state.releaseLease(target.key, writer).catch((err: unknown) => log?.warn('could not release the lease; it expires by itself', { error: describeError(err) }));
    }
  }
}

/** The record's fields as they were before `before` was written over them (absent ones cleared). */
function undoBefore(before: TargetPatch | undefined, record: TargetRecord): TargetPatch {
  if (!before) return {};
  return Object.fromEntries(Object.keys(before).map((key) => [key, (record as Record<string, unknown>)[key] ?? null])) as TargetPatch;
}

async function writeUnderLease(step: WriteStep, writer: string, record: TargetRecord, held: { released: boolean }): Promise<WriteOutcome> {
  const { target, state, plan: p, log } = step;
  const notes = [...(step.headline ? [step.headline] : []), ...statementLines(p).map((l) => `statement ${l}`), ...filterLines(p).map((l) => `filtered (include/exclude) ${l}`)];
  const owed = { ...announcementFor(p, { writer, at: step.now(), approved: step.approved, baseDocument: step.current.document === undefined ? undefined : decodePolicyDocument(step.current.document), notes }), ...step.tells };
  const outbox = withOwed(record.outbox, owed);
  // Recorded before the write: if this process dies after it, the next run announces it.
  if (!(await state.update(target.key, { ...step.before, outbox }, { leaseHolder: writer }))) throw leaseLost(target.name);
  const protect = [step.baseline?.versionId, ...(record.outbox ?? []).map((a) => a.versionId)].filter((v): v is string => v !== undefined);
  let written;
  try {
    written = step.perform
      ? await step.perform(protect)
      : await target.write({ document: p.document, planId: p.planId, ...(step.current.versionId ? { baseVersionId: step.current.versionId } : {}), ...(protect.length ? { protect } : {}) });
  } catch (err) {
    if (err instanceof TargetRefusedError) {
      await state.update(target.key, { ...undoBefore(step.before, record), ...outboxPatch(record.outbox ?? []) }, { leaseHolder: writer });
      return { status: 'refused', plan: refuse(p, { code: 'target-refused', approvable: false, message: describeError(err) }) };
    }
    // Whether it was written is judged by the next run from the document in force; the announcement stays owed.
    // What was recorded ahead of the write (a pause) is taken back, still under the lease, when the document in force
    // is plainly the one read: else scheduled runs would hold an allowlist that was never lifted.
    if (step.before) {
      const now = await target.read().catch(() => undefined);
      if (now && now.document === step.current.document && now.versionId === step.current.versionId) {
        await state.update(target.key, undoBefore(step.before, record), { leaseHolder: writer }).catch(() => undefined);
      }
    }
    throw err;
  }
  const at = step.now();
  const patch: TargetPatch = {};
  let previousVersionId = written.previousVersionId;
  if (!target.versioned && written.previousDocument !== undefined) {
    // No versions of its own: the store keeps the replaced document, as `rN`, for rollback.
    const revision = (record.revision ?? 0) + 1;
    previousVersionId = `r${revision}`;
    patch.revision = revision;
    const baselineRevision = record.baseline?.versionId;
    await state.addHistory(target.key, { revision: previousVersionId, replacedAt: at.toISOString(), replacedBy: p.planId, writer, document: written.previousDocument }, HISTORY_KEPT, baselineRevision ? [baselineRevision] : []);
  }
  const versionId = written.versionId;
  const announcement = {
    ...owed,
    ...(versionId ? { versionId } : { versionId: previousVersionId ? `the document after ${previousVersionId}` : 'the new document' }),
    ...(previousVersionId ? { baseVersionId: previousVersionId } : {}),
    notes: [
      ...owed.notes,
      ...(written.deleted ?? []).map((v) => `deleted version ${v} to make room`),
      ...(written.otherWriters ?? []).map((w) => `another writer: ${w}`),
    ],
  };
  const measured =
    record.baseline && !target.versioned && previousVersionId && sameEntries(record.baseline.entries, canonicalCurrent(p)) ? { ...record.baseline, versionId: previousVersionId } : record.baseline;
  const baseline = step.keepBaseline
    ? record.baseline
    : nextBaseline(measured, { entries: p.entries, ...(versionId ? { versionId } : {}) }, at, step.guards.baselineWindowDays, { approved: step.approved });
  Object.assign(patch, {
    ...(baseline ? { baseline } : {}),
    ...(step.approved && record.refusals ? { refusals: markApproved(record.refusals, p.planId, at) } : {}),
    lastRun: { status: step.lastRunStatus ?? 'updated', at: at.toISOString(), planId: p.planId, ...(versionId ? { versionId } : {}), writer },
    ...step.after?.({ ...(versionId ? { versionId } : {}), ...(previousVersionId ? { previousVersionId } : {}) }),
  });
  const others = outbox.slice(0, -1);
  let publishError: unknown;
  if (step.announcer?.enabled) {
    try {
      await step.announcer.announce(announcement, record.alert ? { previous: record.alert } : {});
      Object.assign(patch, outboxPatch(others), { alert: { status: 'ok', at: at.toISOString() } });
    } catch (err) {
      publishError = err;
      Object.assign(patch, outboxPatch([...others, announcement]));
    }
  } else {
    // No topic here (the CLI without ALERT_TOPIC_ARN): the function's next run announces it.
    Object.assign(patch, outboxPatch([...others, announcement]));
  }
  // The record and the lease's release in one conditional request: still ours, or nothing changes.
  patch.lease = null;
  const kept = await state.update(target.key, patch, { leaseHolder: writer });
  // Only once the update has gone through is the lease given back; if it threw, `finally` gives it back.
  held.released = true;
  if (!kept) log?.warn('the lease ran out before the record was updated; the next run announces this write', { target: target.name });
  log?.info('policy updated', { target: target.name, planId: p.planId, added: p.addedEntries, removed: p.removedEntries, versionId, previousVersionId, deleted: written.deleted, otherWriters: written.otherWriters });
  const changed = [`wrote ${versionId ?? 'the new document'} of ${target.name} (plan ${p.planId}); its announcement stays owed and is sent by the next run`];
  const unannounced =
    publishError === undefined ? undefined : publishError instanceof SyncError ? publishError.withChanges(changed) : new SyncError('alert-publish-failed', describeError(publishError), undefined, { changed });
  return {
    ...(unannounced ? { unannounced } : {}),
    status: 'updated',
    plan: p,
    ...(versionId ? { versionId } : {}),
    ...(previousVersionId ? { previousVersionId } : {}),
    ...(written.deleted?.length ? { deleted: written.deleted } : {}),
    ...(written.otherWriters?.length ? { otherWriters: written.otherWriters } : {}),
  };
}

function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

function leaseLost(target: string): SyncError {
  return new SyncError('lease-lost', `The lease on ${target} was lost before the write started.`, 'Nothing was written; another writer may be at work. The next run tries again.');
}

/** The failure a run reports after a write that saw another writer's version meanwhile. */
export function concurrentWriterReport(resource: string, result: { otherWriters?: string[]; versionId?: string }): SyncError {
  return new SyncError(
    'concurrent-writer',
    `Another writer was at work on ${resource} while allowlist-sync wrote ${result.versionId ?? 'it'}: ${(result.otherWriters ?? []).join('; ')}.`,
    'Find out who (CloudTrail), and whether their version should stand; the next run plans against what is in force.',
    { changed: [`wrote ${result.versionId ?? 'the new document'} (announced)`] },
  );
}
