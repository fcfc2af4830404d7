import { Plan, PlanOptions, Refusal, normalize, plan } from './allowlist';
import { describeError } from './errors';
import { Source } from './sources/source';
import { Target, TargetRefusedError } from './targets/target';

/** The little a sync needs of a logger (Powertools Logger fits). */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Options of one sync run. */
export interface SyncOptions {
  sources: readonly Source[];
  target: Target;
  plan?: PlanOptions;
  /** Only plan; write nothing. */
  dryRun?: boolean;
  /** Apply a refused plan anyway, but only if the plan computed now has exactly this id. */
  approve?: string;
  log?: Log;
}

/** What one run did. `changes` means a dry run found changes; `updated` means they were written. */
export interface SyncResult {
  status: 'unchanged' | 'changes' | 'updated' | 'refused';
  plan: Plan;
  target: string;
  /** Per source: how many entries it gave and how many it deliberately left out. */
  sources: { source: string; entries: number; skipped: number }[];
  warnings: string[];
  /** True when a refused plan was applied because its id was approved. */
  approved: boolean;
  versionId?: string;
  previousVersionId?: string;
}

function refuse(p: Plan, refusal: Refusal): Plan {
  return { ...p, status: 'refused', refusals: [...p.refusals, refusal], reasons: [...p.reasons, refusal.message] };
}

/** Why an approval does not apply to this plan, or undefined when it does. */
function approvalProblem(p: Plan, approve: string): Refusal | undefined {
  if (approve !== p.planId) {
    return { code: 'approval-mismatch', approvable: true, message: `the plan changed since it was approved: approved ${approve}, the plan is now ${p.planId}; review it and approve the new id` };
  }
  const hard = p.refusals.filter((r) => !r.approvable);
  if (hard.length > 0) {
    return { code: 'not-approvable', approvable: false, message: `approval cannot override: ${hard.map((r) => r.code).join(', ')}` };
  }
  return undefined;
}

/** sources → normalize → read current → plan → guard → apply (unless dry run). The only writer. */
export async function sync(options: SyncOptions): Promise<SyncResult> {
  const { target, log } = options;
  const [fetched, current] = await Promise.all([Promise.all(options.sources.map((s) => s.fetch())), target.read()]);
  const desired = normalize(fetched.flatMap((r) => r.entries));
  for (const warning of desired.warnings) log?.warn(warning);

  let p = plan(current, desired, options.plan);
  const approved = p.status === 'refused' && options.approve !== undefined && approvalProblem(p, options.approve) === undefined;
  const base = {
    target: target.name,
    sources: fetched.map((r) => ({ source: r.source, entries: r.entries.length, skipped: r.skipped })),
    warnings: desired.warnings,
    approved,
  };
  if (p.status === 'refused' && !approved) {
    const problem = options.approve !== undefined ? approvalProblem(p, options.approve) : undefined;
    return { ...base, status: 'refused', plan: problem ? refuse(p, problem) : p };
  }
  // An approved plan whose document is already in place needs no new version.
  if (p.upToDate) return { ...base, status: 'unchanged', plan: p };
  if (options.dryRun) return { ...base, status: 'changes', plan: p };

  try {
    const written = await target.write({ document: p.document, planId: p.planId, baseVersionId: current.versionId });
    log?.info('policy updated', { target: target.name, planId: p.planId, added: p.added, removed: p.removed, ...written });
    return { ...base, status: 'updated', plan: p, ...written };
  } catch (err) {
    if (!(err instanceof TargetRefusedError)) throw err;
    p = refuse(p, { code: 'target-refused', approvable: false, message: describeError(err) });
    return { ...base, status: 'refused', plan: p };
  }
}
