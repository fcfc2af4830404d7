import { pauseInputProblem } from './allowlist/pause';
import { SyncError } from './errors';
import { closest, unknownField } from './validate';

// What an invocation asks for. The scheduler's event (anything without these fields) syncs; a field this function
// does not know, or a value of the wrong type, is a `bad-event` naming it and the closest valid one: a mistyped
// `{"dryrun": true}` must never run as a writing sync.

/** A sync: the scheduler's event, a dry run, an approval, a saved plan. */
export interface RunRequest {
  dryRun: boolean;
  approve?: string;
  /** Only this target (by name); required with `approve` when there are several. */
  target?: string;
  /** Apply only when the plan computed now has exactly this id (a saved plan); else `refused`, `saved-plan-stale`. */
  expectPlanId?: string;
}

/** An operator's action on one target (`target` may be left out when the function keeps one). */
export type ActionRequest =
  | { action: 'pause'; target?: string; reason: string; by?: string }
  | { action: 'resume'; target?: string; by?: string; sync: boolean }
  | { action: 'status'; target?: string }
  | { action: 'rollback'; target?: string; to?: string; force: boolean; by?: string };

/** What one invocation asks for. */
export type InvocationRequest = RunRequest | ActionRequest;

/** True for an operator's action (pause, resume, status, rollback). */
export function isAction(request: InvocationRequest): request is ActionRequest {
  return 'action' in request;
}

const SYNC_FIELDS = ['dryRun', 'approve', 'target', 'expectPlanId'] as const;
/** What EventBridge (Scheduler, rules) puts around an event: tolerated on a sync, never read. */
const ENVELOPE_FIELDS = ['source', 'detail-type', 'detail', 'id', 'version', 'account', 'time', 'region', 'resources'];
const ACTION_FIELDS: Record<ActionRequest['action'] | 'sync', readonly string[]> = {
  sync: ['action', ...SYNC_FIELDS],
  pause: ['action', 'target', 'reason', 'by'],
  resume: ['action', 'target', 'by', 'sync'],
  status: ['action', 'target'],
  rollback: ['action', 'target', 'to', 'force', 'by'],
};
const ACTIONS = Object.keys(ACTION_FIELDS);
const PLAN_ID = /^[0-9a-f]{16}$/;

function bad(message: string): SyncError {
  return new SyncError('bad-event', message);
}

function planId(value: unknown, field: 'approve' | 'expectPlanId'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !PLAN_ID.test(value)) {
    const from = field === 'approve' ? 'from the refusal alert' : 'from the saved plan';
    throw bad(`The event's "${field}" must be a plan id (16 hex digits, ${from}), got ${JSON.stringify(value)}.`);
  }
  return value;
}

function boolean(value: unknown, field: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw bad(`The event's "${field}" must be true or false, got ${JSON.stringify(value)}.`);
  return value;
}

function targetName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw bad(`The event's "target" must be a target name, got ${JSON.stringify(value)}.`);
  return value;
}

function checkFields(event: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const key of Object.keys(event)) {
    if (!known.includes(key)) throw bad(`The event's "${key}" ${unknownField(key, known, what)}.`);
  }
}

/** Reads the event strictly: unknown fields and wrong types are refused, naming the field and the closest valid one. */
export function parseEvent(event: unknown): InvocationRequest {
  // No event at all is the scheduler's sync; anything else that is not an object (a double-encoded JSON string, a
  // number) is a mistake, never a writing sync.
  if (event === null || event === undefined) return { dryRun: false };
  if (typeof event !== 'object') throw bad(`The event must be a JSON object (or empty), got ${typeof event === 'string' ? 'a string (a payload encoded twice?)' : `a ${typeof event}`}.`);
  if (Array.isArray(event)) throw bad('The event must be a JSON object (or empty), got an array.');
  const fields = event as Record<string, unknown>;
  const action = fields.action;
  if (action === undefined || action === 'sync') {
    // A field that is neither ours nor EventBridge's is a mistake (a typo) until proven otherwise.
    const known = action === undefined ? [...SYNC_FIELDS, ...ENVELOPE_FIELDS, 'action'] : ACTION_FIELDS.sync;
    for (const key of Object.keys(fields)) {
      if (!known.includes(key)) throw bad(`The event's "${key}" ${unknownField(key, [...SYNC_FIELDS, 'action'], 'a field of a sync event')}.`);
    }
    const approve = planId(fields.approve, 'approve');
    const expectPlanId = planId(fields.expectPlanId, 'expectPlanId');
    const target = targetName(fields.target);
    return { dryRun: boolean(fields.dryRun, 'dryRun') === true, ...(approve !== undefined ? { approve } : {}), ...(target !== undefined ? { target } : {}), ...(expectPlanId !== undefined ? { expectPlanId } : {}) };
  }
  if (typeof action !== 'string' || !ACTIONS.includes(action)) {
    const like = typeof action === 'string' ? closest(action, ACTIONS) : undefined;
    throw bad(`The event's "action" must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(action)}${like ? ` (did you mean ${like}?)` : ''}.`);
  }
  const kind = action as ActionRequest['action'];
  checkFields(fields, ACTION_FIELDS[kind], `a field of the "${kind}" event`);
  const target = targetName(fields.target);
  const at = target !== undefined ? { target } : {};
  const problem = pauseInputProblem({ reason: fields.reason, by: fields.by }, { reasonRequired: kind === 'pause' });
  if (problem) throw bad(`The event's ${problem}.`);
  const by = typeof fields.by === 'string' ? { by: fields.by } : {};
  switch (kind) {
    case 'pause':
      return { action: 'pause', ...at, reason: fields.reason as string, ...by };
    case 'resume':
      return { action: 'resume', ...at, ...by, sync: boolean(fields.sync, 'sync') ?? true };
    case 'status':
      return { action: 'status', ...at };
    case 'rollback': {
      const to = fields.to;
      if (to !== undefined && (typeof to !== 'string' || !/^[vr][1-9][0-9]{0,5}$/.test(to))) {
        throw bad(`The event's "to" must be a managed policy version (v3) or a kept revision (r3), got ${JSON.stringify(to)}.`);
      }
      return { action: 'rollback', ...at, ...(to !== undefined ? { to: to as string } : {}), force: boolean(fields.force, 'force') === true, ...by };
    }
  }
}
