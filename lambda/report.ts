import type { PolicyStatus, RollbackResult } from './admin';
import { isApprovable } from './allowlist';
import { SyncResult } from './sync';

/** The one JSON object printed by `--json` and returned by the handler's core. */
export function resultJson(result: SyncResult): Record<string, unknown> {
  const { plan } = result;
  return {
    status: result.status,
    planId: plan.planId,
    target: result.target,
    added: plan.added,
    removed: plan.removed,
    entries: plan.entries,
    reasons: plan.reasons,
    refusals: plan.refusals,
    approvable: isApprovable(plan),
    drift: plan.drift,
    adoption: plan.adoption,
    documentSize: plan.documentSize,
    sizeLimit: plan.sizeLimit,
    sources: result.sources,
    warnings: result.warnings,
    approved: result.approved,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
  };
}

const HEADLINE: Record<SyncResult['status'], string> = {
  unchanged: 'No changes: the policy is up to date.',
  changes: 'Changes pending (not applied).',
  updated: 'Policy updated.',
  refused: 'REFUSED: nothing was written.',
};

/** Human-readable report: headline, `+`/`-` lines, reasons, warnings. */
export function resultText(result: SyncResult): string {
  const { plan } = result;
  const lines = [`${HEADLINE[result.status]}`, `Target: ${result.target}`, `Plan:   ${plan.planId}`];
  const sources = result.sources.map((s) => `${s.source} (${s.entries}${s.skipped ? `, ${s.skipped} disabled skipped` : ''})`);
  lines.push(`Sources: ${sources.join(', ')}`);
  lines.push(`Entries: ${plan.entries.length}, document ${plan.documentSize} of ${plan.sizeLimit} characters`);
  if (result.versionId) lines.push(`Version: ${result.previousVersionId ?? '(none)'} -> ${result.versionId}`);
  if (plan.adoption && plan.status !== 'unchanged') lines.push('Adopting: the current document holds no allowlist statement yet.');
  if (plan.drift) lines.push('Drift: the current document was edited outside allowlist-sync; it will be restored.');
  for (const cidr of plan.added) lines.push(`  + ${cidr}`);
  for (const cidr of plan.removed) lines.push(`  - ${cidr}`);
  for (const warning of result.warnings) lines.push(`Warning: ${warning}`);
  if (plan.refusals.length > 0) {
    lines.push('Reasons:');
    for (const r of plan.refusals) lines.push(`  ! ${r.message}${r.approvable ? '' : ' (cannot be approved)'}`);
  }
  return lines.join('\n');
}

/** `allowlist-sync status` for people. */
export function statusText(status: PolicyStatus): string {
  const lines = [
    `Policy:   ${status.arn} (${status.name}), attached to ${status.attachmentCount} entit${status.attachmentCount === 1 ? 'y' : 'ies'}`,
    `Default:  ${status.defaultVersionId}${status.defaultCreatedAt ? `, created ${status.defaultCreatedAt}` : ''}`,
    `Versions: ${status.versions.map((v) => `${v.versionId}${v.isDefault ? ' (default)' : ''}${v.createDate ? ` ${v.createDate}` : ''}`).join(', ')}`,
    `Alerts:   ${status.alertState ? `${status.alertState.status}${status.alertState.key ? ` (${status.alertState.key})` : ''}${status.alertState.at ? ` since ${status.alertState.at}` : ''}` : 'no alert state recorded'}`,
    `Entries:  ${status.entries.length}`,
    ...status.entries.map((e) => `  ${e}`),
  ];
  return lines.join('\n');
}

/** `allowlist-sync rollback --json`. */
export function rollbackJson(result: RollbackResult): Record<string, unknown> {
  return {
    status: result.status,
    fromVersionId: result.fromVersionId,
    toVersionId: result.toVersionId,
    forced: result.forced,
    added: result.plan.added,
    removed: result.plan.removed,
    entries: result.plan.entries,
    reasons: result.plan.reasons,
  };
}

/** `allowlist-sync rollback` for people. */
export function rollbackText(result: RollbackResult): string {
  const { plan } = result;
  const headline = {
    'rolled-back': `Rolled back: ${result.toVersionId} is the default again (was ${result.fromVersionId}).`,
    refused: `REFUSED: ${result.toVersionId} stays a non-default version; ${result.fromVersionId} is still the default.`,
    unchanged: `${result.toVersionId} is already the default.`,
  }[result.status];
  const lines = [headline];
  for (const cidr of plan.added) lines.push(`  + ${cidr}`);
  for (const cidr of plan.removed) lines.push(`  - ${cidr}`);
  if (plan.refusals.length > 0) {
    lines.push(result.forced ? 'Overridden with --force:' : 'Reasons:');
    for (const r of plan.refusals) lines.push(`  ! ${r.message}${r.approvable ? '' : ' (cannot be forced)'}`);
    if (result.status === 'refused' && isApprovable(plan)) lines.push('Add --force to roll back anyway.');
  }
  if (result.status === 'rolled-back') {
    lines.push('The next scheduled sync plans against this version and will apply OCM\'s list again; pause the schedule or set DRY_RUN=true to hold it.');
  }
  return lines.join('\n');
}
