import { Plan, PlanOptions, decodePolicyDocument, managedPolicyShape, normalize, parsePolicy, plan } from './allowlist';
import { isLifted } from './allowlist/pause';
import { approvalProblem } from './allowlist/approval';
import { baselineInForce } from './allowlist/baseline';
import { DEFAULT_GUARDS } from './allowlist/guards';
import type { AlertState, Announcement, Announcer, Log, PolicyCheckRequest, PolicyType, PolicyVerifier, Source, SourceResult, StateStore, SyncResult, Target, TargetRecord } from './ports';
import { memoryStateStore } from './state/json-store';
import { SyncError } from './errors';
import { deliverOwed, outboxPatch, owes } from './outbox';
import { lastRunOf, recordPatch, refuse } from './sync-record';
import { writePlan } from './sync-write';

export type { Log, SyncResult } from './ports';

/** Options of one sync run. */
export interface SyncOptions {
  sources: readonly Source[];
  target: Target;
  plan?: PlanOptions;
  /** Only plan; write nothing (a refusal it finds is renewed as reviewed, see approvals). */
  dryRun?: boolean;
  /** Apply a refused plan anyway, but only if the plan computed now has exactly this id (and its refusal is recent). */
  approve?: string;
  /**
   * A saved plan (`plan --out`, `{"expectPlanId": ...}`): apply only when the plan computed now has exactly this id;
   * any other plan writes nothing, records nothing and is `refused` with `saved-plan-stale` (never approvable).
   */
  expectPlanId?: string;
  log?: Log;
  /** Where the target's record lives (alert state, outbox, baseline, refusal, lease); memory when omitted. */
  state?: StateStore;
  /** Publishes announcements; without one, owed announcements stay in the store for a run that has one. */
  announcer?: Announcer;
  /** Who writes: `function:NAME/REQUEST` or `cli:USER@HOST` (the lease holder, named in announcements). */
  writer?: string;
  /** Epoch ms by which the run must be over: no write starts that could not be finished and announced by then. */
  deadline?: number;
  /** Waits before trying a held lease again; then the run reports `busy`. Default 1 s and 2 s. */
  leaseWaitsMs?: readonly number[];
  now?: () => Date;
  /** The real AWS policy engines, asked about a plan's document before it is written (or shown by a dry run). */
  policyChecks?: { verifier: PolicyVerifier; policyType: PolicyType };
}

/** Reads every source; `read` 2 is the second, fresh read of a plan that removes entries. */
async function readSources(sources: readonly Source[], read: number): Promise<SourceResult[]> {
  return Promise.all(sources.map((s) => s.fetch(read === 1 ? undefined : { read })));
}

/** sources → normalize → read current → plan → guard → apply → announce (unless dry run). The only writer. */
export async function sync(options: SyncOptions): Promise<SyncResult> {
  const { target, log } = options;
  const now = options.now ?? (() => new Date());
  const state = options.state ?? memoryStateStore();
  const [record, fetched, current] = await Promise.all([state.load(target.key), readSources(options.sources, 1), target.read()]);
  const announcedLate = await settleOwed(state, target.key, record, current, options);
  const guards = { ...DEFAULT_GUARDS, ...definedOnly(options.plan?.guards) };
  const baseline = baselineInForce(record.baseline, now(), guards.baselineWindowDays);
  // While paused, and after a resume until the restore, plans are measured against the allowlist before the pause.
  const beforePause = (record.pause ?? record.resumed?.pause)?.entries;
  const planOptions = { ...options.plan, subject: target.key, ...(baseline ? { baseline } : {}), ...(beforePause?.length ? { resumeFrom: beforePause } : {}) };
  let desired = normalize(fetched.flatMap((r) => r.entries));
  let p = plan(current, desired, planOptions);
  if (p.removed.length > 0 && !p.upToDate) {
    // A list edited between page reads must not lock out an address the source still lists: remove only what both reads lack.
    const again = await readSources(options.sources, 2);
    desired = normalize([...fetched, ...again].flatMap((r) => r.entries));
    p = plan(current, desired, planOptions);
  }
  for (const warning of desired.warnings) log?.warn(warning);
  const problem = options.approve !== undefined && p.status === 'refused' ? approvalProblem(p, options.approve, record.refusals ?? [], now(), guards.approvalMaxAgeHours) : undefined;
  const approved = options.approve !== undefined && p.status === 'refused' && problem === undefined;
  const base = {
    target: target.name,
    sources: fetched.map((r) => ({ source: r.source, entries: r.entries.length, skipped: r.skipped })),
    warnings: desired.warnings,
    approved,
    record,
    ...(current.attachmentCount !== undefined ? { attachmentCount: current.attachmentCount } : {}),
    ...(announcedLate > 0 ? { announcedLate } : {}),
  };
  const keep = (status: SyncResult['status'], planned: Plan) =>
    recordPatch(record, { status, plan: planned, reviewed: options.dryRun === true, now: now(), writer: options.writer ?? 'unknown', windowDays: guards.baselineWindowDays, approvalMaxAgeHours: guards.approvalMaxAgeHours });
  if (record.pause && !options.dryRun) {
    // A pause recorded whose write never happened (killed between, or its write failed): a failure, alerted, never
    // silently taken as lifted (the operator believes the deny is lifted) nor as paused (the list would go stale unseen).
    if (!isLifted(current, options.plan?.shape ?? managedPolicyShape())) {
      throw new SyncError(
        'pause-incomplete',
        `${target.name} is paused (by ${record.pause.by} at ${record.pause.at}), but the document in force still denies: the pause's write did not happen, and no run writes the allowlist while it is paused.`,
        'Pause again to lift it (the same pause event or command), or resume to keep the allowlist in force.',
      );
    }
    await save(state, target.key, { lastRun: lastRunOf(record, { status: 'paused', plan: p, now: now(), writer: options.writer ?? 'unknown' }) }, log);
    return { ...base, status: 'paused', plan: p, pausedBy: record.pause };
  }
  if (options.expectPlanId !== undefined && p.planId !== options.expectPlanId) {
    const stale = { expected: options.expectPlanId, actual: p.planId };
    const message = `the saved plan ${stale.expected} is stale: ${target.name} and its sources now give plan ${p.planId} (the document in force or the sources' list changed since it was saved); nothing was written: plan again and review the new plan`;
    return { ...base, status: 'refused', plan: refuse(p, { code: 'saved-plan-stale', approvable: false, message }), stale };
  }
  if (p.status === 'refused' && !approved) {
    await save(state, target.key, keep('refused', p), log);
    return { ...base, status: 'refused', plan: problem ? refuse(p, problem) : p };
  }
  // Only a document about to be written is shown to the real engines: an unchanged run costs no call.
  const checked = p.upToDate ? undefined : await verifyDocument(options, p);
  if (checked) {
    await save(state, target.key, keep('refused', checked), log);
    return { ...base, status: 'refused', plan: checked };
  }
  // An approved plan whose document is already in place needs no new version.
  const status = p.upToDate ? 'unchanged' : options.dryRun ? 'changes' : undefined;
  if (status) {
    // Resumed and already restored (by a rollback, or by hand): the resume is over.
    await save(state, target.key, { ...keep(status, p), ...(record.resumed && p.upToDate && !options.dryRun ? { resumed: null } : {}) }, log);
    return { ...base, status, plan: p };
  }
  const restore = record.resumed ? restoreTells(record.resumed) : {};
  return { ...base, ...(await writePlan({ ...options, state, now, guards, record, current, plan: p, approved, baseline, ...restore })) };
}

