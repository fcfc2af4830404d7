import type { PauseRecord } from '../../lambda/ports';

// Pause, resume and rollback as people read them, from the results the function's actions return (the same
// shapes the local commands produce), and the exit code each ends with.

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

interface PauseShown {
  status: 'paused' | 'already-paused' | 'busy';
  target: string;
  pause?: PauseRecord;
  previousVersionId?: string;
  versionId?: string;
  lifted?: string[];
  written?: boolean;
  holder?: { holder: string; expiresAt: number };
}

interface ResumeShown {
  status: 'resumed' | 'not-paused' | 'busy';
  target: string;
  resumed?: { pause: PauseRecord; by: string; at: string };
  holder?: { holder: string; expiresAt: number };
  sync?: { status: string; planId?: string; reasons?: string[]; versionId?: string; approvable?: boolean };
  syncError?: { code: string; message: string };
}

const holderText = (h: { holder: string; expiresAt: number } | undefined): string => (h ? `${h.holder} holds the lease until ${new Date(h.expiresAt).toISOString()}` : 'another writer holds the lease');

export function pauseText(r: PauseShown): string {
  switch (r.status) {
    case 'busy':
      return `BUSY: ${holderText(r.holder)}; ${r.target} was not paused. Try again in a minute.`;
    case 'already-paused':
      return [`Paused already: ${r.target} (nothing written).`, ...(r.pause ? [`By:      ${r.pause.by} at ${r.pause.at}: ${r.pause.reason}`] : [])].join('\n');
    case 'paused':
      return [
        `Paused: ${r.target}. The IP restriction is lifted: its document denies nothing now, and scheduled runs write nothing until resume.`,
        ...(r.pause ? [`By:      ${r.pause.by} at ${r.pause.at}: ${r.pause.reason}`] : []),
        r.written === false ? 'Written: nothing (the document already denied nothing); the pause is recorded.' : `Written: ${r.previousVersionId ?? '(none)'} -> ${r.versionId ?? 'the lifted document'}`,
        `Lifted:  ${r.lifted?.length ?? 0} entries (they come back on resume, through the guards)`,
      ].join('\n');
  }
}

export function resumeText(r: ResumeShown): string {
  if (r.status === 'busy') return `BUSY: ${holderText(r.holder)}; ${r.target} is still paused. Try again in a minute.`;
  if (r.status === 'not-paused') return `${r.target} is not paused: nothing changed.${r.resumed ? ` (Resumed by ${r.resumed.by} at ${r.resumed.at}; the allowlist is not restored yet.)` : ''}`;
  const lines = [`Resumed: ${r.target}. The pause${r.resumed ? ` by ${r.resumed.pause.by} (${r.resumed.pause.reason})` : ''} is over.`];
  if (r.syncError) lines.push(`The restore failed: ${r.syncError.message} (${r.syncError.code}). The next scheduled run tries again.`);
  else if (!r.sync) lines.push('The allowlist comes back with the next sync (through the guards).');
  else if (r.sync.status === 'updated') lines.push(`Restored: the allowlist is in force again${r.sync.versionId ? ` (${r.sync.versionId})` : ''}.`);
  else if (r.sync.status === 'refused') {
    lines.push(`REFUSED: the restore was refused (plan ${r.sync.planId ?? '?'}); the IP restriction stays lifted until it is applied.`, ...(r.sync.reasons ?? []).map((reason) => `  ! ${reason}`));
  } else lines.push(`Restore: ${r.sync.status}.`);
  return lines.join('\n');
}

/** The rollback action's result (`rollbackJson` with the target). */
export function rollbackResultText(r: Record<string, unknown>): string {
  const lines = [`Rollback: ${String(r.status)} (${String(r.fromVersionId)} -> ${String(r.toVersionId)})${r.forced ? ', forced' : ''}`];
  for (const entry of (r.added as string[] | undefined) ?? []) lines.push(`  + ${entry}`);
  for (const entry of (r.removed as string[] | undefined) ?? []) lines.push(`  - ${entry}`);
  for (const reason of (r.reasons as string[] | undefined) ?? []) lines.push(`  ! ${reason}`);
  if (r.status === 'refused') lines.push('Add --force to roll back anyway (where the refusal can be forced).');
  return lines.join('\n');
}

/** The exit code of an action's result: refused 3, busy or a failed restore 1, else 0. */
export function actionExitCode(result: unknown): number {
  if (!isObject(result)) return 0;
  if (result.status === 'busy' || result.syncError !== undefined) return 1;
  if (result.status === 'refused') return 3;
  if (isObject(result.sync) && result.sync.status === 'refused') return 3;
  if (isObject(result.sync) && result.sync.status === 'busy') return 1;
  return 0;
}

export type { PauseShown, ResumeShown };
