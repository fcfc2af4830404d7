import { statusText } from '../../lambda/report';
import type { PolicyStatus, TargetStatus } from '../../lambda/admin';
import { PauseShown, ResumeShown, actionExitCode, pauseText, resumeText, rollbackResultText } from './admin-report';

// What the deployed function answered, for people: the sync's result (one target or several), or the state
// an admin action returns. The function's JSON is printed as it is with --json.

interface RemoteSyncResult {
  status: string;
  planId?: string;
  policyArn?: string;
  target?: string;
  versionId?: string;
  previousVersionId?: string;
  added?: string[];
  removed?: string[];
  entries?: string[];
  reasons?: string[];
  approvable?: boolean;
  dryRun?: boolean;
}

const HEADLINE: Record<string, string> = {
  unchanged: 'No changes: the policy is up to date.',
  changes: 'Changes pending (not applied).',
  updated: 'Policy updated.',
  refused: 'REFUSED: nothing was written.',
  busy: 'BUSY: another writer holds the lease on this target; nothing was written.',
  paused: 'PAUSED: the allowlist is paused (break-glass); nothing was written.',
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function syncLines(r: RemoteSyncResult): string[] {
  const lines = [HEADLINE[r.status] ?? `Status: ${r.status}`];
  if (r.target ?? r.policyArn) lines.push(`Target: ${r.target ?? r.policyArn}`);
  if (r.planId) lines.push(`Plan:   ${r.planId}`);
  if (r.entries) lines.push(`Entries: ${r.entries.length}`);
  if (r.versionId) lines.push(`Version: ${r.previousVersionId ?? '(none)'} -> ${r.versionId}`);
  for (const entry of r.added ?? []) lines.push(`  + ${entry}`);
  for (const entry of r.removed ?? []) lines.push(`  - ${entry}`);
  if (r.reasons?.length) lines.push('Reasons:', ...r.reasons.map((reason) => `  ! ${reason}`));
  if (r.status === 'refused' && r.approvable && r.planId) lines.push(`To apply this exact plan anyway, after review: allowlist-sync apply --function ... --approve ${r.planId}`);
  return lines;
}

/** Any other answer: its fields, one a line, nested values as compact JSON. */
function fieldLines(value: Record<string, unknown>): string[] {
  return Object.entries(value).map(([key, v]) => `${key}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
}

/** The function's answer to `command`, as text. */
export function remoteText(command: string, functionName: string, result: unknown): string {
  const lines = [`Function: ${functionName} (${command})`];
  if (isObject(result) && Array.isArray(result.targets) && typeof result.status === 'string') {
    lines.push(`Overall: ${result.status}`);
    for (const target of result.targets as RemoteSyncResult[]) lines.push('', ...syncLines(target));
  } else if (isObject(result) && result.action === 'pause') {
    lines.push(pauseText(result as unknown as PauseShown));
  } else if (isObject(result) && result.action === 'resume') {
    lines.push(resumeText(result as unknown as ResumeShown));
  } else if (isObject(result) && result.action === 'status') {
    lines.push(statusText(result as unknown as PolicyStatus | TargetStatus));
  } else if (isObject(result) && result.action === 'rollback') {
    lines.push(rollbackResultText(result));
  } else if (isObject(result) && typeof result.status === 'string' && 'planId' in result) {
    lines.push(...syncLines(result as unknown as RemoteSyncResult));
  } else if (isObject(result)) {
    lines.push(...fieldLines(result));
  } else {
    lines.push(JSON.stringify(result));
  }
  return lines.join('\n');
}

/** The exit code of an answer: a sync's status through `codes`; an action's by `actionExitCode`. */
export function remoteExitCode(result: unknown, codes?: Record<string, number>): number {
  if (isObject(result) && typeof result.action === 'string') return actionExitCode(result);
  const status = isObject(result) && typeof result.status === 'string' ? result.status : undefined;
  if (status === undefined) return 0;
  if (codes) return codes[status] ?? 1;
  return actionExitCode(result);
}
