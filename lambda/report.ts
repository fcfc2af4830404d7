import type { PolicyStatus, RollbackResult, TargetStatus } from './admin';
import { changeSummary, entryLines, filterLines, hasAllow, isApprovable, statementLines } from './allowlist';
import { SyncResult } from './sync';

/** The one JSON object printed by `--json` and returned by the handler's core. */
export function resultJson(result: SyncResult): Record<string, unknown> {
  const { plan } = result;
  return {
    status: result.status,
    planId: plan.planId,
    target: result.target,
    // As people read a change: entries added to and removed from the list.
    added: plan.addedEntries,
    removed: plan.removedEntries,
    // The exact address-level difference, as minimal blocks.
    addedAddresses: plan.added,
    removedAddresses: plan.removed,
    entries: plan.entries,
    reasons: plan.reasons,
    refusals: plan.refusals,
    approvable: isApprovable(plan),
    drift: plan.drift,
    adoption: plan.adoption,
    currentKind: plan.currentKind,
    statementChanges: plan.statementChanges,
    ...(plan.filtered ? { filtered: plan.filtered } : {}),
    documentSize: plan.documentSize,
    sizeLimit: plan.sizeLimit,
    sources: result.sources,
    warnings: result.warnings,
    approved: result.approved,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
    ...(result.stale ? { stale: result.stale } : {}),
    ...(result.pausedBy ? { pause: result.pausedBy } : {}),
  };
}

const ADOPTING: Partial<Record<string, string>> = {
  absent: 'there is no document yet.',
  placeholder: "the current document is the stack's placeholder (it denies nothing yet).",
  'no-allowlist': 'the current document holds no aws:SourceIp statement yet.',
};

const HEADLINE: Record<SyncResult['status'], string> = {
  unchanged: 'No changes: the policy is up to date.',
  changes: 'Changes pending (not applied).',
  updated: 'Policy updated.',
  refused: 'REFUSED: nothing was written.',
  busy: 'BUSY: another writer holds the lease on this target; nothing was written.',
  paused: 'PAUSED (break-glass): the IP restriction is lifted until the target is resumed; nothing was written.',
};

/** Human-readable report: headline, `+`/`-` lines, reasons, warnings. */
export function resultText(result: SyncResult): string {
  const { plan } = result;
  const lines = [`${HEADLINE[result.status]}`, `Target: ${result.target}`, `Plan:   ${plan.planId}`];
  const sources = result.sources.map((s) => `${s.source} (${s.entries}${s.skipped ? `, ${s.skipped} disabled skipped` : ''})`);
  lines.push(`Sources: ${sources.join(', ')}`);
  lines.push(`Entries: ${plan.entries.length}, document ${plan.documentSize} of ${plan.sizeLimit} characters`);
  if (result.versionId) lines.push(`Version: ${result.previousVersionId ?? '(none)'} -> ${result.versionId}`);
  if (plan.adoption && plan.status !== 'unchanged') lines.push(`Adopting: ${ADOPTING[plan.currentKind] ?? 'the current document holds no allowlist yet.'}`);
  if (plan.drift || plan.statementChanges.length > 0) lines.push('Drift: the current document was edited outside allowlist-sync; it will be restored.');
  if (hasAllow(plan)) lines.push('!! The current document holds an Allow added by hand: on a deny policy that is an attack or a mistake; find who wrote it (CloudTrail).');
  for (const line of statementLines(plan)) lines.push(`  ! ${line}`);
  if (plan.addedEntries.length + plan.removedEntries.length > 0) lines.push(`Changes: ${changeSummary(plan)}`);
  for (const line of entryLines(plan)) lines.push(`  ${line.sign} ${line.entry} (${line.note})`);
  const filtered = filterLines(plan);
  if (filtered.length > 0) lines.push(`Filtered (include/exclude): ${plan.filtered?.length} of the sources' entries`, ...filtered.map((l) => `  ~ ${l}`));
  for (const warning of result.warnings) lines.push(`Warning: ${warning}`);
  if (plan.refusals.length > 0) {
    lines.push('Reasons:');
    for (const r of plan.refusals) lines.push(`  ! ${r.message}${r.approvable ? '' : ' (cannot be approved)'}`);
  }
  return lines.join('\n');
}

/** `updated at T, plan P, version v4 (function:...)`, with since when runs end that way. */
function lastRunText(run: NonNullable<TargetStatus['lastRun']>): string {
  return `${run.status} at ${run.at}${run.since ? ` (so since ${run.since})` : ''}${run.planId ? `, plan ${run.planId}` : ''}${run.versionId ? `, version ${run.versionId}` : ''} (${run.writer})`;
}

