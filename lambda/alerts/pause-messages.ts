import type { AnnounceOptions, Announcement, ResumeRecord } from '../ports';
import { AlertContext, AlertMessage, CLI, ascii, bounded, ellipsize, header, invokeCommand, pauseCommands, subjectLine } from './messages';

// The break-glass alerts: `paused` (told through the outbox like any write, so a crash right after the write still
// tells it) and `resumed`. Their wording never says "the allowlist is empty": a pause lifts the IP restriction, and
// the allowlist comes back through the usual plan and guards.

/** A reason as an alert quotes it: one line of ASCII, at most this long. */
const REASON_SHOWN = 300;
/** A name as an alert quotes it. */
const NAME_SHOWN = 100;

const who = (by: string): string => ellipsize(ascii(by) || '?', NAME_SHOWN);
const why = (reason: string): string => ellipsize(ascii(reason) || '?', REASON_SHOWN);

/** How to resume this target, as the alerts print it: the function's event first, then the CLI. */
function resumeCommands(context: AlertContext): string[] {
  return [
    ...(context.functionName ? [`  ${invokeCommand(context.functionName, { action: 'resume', ...(context.eventTarget ? { target: context.eventTarget } : {}), by: '<your name>' })}`] : []),
    `  ${CLI} resume --target ${context.cliTarget ?? `iam:${context.policyArn}`}`,
  ];
}

/** `paused`: the announcement of a pause's write (now, or late by a later run). Pure. */
export function renderPaused(context: AlertContext, a: Announcement, options: AnnounceOptions = {}): AlertMessage {
  const pause = a.pause ?? { by: 'unknown', reason: '(no reason recorded)' };
  const lines = [
    `allowlist-sync PAUSED ${context.allowlist} (break-glass): the IP restriction is lifted. Requests are not denied by their source address here until it is resumed.`,
    ...(options.late
      ? ['', `Announced late: the run that paused it (${a.writer}, ${a.at}) ended before it could tell it.`, `In force now: ${options.late.inForce}${options.late.written ? '' : " (not the pause's document: something changed since)"}.`]
      : []),
    '',
    ...header(context),
    `By:       ${who(pause.by)} (${a.writer})`,
    `Why:      ${why(pause.reason)}`,
    `Version:  ${a.baseVersionId ?? '(none)'} -> ${a.versionId ?? '(not known)'}, a document that denies nothing`,
    `Lifted:   ${a.removedCount} entr${a.removedCount === 1 ? 'y was' : 'ies were'} in force; the restore after the pause is measured against them`,
    ...(a.notes.length > 0 ? ['', 'Also:', ...a.notes.slice(0, 20).map((n) => `  ! ${ellipsize(n, 300)}`)] : []),
    '',
    'Scheduled runs report "paused" and write nothing until the target is resumed.',
    'To resume (the allowlist is restored through the usual plan and guards, and alerted):',
    ...resumeCommands(context),
  ];
  return bounded({ event: 'paused', subject: subjectLine(context.allowlist, `PAUSED by ${who(pause.by).slice(0, 30)}, IP restriction lifted`), body: lines.join('\n') });
}

/** `resumed`: the pause is over; the next sync restores the allowlist (or is refused, and says why). Pure. */
export function renderResumed(context: AlertContext, resumed: ResumeRecord, options: { restoreNow: boolean }): AlertMessage {
  const { pause } = resumed;
  const lines = [
    `allowlist-sync resumed ${context.allowlist}: the pause is over.`,
    '',
    ...header(context),
    `By:       ${who(resumed.by)}`,
    `Paused:   by ${who(pause.by)} at ${pause.at}: ${why(pause.reason)}`,
    '',
    options.restoreNow
      ? 'A sync runs now and restores the allowlist through the usual plan and guards: its "updated" alert says it restored after the pause; a "refused" alert says why not (the IP restriction then stays lifted until it is approved or fixed).'
      : 'The next scheduled run restores the allowlist through the usual plan and guards: its "updated" alert says it restored after the pause; a "refused" alert says why not (the IP restriction stays lifted until then).',
    '',
    'To pause again:',
    ...pauseCommands(context),
  ];
  return bounded({ event: 'resumed', subject: subjectLine(context.allowlist, `resumed by ${who(resumed.by).slice(0, 30)}`), body: lines.join('\n') });
}
