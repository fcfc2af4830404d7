import { IAMClient } from '@aws-sdk/client-iam';
import { DEFAULT_GUARDS, Plan, PlanOptions, PolicyShape, formatCidr, isApprovable, judgeRollback, managedPolicyShape, parseEntry, parsePolicy } from './allowlist';
import { baselineInForce } from './allowlist/baseline';
import { SyncError } from './errors';
import type { AlertState, Announcer, BaselineRecord, HistoryRecord, Lease, LastRun, Log, PauseRecord, RefusalRecord, ResumeRecord, StateStore, Target } from './ports';
import { memoryStateStore } from './state/json-store';
import { writePlan } from './sync-write';
import { ManagedPolicyDescription, describeManagedPolicy, getPolicyVersionDocument, setDefaultPolicyVersion } from './targets/managed-policy';

/** What `allowlist-sync status` reports about a target: its document, and what the state store remembers. */
export interface TargetStatus {
  target: string;
  /** The allowlist in force (canonical; unreadable entries as written), empty when it holds none. */
  entries: string[];
  /** Where the record lives. */
  stateStore: string;
  alertState?: AlertState;
  lastRun?: LastRun;
  baseline?: Pick<BaselineRecord, 'versionId' | 'since' | 'supersededAt'> & { entries: number; inForce: boolean };
  pause?: PauseRecord;
  /** Resumed, the allowlist not yet restored (the next sync restores it, or is refused and says why). */
  resumed?: ResumeRecord;
  /** The newest refused plan no approval has used yet (an approval must name its id). */
  pendingRefusal?: RefusalRecord;
  lease?: Lease;
  /** Announcements owed (written, not yet published). */
  owed: number;
  /** Unversioned targets: the replaced documents kept for rollback, newest first. */
  history?: Omit<HistoryRecord, 'document'>[];
}

/** What `status` reports about a managed policy: the target's status plus its versions. */
export type PolicyStatus = TargetStatus & ManagedPolicyDescription & { defaultCreatedAt?: string };

/** The allowlist of a document, canonical (`192.0.2.1` reads as `192.0.2.1/32`); unreadable entries as written. */
function entriesOf(document: string | undefined, shape: PolicyShape): string[] {
  if (document === undefined) return [];
  return (shape.extract(parsePolicy(document)) ?? []).map((value) => {
    const parsed = parseEntry(value);
    return parsed.ok ? formatCidr(parsed.cidr) : value;
  });
}

async function stateStatus(state: StateStore, key: string, history: boolean): Promise<Omit<TargetStatus, 'target' | 'entries'>> {
  const record = await state.load(key);
  const baseline = record.baseline;
  const inForce = baselineInForce(baseline, new Date(), DEFAULT_GUARDS.baselineWindowDays) !== undefined;
  const pending = (record.refusals ?? []).find((r) => r.approvedAt === undefined);
  return {
    stateStore: state.description,
    ...(record.alert ? { alertState: record.alert } : {}),
    ...(record.lastRun ? { lastRun: record.lastRun } : {}),
    ...(baseline ? { baseline: { entries: baseline.entries.length, since: baseline.since, inForce, ...(baseline.versionId ? { versionId: baseline.versionId } : {}), ...(baseline.supersededAt ? { supersededAt: baseline.supersededAt } : {}) } } : {}),
    ...(record.pause ? { pause: record.pause } : {}),
    ...(record.resumed ? { resumed: record.resumed } : {}),
    ...(pending ? { pendingRefusal: pending } : {}),
    ...(record.lease ? { lease: record.lease } : {}),
    owed: record.outbox?.length ?? 0,
    ...(history ? { history: (await state.history(key)).map(({ document: _document, ...rest }) => rest) } : {}),
  };
}

/** Default version, its entries, when it was made, the versions kept, and what the state store remembers. */
export async function policyStatus(iam: IAMClient, policyArn: string, shape: PolicyShape = managedPolicyShape(), state: StateStore = memoryStateStore()): Promise<PolicyStatus> {
  const description = await describeManagedPolicy(iam, policyArn);
  const document = await getPolicyVersionDocument(iam, policyArn, description.defaultVersionId);
  const createdAt = description.versions.find((v) => v.isDefault)?.createDate;
  return {
    ...description,
    target: `iam:${policyArn}`,
    entries: entriesOf(document, shape),
    ...(createdAt ? { defaultCreatedAt: createdAt } : {}),
    ...(await stateStatus(state, policyArn, false)),
  };
}

/** The status of any target: its document's entries, the state record and (unversioned) the history kept. */
export async function targetStatus(target: Target, shape: PolicyShape, state: StateStore): Promise<TargetStatus> {
  const current = await target.read();
  return { target: target.name, entries: entriesOf(current.document, shape), ...(await stateStatus(state, target.key, !target.versioned)) };
}

/** The outcome of a rollback. */
export interface RollbackResult {
  status: 'rolled-back' | 'refused' | 'unchanged' | 'busy';
  fromVersionId: string;
  toVersionId: string;
  /** The change the rollback makes, judged as a whole document (statements and entries). */
  plan: Plan;
  forced: boolean;
  holder?: Lease;
}

