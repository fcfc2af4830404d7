import { Plan, Refusal, formatCidr, parseEntry } from './allowlist';
import { nextRefusals } from './allowlist/approval';
import { nextBaseline } from './allowlist/baseline';
import type { TargetPatch, TargetRecord } from './ports';

// What a run that writes nothing keeps in the target's record: the refusal an approval must answer, the baseline
// the first time an allowlist is seen, and the last outcome. Pure: returns the patch.

/** The plan with one more refusal. */
export function refuse(p: Plan, refusal: Refusal): Plan {
  return { ...p, status: 'refused', refusals: [...p.refusals, refusal], reasons: [...p.reasons, refusal.message] };
}

/** The entries of a plan's current document, each canonical (as the removal guard measures them). */
export function canonicalCurrent(p: Pick<Plan, 'currentEntries'>): string[] {
  return p.currentEntries.map((value) => {
    const parsed = parseEntry(value);
    return parsed.ok ? formatCidr(parsed.cidr) : value;
  });
}

/** The patch of a run that ends without writing. */
export function recordPatch(
  record: TargetRecord,
  run: { status: string; plan: Plan; reviewed: boolean; now: Date; writer: string; windowDays: number; approvalMaxAgeHours: number },
): TargetPatch {
  const patch: TargetPatch = {};
  const refusals = nextRefusals(record.refusals ?? [], run.plan, run.now, { reviewed: run.reviewed, maxAgeHours: run.approvalMaxAgeHours });
  if (JSON.stringify(refusals) !== JSON.stringify(record.refusals ?? [])) patch.refusals = refusals.length ? refusals : null;
  // A dry run keeps only the refusal it reviewed: a plan looks, it does not change what the next run measures against.
  if (run.reviewed) return patch;
  if (!record.baseline && run.plan.currentKind === 'allowlist') {
    patch.baseline = nextBaseline(undefined, { entries: canonicalCurrent(run.plan), ...(run.plan.baseVersionId ? { versionId: run.plan.baseVersionId } : {}) }, run.now, run.windowDays);
  }
  patch.lastRun = lastRunOf(record, run);
  return patch;
}

/**
 * The last run as `status` shows it: every run that is not a dry run records when it ended, so a schedule that
 * stopped shows; `since` keeps when runs began to end this way (same status, same plan).
 */
export function lastRunOf(record: TargetRecord, run: { status: string; plan: Plan; now: Date; writer: string }): NonNullable<TargetRecord['lastRun']> {
  const previous = record.lastRun;
  const same = previous !== undefined && previous.status === run.status && previous.planId === run.plan.planId;
  return {
    status: run.status,
    at: run.now.toISOString(),
    ...(same ? { since: previous.since ?? previous.at } : {}),
    planId: run.plan.planId,
    ...(run.plan.baseVersionId !== undefined ? { versionId: run.plan.baseVersionId } : {}),
    writer: run.writer,
  };
}