/** A write that ends a resume: its `updated` alert says it restored after the pause, and the resume is cleared. */
function restoreTells(resumed: NonNullable<TargetRecord['resumed']>): { tells: { restored: NonNullable<Announcement['restored']> }; after: () => { resumed: null } } {
  const { pause } = resumed;
  return { tells: { restored: { pausedBy: pause.by, pausedAt: pause.at, reason: pause.reason, resumedBy: resumed.by, resumedAt: resumed.at } }, after: () => ({ resumed: null }) };
}

/** The plan refused by the real engines' verdict on its document, or undefined when they agree (or are not asked). */
async function verifyDocument(options: SyncOptions, p: Plan): Promise<Plan | undefined> {
  const shape = options.plan?.shape ?? managedPolicyShape();
  const proof = shape.proof;
  if (!options.policyChecks || !proof) return undefined;
  const rendered = parsePolicy(p.document);
  const own = shape.find(rendered);
  const request: PolicyCheckRequest = {
    target: options.target.name,
    policyType: options.policyChecks.policyType,
    document: p.document,
    entries: p.entries,
    proof: { action: proof.action, viaAwsServiceExemption: proof.viaAwsServiceExemption },
    // Findings on statements the tool does not own (a trust policy's Allows) are not ours to refuse on.
    ...(own !== -1 && rendered.Statement.length > 1 ? { ownStatement: own } : {}),
  };
  const refusal = await options.policyChecks.verifier.verify(request);
  return refusal ? refuse(p, refusal) : undefined;
}

/** Publishes what earlier writes still owe, unless another writer holds the lease (its own announcement is in flight). */
async function settleOwed(state: StateStore, key: string, record: TargetRecord, current: { versionId?: string; document?: string }, options: SyncOptions): Promise<number> {
  const announcer = options.announcer;
  if (!owes(record) || !announcer?.enabled) return 0;
  const nowMs = (options.now ?? (() => new Date()))().getTime();
  const holder = options.writer ?? 'unknown';
  const lease = await state.acquireLease(key, holder, nowMs + 60_000, nowMs);
  if (!lease.ok) return 0;
  try {
    const document = current.document === undefined ? undefined : decodePolicyDocument(current.document);
    const { left, delivered } = await deliverOwed(lease.record.outbox ?? [], { ...current, document }, announcer, { log: options.log, ...(record.alert ? { previous: record.alert as AlertState } : {}) });
    await state.update(key, outboxPatch(left), { leaseHolder: holder });
    record.outbox = left;
    return delivered;
  } finally {
    await state.releaseLease(key, holder);
  }
}

async function save(state: StateStore, key: string, patch: ReturnType<typeof recordPatch>, log: Log | undefined): Promise<void> {
  if (Object.keys(patch).length === 0) return;
  try {
    await state.update(key, patch);
  } catch (err) {
    // The run's outcome stands; a record not kept only means the next run decides again.
    log?.warn('could not update the state record', { error: err instanceof Error ? err.message : String(err) });
  }
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
