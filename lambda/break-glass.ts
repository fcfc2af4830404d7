import { DEFAULT_GUARDS, Guards, PolicyShape, managedPolicyShape } from './allowlist';
import { pauseInputProblem, pausePlan } from './allowlist/pause';
import { SyncError, describeError } from './errors';
import type { Announcer, Lease, Log, PauseRecord, ResumeRecord, StateStore, Target } from './ports';
import { writePlan } from './sync-write';

// Break-glass: lift the deny at once (pause), and end that (resume). Both run under the target's lease and are
// alerted; the pause is written like any plan (owed announcement first, history of what it replaced), so a crash
// right after its write is still told. The function's events and the CLI call these, nothing else.

/** How to pause one target. */
export interface PauseOptions {
  target: Target;
  /** The target's document shape (its kind's): what "denies nothing" means for it. Default: a managed policy. */
  shape?: PolicyShape;
  state: StateStore;
  /** Why (required, at most PAUSE_REASON_MAX characters). */
  reason: string;
  /** Who asks (default `unknown`). */
  by?: string;
  /** The lease holder: `function:NAME/REQUEST` or `cli:USER@HOST`. */
  writer?: string;
  announcer?: Announcer;
  guards?: Partial<Guards>;
  deadline?: number;
  leaseWaitsMs?: readonly number[];
  now?: () => Date;
  log?: Log;
}

/** What a pause did. */
export interface PauseResult {
  /** `paused`: the lifted document is in force and recorded; `already-paused`: it was, nothing written; `busy`: another writer holds the lease. */
  status: 'paused' | 'already-paused' | 'busy';
  target: string;
  /** The pause in force (for `already-paused`, the earlier one). */
  pause?: PauseRecord;
  /** The version (or kept revision) the lifted document replaced, and the one now in force (managed policy). */
  previousVersionId?: string;
  versionId?: string;
  /** The allowlist entries the pause lifted (they come back on resume, through the guards). */
  lifted: string[];
  /** False when the document already denied nothing: only the pause was recorded. */
  written: boolean;
  holder?: Lease;
  /** The pause stands, but its `paused` alert could not be published: it stays owed (the next run tells it). */
  unannounced?: Error;
}

/**
 * Lifts the target's deny: under the lease, writes the document that denies nothing for its shape (the placeholder,
 * or the trust policy without the tool's statement), records who, why, when and what it replaced, and alerts
 * `paused` through the outbox. Already paused (and lifted): says so and writes nothing. A pause recorded whose
 * write never happened (a crash between) is completed by pausing again.
 */
export async function pause(options: PauseOptions): Promise<PauseResult> {
  const { target, state } = options;
  const problem = pauseInputProblem({ reason: options.reason, by: options.by }, { reasonRequired: true });
  if (problem) throw new SyncError('bad-pause', `Cannot pause ${target.name}: ${problem}.`);
  const by = options.by?.trim() || 'unknown';
  const now = options.now ?? (() => new Date());
  const shape = options.shape ?? managedPolicyShape();
  const [record, current] = await Promise.all([state.load(target.key), target.read()]);
  let p;
  try {
    p = pausePlan(current, shape);
  } catch (err) {
    throw new SyncError('pause-impossible', `Cannot pause ${target.name}: ${describeError(err)}.`, 'Nothing was written or recorded.');
  }
  if (record.pause && p.upToDate) return { status: 'already-paused', target: target.name, pause: record.pause, lifted: [], written: false };
  const lifted = p.removedEntries;
  // The allowlist the restore is measured against: the one in force now, or (a pause completed again) the one before.
  const entries = lifted.length > 0 ? lifted : (record.pause?.entries ?? record.resumed?.pause.entries ?? []);
  const recorded: PauseRecord = { by, reason: options.reason, at: now().toISOString(), ...(entries.length ? { entries: [...entries] } : {}) };
  const notes = [
    ...(p.upToDate ? ['the document in force already denied nothing: only the pause was recorded'] : []),
    ...(record.pause ? [`completes the pause recorded by ${record.pause.by} at ${record.pause.at}, whose document was not in force`] : []),
  ];
  const outcome = await writePlan({
    target,
    state,
    plan: p,
    record,
    current,
    approved: false,
    guards: { ...DEFAULT_GUARDS, ...definedOnly(options.guards) },
    writer: options.writer ?? 'unknown',
    now,
    ...(options.announcer ? { announcer: options.announcer } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.leaseWaitsMs ? { leaseWaitsMs: options.leaseWaitsMs } : {}),
    ...(options.log ? { log: options.log } : {}),
    // Recorded before the write: a run killed right after it must not restore the allowlist at its next schedule.
    before: { pause: recorded, resumed: null },
    tells: { pause: { by, reason: options.reason } },
    keepBaseline: true,
    lastRunStatus: 'paused',
    ...(notes.length ? { headline: notes.join('; ') } : {}),
    // Nothing to write when the document already denies nothing (never synced, or lifted by hand).
    ...(p.upToDate ? { perform: async () => (current.versionId ? { versionId: current.versionId } : {}) } : {}),
    after: (w) => ({ pause: { ...recorded, ...(p.upToDate ? {} : pickReplaced(w.previousVersionId ?? current.versionId)) } }),
  });
  if (outcome.status === 'busy') return { status: 'busy', target: target.name, lifted: [], written: false, ...(outcome.holder ? { holder: outcome.holder } : {}) };
  if (outcome.status === 'refused') {
    // The target refused the document (nothing written): the pause is not in force, so writePlan took its record back.
    throw new SyncError('pause-refused', `Cannot pause ${target.name}: ${outcome.plan.reasons.join('; ')}.`, 'Nothing was written; the allowlist stays in force.');
  }
  return {
    status: 'paused',
    target: target.name,
    pause: { ...recorded, ...(p.upToDate ? {} : pickReplaced(outcome.previousVersionId ?? current.versionId)) },
    ...(outcome.previousVersionId ? { previousVersionId: outcome.previousVersionId } : {}),
    ...(outcome.versionId ? { versionId: outcome.versionId } : {}),
    lifted,
    written: !p.upToDate,
    ...(outcome.unannounced ? { unannounced: outcome.unannounced } : {}),
  };
}

