import type { Plan, Refusal } from './plan';

// An approval answers one refusal: a plan refused (or reviewed with a dry run) within the last day, not already
// applied. A plan id approved once does not become valid again weeks later. Pure.

/** A refusal an approval may answer, as kept between runs. */
export interface RefusalState {
  planId: string;
  /** When this plan was first refused, or last reviewed with a dry run (ISO 8601). */
  at: string;
  /** Set once an approval of it was applied: it cannot be used again. */
  approvedAt?: string;
}

/** Refusals kept at most (the newest), whatever their age. */
export const REFUSALS_KEPT = 10;

const HOUR_MS = 3_600_000;

const fresh = (r: RefusalState, now: Date, maxAgeHours: number): boolean => now.getTime() - Date.parse(r.at) <= maxAgeHours * HOUR_MS;

/** Why `approve` does not apply to the plan `p`, or undefined when it does. */
export function approvalProblem(p: Pick<Plan, 'planId' | 'refusals'>, approve: string, refusals: readonly RefusalState[], now: Date, maxAgeHours: number): Refusal | undefined {
  if (approve !== p.planId) {
    return { code: 'approval-mismatch', approvable: true, message: `the plan changed since it was approved: approved ${approve}, the plan is now ${p.planId}; review it and approve the new id` };
  }
  const hard = p.refusals.filter((r) => !r.approvable);
  if (hard.length > 0) return { code: 'not-approvable', approvable: false, message: `approval cannot override: ${hard.map((r) => r.code).join(', ')}` };
  const record = refusals.find((r) => r.planId === approve);
  if (!record) {
    return {
      code: 'approval-unknown',
      approvable: true,
      message: `plan ${approve} has no refusal on record to answer: run a dry run (allowlist-sync plan, or {"dryRun": true}), review it, then approve the id it prints`,
    };
  }
  if (record.approvedAt) {
    return { code: 'approval-used', approvable: true, message: `plan ${approve} was already approved and applied at ${record.approvedAt}; an approval is used once: review the plan again with a dry run` };
  }
  if (!fresh(record, now, maxAgeHours)) {
    return {
      code: 'approval-expired',
      approvable: true,
      message: `the refusal of plan ${approve} is from ${record.at}, more than ${maxAgeHours} h ago: approvals expire; review it again with a dry run (which renews it), then approve`,
    };
  }
  return undefined;
}

/**
 * The refusals kept after a run: a refused plan is recorded (or, reviewed by a dry run, renewed), expired ones
 * are dropped unless they record a use, and at most REFUSALS_KEPT stay.
 */
export function nextRefusals(previous: readonly RefusalState[], p: Pick<Plan, 'planId' | 'status'>, now: Date, options: { reviewed: boolean; maxAgeHours: number }): RefusalState[] {
  const at = now.toISOString();
  const kept = previous.filter((r) => r.planId !== p.planId && (r.approvedAt !== undefined || fresh(r, now, options.maxAgeHours * 2)));
  const mine = previous.find((r) => r.planId === p.planId);
  let current: RefusalState | undefined = mine;
  if (p.status === 'refused') {
    if (!mine || (!mine.approvedAt && (options.reviewed || !fresh(mine, now, options.maxAgeHours)))) current = { planId: p.planId, at };
  }
  return [...(current ? [current] : []), ...kept].slice(0, REFUSALS_KEPT);
}

/** The refusals after an approved write: the approved plan's record says it was used. */
export function markApproved(previous: readonly RefusalState[], planId: string, now: Date): RefusalState[] {
  return previous.map((r) => (r.planId === planId ? { ...r, approvedAt: now.toISOString() } : r));
}