function stateLines(status: TargetStatus): string[] {
  const alert = status.alertState;
  const lines = [
    `Alerts:   ${alert ? `${alert.status}${alert.key ? ` (${alert.key})` : ''}${alert.at ? ` since ${alert.at}` : ''}` : 'no alert state recorded'}`,
    `Last run: ${status.lastRun ? lastRunText(status.lastRun) : 'none recorded'}`,
  ];
  if (status.baseline) {
    const b = status.baseline;
    lines.push(`Baseline: ${b.entries} entries${b.versionId ? ` (${b.versionId})` : ''} since ${b.since}${b.supersededAt ? `, superseded ${b.supersededAt}` : ''}${b.inForce ? '' : ' (expired)'}`);
  }
  if (status.pause) lines.push(`PAUSED:   by ${status.pause.by} at ${status.pause.at}: ${status.pause.reason} (the IP restriction is lifted${status.pause.replacedVersionId ? `; it replaced ${status.pause.replacedVersionId}` : ''})`);
  if (status.resumed) lines.push(`Resumed:  by ${status.resumed.by} at ${status.resumed.at}; the allowlist is not restored yet (the next sync restores it through the guards)`);
  if (status.pendingRefusal) lines.push(`Refused:  plan ${status.pendingRefusal.planId} since ${status.pendingRefusal.at}, not approved`);
  if (status.lease) lines.push(`Lease:    held by ${status.lease.holder} until ${new Date(status.lease.expiresAt).toISOString()}`);
  if (status.owed > 0) lines.push(`Owed:     ${status.owed} update announcement${status.owed === 1 ? '' : 's'} not yet published`);
  if (status.history) {
    lines.push(`History:  ${status.history.length ? status.history.map((h) => `${h.revision} (replaced ${h.replacedAt} by plan ${h.replacedBy})`).join(', ') : 'nothing kept yet'}`);
  }
  lines.push(`State:    ${status.stateStore}`);
  return lines;
}

/** `allowlist-sync status` for people: a managed policy (with its versions) or any other target. */
export function statusText(status: PolicyStatus | TargetStatus): string {
  const lines: string[] = [];
  if ('arn' in status) {
    lines.push(
      `Policy:   ${status.arn} (${status.name}), attached to ${status.attachmentCount} entit${status.attachmentCount === 1 ? 'y' : 'ies'}`,
      `Default:  ${status.defaultVersionId}${status.defaultCreatedAt ? `, created ${status.defaultCreatedAt}` : ''}`,
      `Versions: ${status.versions.map((v) => `${v.versionId}${v.isDefault ? ' (default)' : ''}${v.createDate ? ` ${v.createDate}` : ''}`).join(', ')}`,
    );
  } else {
    lines.push(`Target:   ${status.target}`);
  }
  lines.push(...stateLines(status), `Entries:  ${status.entries.length}`, ...status.entries.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** `allowlist-sync rollback --json`. */
export function rollbackJson(result: RollbackResult): Record<string, unknown> {
  return {
    status: result.status,
    fromVersionId: result.fromVersionId,
    toVersionId: result.toVersionId,
    forced: result.forced,
    added: result.plan.addedEntries,
    removed: result.plan.removedEntries,
    addedAddresses: result.plan.added,
    removedAddresses: result.plan.removed,
    entries: result.plan.entries,
    statementChanges: result.plan.statementChanges,
    reasons: result.plan.reasons,
    refusals: result.plan.refusals,
    ...(result.holder ? { holder: result.holder } : {}),
  };
}

/** `allowlist-sync rollback` for people. */
export function rollbackText(result: RollbackResult): string {
  const { plan } = result;
  const headline = {
    'rolled-back': `Rolled back: ${result.toVersionId} is in force again (was ${result.fromVersionId}).`,
    refused: `REFUSED: ${result.toVersionId} was not restored; ${result.fromVersionId} stays in force.`,
    unchanged: `${result.toVersionId} is already in force.`,
    busy: `BUSY: ${result.holder?.holder ?? 'another writer'} holds the lease${result.holder ? ` until ${new Date(result.holder.expiresAt).toISOString()}` : ''}; nothing was changed.`,
  }[result.status];
  const lines = [headline, `Restores: ${result.toVersionId}, ${plan.entries.length} entries${plan.statementChanges.length ? `, and ${plan.statementChanges.length} statement${plan.statementChanges.length === 1 ? '' : 's'} not written by allowlist-sync` : ''}`];
  if (hasAllow(plan)) lines.push(`!! ${result.toVersionId} holds an Allow statement: on a deny policy that is an attack or a mistake.`);
  for (const line of statementLines(plan)) lines.push(`  ! ${line}`);
  for (const line of entryLines(plan)) lines.push(`  ${line.sign} ${line.entry} (${line.note})`);
  if (plan.refusals.length > 0) {
    lines.push(result.forced ? 'Overridden with --force:' : 'Reasons:');
    for (const r of plan.refusals) lines.push(`  ! ${r.message}${r.approvable ? '' : ' (cannot be forced)'}`);
    if (result.status === 'refused' && isApprovable(plan)) lines.push('Add --force to roll back anyway.');
  }
  if (result.status === 'rolled-back') {
    lines.push("The next scheduled sync plans against this document and applies the sources' list again. To hold this document, set the target to dry run (DRY_RUN, or its dryRun) or disable the schedule: a pause would replace it with one that denies nothing.");
  }
  return lines.join('\n');
}