/** How to resume one target. */
export interface ResumeOptions {
  target: Target;
  state: StateStore;
  by?: string;
  writer?: string;
  announcer?: Announcer;
  /** A sync follows at once (the alert says so). */
  restoreNow?: boolean;
  leaseWaitsMs?: readonly number[];
  now?: () => Date;
  log?: Log;
}

/** What a resume did. */
export interface ResumeResult {
  /** `resumed`: the pause is cleared; `not-paused`: there was none, nothing changed; `busy`: another writer holds the lease. */
  status: 'resumed' | 'not-paused' | 'busy';
  target: string;
  /** `resumed`: the pause it ended and who ended it. `not-paused` after an earlier resume: that one (its restore still pending). */
  resumed?: ResumeRecord;
  holder?: Lease;
  /** The pause is cleared, but the `resumed` alert could not be published (the restore's alert still says it). */
  unannounced?: Error;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Clears the pause under the lease and alerts `resumed`. The allowlist is restored by the next sync (right away when
 * the caller runs one), through the usual plan and guards, measured against the allowlist before the pause; its
 * `updated` alert says it ends the pause. Not paused: says so and changes nothing.
 */
export async function resume(options: ResumeOptions): Promise<ResumeResult> {
  const { target, state } = options;
  const problem = pauseInputProblem({ by: options.by }, { reasonRequired: false });
  if (problem) throw new SyncError('bad-resume', `Cannot resume ${target.name}: ${problem}.`);
  const now = options.now ?? (() => new Date());
  const writer = options.writer ?? 'unknown';
  const waits = options.leaseWaitsMs ?? [1000, 2000];
  for (let attempt = 0; ; attempt++) {
    const at = now().getTime();
    const lease = await state.acquireLease(target.key, writer, at + 60_000, at);
    if (lease.ok) {
      const record = lease.record;
      if (!record.pause) {
        await state.releaseLease(target.key, writer);
        return { status: 'not-paused', target: target.name, ...(record.resumed ? { resumed: record.resumed } : {}) };
      }
      const resumed: ResumeRecord = { pause: record.pause, by: options.by?.trim() || 'unknown', at: new Date(at).toISOString() };
      let kept = false;
      try {
        kept = await state.update(target.key, { pause: null, resumed, lease: null }, { leaseHolder: writer });
      } finally {
        if (!kept) await state.releaseLease(target.key, writer).catch(() => undefined);
      }
      if (!kept) throw new SyncError('lease-lost', `The lease on ${target.name} was lost before the pause could be cleared.`, 'Nothing changed; resume again.');
      options.log?.info('pause cleared', { target: target.name, by: resumed.by, pausedBy: record.pause.by, pausedAt: record.pause.at });
      let unannounced: Error | undefined;
      if (options.announcer?.enabled && options.announcer.resumed) {
        try {
          await options.announcer.resumed(resumed, { restoreNow: options.restoreNow === true });
        } catch (err) {
          unannounced = err instanceof Error ? err : new Error(String(err));
        }
      }
      return { status: 'resumed', target: target.name, resumed, ...(unannounced ? { unannounced } : {}) };
    }
    const wait = waits[attempt];
    if (wait === undefined) return { status: 'busy', target: target.name, holder: lease.holder };
    await sleep(wait);
  }
}

function pickReplaced(versionId: string | undefined): Pick<PauseRecord, 'replacedVersionId'> {
  return versionId ? { replacedVersionId: versionId } : {};
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
