import { Plan, Refusal, formatCidr, parseEntry } from './allowlist';
import { nextRefusals } from './allowlist/approval';
import { nextBaseline } from './allowlist/baseline';
import type { TargetPatch, TargetRecord } from './ports';

// What a run that writes nothing keeps in the target's record: the refusal an approval must answer, the baseline
// the first time an allowlist is seen, and the last outcome when it changes. Pure: returns the patch.

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
  if (record.lastRun?.status !== run.status || record.lastRun.planId !== run.plan.planId) {
    patch.lastRun = { status: run.status, at: run.now.toISOString(), planId: run.plan.planId, writer: run.writer };
  }
  return patch;
}
