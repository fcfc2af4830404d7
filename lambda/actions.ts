import { policyStatus, rollback, targetStatus } from './admin';
import type { PolicyStatus, TargetStatus } from './admin';
import { managedPolicyShape } from './allowlist';
import { pause, resume } from './break-glass';
import type { PauseResult, ResumeResult } from './break-glass';
import type { SyncRuntime } from './compose';
import { SyncError, describeError } from './errors';
import type { ActionRequest } from './events';
import { rollbackJson } from './report';
import { HandlerResult, runSync } from './run';
import { closest } from './validate';

// The function's remote actions (events with `action`): pause, resume, status and rollback of one target, each
// returning one JSON object the CLI prints as it is. The same functions the CLI calls locally do the work.

/** How the handler runs an action. */
export interface ActionOptions {
  /** Epoch ms the invocation must end by. */
  deadline?: number;
  /** The lease holder: `function:NAME/REQUEST_ID`. */
  writer: string;
  /** Who acts when the event does not say (the invoker's identity, when the context gives one; else `unknown`). */
  by: string;
}

/** `pause`: what the pause did (`paused`, `already-paused`, `busy`). */
export type PauseActionResult = { action: 'pause' } & Omit<PauseResult, 'unannounced'> & { alerted: boolean };
/** `resume`: what the resume did, and the sync that followed (unless `"sync": false`). */
export type ResumeActionResult = { action: 'resume' } & Omit<ResumeResult, 'unannounced'> & {
  alerted: boolean;
  /** The sync run right after: `updated` (restored), `refused` (the pause stays lifted, the refusal alerted) and so on. */
  sync?: HandlerResult;
  /** The sync after the resume failed (alerted as usual); the pause is cleared all the same. */
  syncError?: { code: string; message: string };
};
/** `status`: what the store and the target say, read only. */
export type StatusActionResult = { action: 'status'; status: 'shown' } & (TargetStatus | PolicyStatus);
/** `rollback`: as `allowlist-sync rollback --json` prints it, plus the target. */
export type RollbackActionResult = { action: 'rollback'; target: string } & Record<string, unknown>;

export type ActionResult = PauseActionResult | ResumeActionResult | StatusActionResult | RollbackActionResult;

/** The runtime an action names; the only one when it names none. */
export function selectRuntime(runtimes: readonly SyncRuntime[], target: string | undefined, action: string): SyncRuntime {
  const names = runtimes.map((r) => r.name);
  if (target === undefined) {
    if (runtimes.length === 1) return runtimes[0];
    throw new SyncError('bad-event', `The "${action}" event must name its "target" when the function keeps several: ${names.join(', ')}.`);
  }
  const found = runtimes.find((r) => r.name === target);
  if (found) return found;
  const like = closest(target, names);
  throw new SyncError('bad-event', `The event names target ${JSON.stringify(target)}, but the targets are ${names.join(', ')}${like ? ` (did you mean ${like}?)` : ''}.`);
}

/** Runs one action. A write's alert that could not be published does not undo the write: the result says `alerted: false`. */
export async function runAction(request: ActionRequest, runtimes: readonly SyncRuntime[], options: ActionOptions): Promise<ActionResult> {
  const rt = selectRuntime(runtimes, request.target, request.action);
  const common = { writer: options.writer, ...(options.deadline !== undefined ? { deadline: options.deadline } : {}), ...(rt.leaseWaitsMs ? { leaseWaitsMs: rt.leaseWaitsMs } : {}), log: rt.log };
  // A dry-run target writes nothing: a pause there would lift the deny that no run (and no resume) ever restores.
  if ((request.action === 'pause' || request.action === 'rollback') && rt.dryRun) {
    throw new SyncError('bad-event', `${rt.name} is a dry-run target (DRY_RUN or its dryRun): it writes nothing, so it cannot be ${request.action === 'pause' ? 'paused' : 'rolled back'} either.`);
  }
  switch (request.action) {
    case 'pause': {
      const { unannounced, ...result } = await pause({ ...common, target: rt.target, state: rt.state, reason: request.reason, by: request.by ?? options.by, announcer: rt.alerter, ...(rt.plan.shape ? { shape: rt.plan.shape } : {}), ...(rt.plan.guards ? { guards: rt.plan.guards } : {}) });
      if (unannounced) rt.log.error('the pause stands, but its alert could not be published; it stays owed', { target: rt.name, error: describeError(unannounced) });
      rt.log.info('pause', { target: rt.name, status: result.status, by: result.pause?.by });
      return { action: 'pause', ...result, alerted: unannounced === undefined && result.status === 'paused' && rt.alerter.enabled };
    }
    case 'resume': {
      const { unannounced, ...result } = await resume({ ...common, target: rt.target, state: rt.state, by: request.by ?? options.by, announcer: rt.alerter, restoreNow: request.sync });
      if (unannounced) rt.log.error('the pause is cleared, but the resumed alert could not be published', { target: rt.name, error: describeError(unannounced) });
      const out: ResumeActionResult = { action: 'resume', ...result, alerted: unannounced === undefined && result.status === 'resumed' && rt.alerter.enabled };
      if (result.status !== 'resumed' || !request.sync) return out;
      try {
        // The usual sync: plan, guards (measured against the allowlist before the pause), write, alerts.
        return { ...out, sync: await runSync({ dryRun: false }, rt, { writer: options.writer, ...(options.deadline !== undefined ? { deadline: options.deadline } : {}) }) };
      } catch (err) {
        return { ...out, syncError: { code: err instanceof SyncError ? err.code : 'error', message: describeError(err) } };
      }
    }
    case 'status': {
      const shape = rt.plan.shape ?? managedPolicyShape();
      const shown = rt.versions ? await policyStatus(rt.versions.iam(), rt.versions.policyArn, shape, rt.state) : await targetStatus(rt.target, shape, rt.state);
      return { action: 'status', status: 'shown', ...shown };
    }
    case 'rollback': {
      const result = await rollback({
        ...common,
        target: rt.target,
        state: rt.state,
        ...(rt.versions ? { iam: rt.versions.iam(), policyArn: rt.versions.policyArn } : {}),
        ...(request.to !== undefined ? { to: request.to } : {}),
        force: request.force,
        plan: rt.plan,
        announcer: rt.alerter,
        writer: `${options.writer} (by ${request.by ?? options.by})`,
      });
      return { action: 'rollback', target: rt.name, ...rollbackJson(result) };
    }
  }
}
