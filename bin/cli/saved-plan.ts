import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { SyncResult } from '../../lambda/ports';
import { usageError } from './usage';

// A saved plan (`plan --out FILE`, as `terraform plan -out`): what was planned, against what, from which
// sources, so `apply FILE` can apply exactly that plan or nothing. The file is a record for review, not an
// instruction: `apply FILE` recomputes the plan from the target and sources it names and applies only when
// the id matches, so editing the document in the file changes nothing (the id covers the version it was
// planned against, the document in force then, and the document to write).

export const SAVED_PLAN_FORMAT = 'allowlist-sync/plan-v1';

const PLAN_ID = z.string().regex(/^[0-9a-f]{16}$/, 'a plan id is 16 hex digits');

/** Planned on the workstation: the target and sources as the command line spelled them. */
const LocalOrigin = z.strictObject({
  mode: z.literal('local'),
  target: z.string().min(1),
  principals: z.array(z.string()),
  sources: z.array(z.string()),
  extraCidrs: z.string().optional(),
  include: z.string().optional(),
  exclude: z.string().optional(),
});

/** Planned by the deployed function (`--function`): its settings and sources, one of its targets. */
const RemoteOrigin = z.strictObject({
  mode: z.literal('function'),
  function: z.string().min(1),
  target: z.string().min(1).optional(),
  /** The function's sources as its result names them (for review; the function reads its own). */
  sources: z.array(z.string()).optional(),
});

const SavedPlanSchema = z.strictObject({
  format: z.literal(SAVED_PLAN_FORMAT),
  createdAt: z.iso.datetime(),
  planId: PLAN_ID,
  /** What the plan said when saved: `changes`, `refused` (apply it with `--approve`) or `unchanged`. */
  status: z.enum(['unchanged', 'changes', 'refused']),
  approvable: z.boolean(),
  origin: z.discriminatedUnion('mode', [LocalOrigin, RemoteOrigin]),
  targetName: z.string(),
  baseVersionId: z.string().nullable(),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  entries: z.array(z.string()),
  reasons: z.array(z.string()),
  /** The document the plan writes (local plans; the function's result does not carry it). */
  document: z.string().optional(),
});

export type SavedPlan = z.infer<typeof SavedPlanSchema>;
export type PlanOrigin = SavedPlan['origin'];

/** The plan as saved: from a local sync result. */
export function savedPlanOf(result: SyncResult, origin: PlanOrigin, now = new Date()): SavedPlan {
  const { plan } = result;
  return {
    format: SAVED_PLAN_FORMAT,
    createdAt: now.toISOString(),
    planId: plan.planId,
    status: result.status === 'refused' ? 'refused' : plan.status,
    approvable: plan.refusals.length > 0 && plan.refusals.every((r) => r.approvable),
    origin,
    targetName: result.target,
    baseVersionId: plan.baseVersionId ?? null,
    added: plan.addedEntries,
    removed: plan.removedEntries,
    entries: plan.entries,
    reasons: plan.reasons,
    document: plan.document,
  };
}

/** Writes the plan file whole or not at all (a temporary file renamed over it). */
export async function writeSavedPlan(path: string, plan: SavedPlan): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(plan, null, 2)}\n`, { flag: 'wx' });
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw usageError(`Cannot write the plan to ${path}: ${(err as Error).message}.`, 'plan');
  }
}

/** Reads and checks a plan file; anything that is not exactly a saved plan is a usage error naming what is wrong. */
export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read the plan file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, 'apply');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw usageError(`${path} is not a saved plan: not JSON (write one with "allowlist-sync plan ... --out ${path}").`, 'apply');
  }
  const parsed = SavedPlanSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(the file)'}: ${issue.message}`);
    throw usageError(`${path} is not a saved plan of this version (${SAVED_PLAN_FORMAT}): ${problems.join('; ')}.`, 'apply');
  }
  return parsed.data;
}