/** How to roll one target back. */
export interface RollbackOptions {
  target: Target;
  state: StateStore;
  /** For a managed policy: the client and ARN (its versions are IAM's). */
  iam?: IAMClient;
  policyArn?: string;
  to?: string;
  force?: boolean;
  plan?: PlanOptions;
  announcer?: Announcer;
  writer?: string;
  deadline?: number;
  leaseWaitsMs?: readonly number[];
  now?: () => Date;
  log?: Log;
}

/**
 * Makes an earlier document the one in force again: for a managed policy an earlier version (`to`, or the
 * newest older one) becomes the default; for a trust or inline policy or a file, a replaced document the state
 * store kept (`r4`, or the newest) is written back. The whole document is judged like a sync; `force` overrides
 * approvable refusals only. It takes the lease, is announced like any write, and nothing is written on refusal.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const { target, state } = options;
  const now = options.now ?? (() => new Date());
  const shape = options.plan?.shape ?? managedPolicyShape();
  const guards = { ...DEFAULT_GUARDS, ...Object.fromEntries(Object.entries(options.plan?.guards ?? {}).filter(([, v]) => v !== undefined)) };
  const record = await state.load(target.key);
  const baseline = baselineInForce(record.baseline, now(), guards.baselineWindowDays);
  let from: string;
  let to: string;
  let restoredDocument: string;
  let currentDocument: string;
  let perform: ((protect: readonly string[]) => Promise<{ versionId?: string; previousVersionId?: string; previousDocument?: string }>) | undefined;
  const current = await target.read();
  if (target.versioned) {
    const iam = options.iam;
    const arn = options.policyArn;
    if (!iam || !arn) throw new SyncError('rollback-unsupported', `Rolling back ${target.name} needs its IAM client and policy ARN.`);
    const description = await describeManagedPolicy(iam, arn);
    from = description.defaultVersionId;
    const older = description.versions.filter((v) => !v.isDefault);
    to = options.to ?? older[0]?.versionId ?? '';
    if (!to) throw new SyncError('rollback-no-version', `${arn} has no version other than the default ${from}.`, 'There is nothing to roll back to.');
    if (!description.versions.some((v) => v.versionId === to)) {
      const kept = description.versions.map((v) => v.versionId).join(', ');
      throw new SyncError('policy-version-not-found', `Version ${to} of ${arn} does not exist; IAM keeps ${kept}.`, 'Pick one of those with --to.');
    }
    [currentDocument, restoredDocument] = await Promise.all([getPolicyVersionDocument(iam, arn, from), getPolicyVersionDocument(iam, arn, to)]);
    const wanted = to;
    perform = async () => {
      const now = (await describeManagedPolicy(iam, arn)).defaultVersionId;
      if (now !== from) throw new SyncError('concurrent-writer', `The default of ${arn} moved from ${from} to ${now} while the rollback was being judged.`, 'Nothing was changed; run the rollback again, which judges the new default.');
      await setDefaultPolicyVersion(iam, arn, wanted);
      return { versionId: wanted, previousVersionId: from };
    };
  } else {
    const history = await state.history(target.key);
    const chosen = options.to ? history.find((h) => h.revision === options.to) : history[0];
    if (!chosen) {
      const kept = history.map((h) => h.revision).join(', ') || 'none';
      throw new SyncError(
        options.to ? 'history-not-found' : 'rollback-no-version',
        options.to ? `${target.name} has no kept document ${options.to}; the state store (${state.description}) keeps ${kept}.` : `${target.name} has no replaced document kept in the state store (${state.description}).`,
        'allowlist-sync status lists what is kept; only documents it replaced since the state store was set up are.',
      );
    }
    from = '(the current document)';
    to = chosen.revision;
    restoredDocument = chosen.document;
    currentDocument = current.document ?? '';
  }
  const judged = judgeRollback({ document: currentDocument, ...(current.versionId ? { versionId: current.versionId } : {}), ...(current.sizeLimit ? { sizeLimit: current.sizeLimit } : {}) }, { id: to, document: restoredDocument }, {
    ...options.plan,
    shape,
    ...(baseline ? { baseline } : {}),
  });
  const base = { fromVersionId: from, toVersionId: to, plan: judged };
  if (judged.upToDate || to === from) return { ...base, status: 'unchanged', forced: false };
  const forced = judged.status === 'refused' && options.force === true && isApprovable(judged);
  if (judged.status === 'refused' && !forced) return { ...base, status: 'refused', forced: false };
  const outcome = await writePlan({
    target,
    state,
    plan: { ...judged, status: 'changes' },
    record,
    current,
    approved: forced,
    ...(baseline ? { baseline } : {}),
    guards,
    ...(options.announcer ? { announcer: options.announcer } : {}),
    writer: options.writer ?? 'unknown',
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.leaseWaitsMs ? { leaseWaitsMs: options.leaseWaitsMs } : {}),
    now,
    ...(options.log ? { log: options.log } : {}),
    ...(perform ? { perform } : {}),
    headline: `rollback to ${to}${forced ? ' (forced past: ' + judged.refusals.map((r) => r.code).join(', ') + ')' : ''}`,
  });
  if (outcome.status === 'busy') return { ...base, status: 'busy', forced, ...(outcome.holder ? { holder: outcome.holder } : {}) };
  if (outcome.status === 'refused') return { ...base, plan: outcome.plan, status: 'refused', forced };
  return { ...base, fromVersionId: outcome.previousVersionId ?? from, status: 'rolled-back', forced };
}
