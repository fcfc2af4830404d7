import { changeSummary, entryLines, filterLines, hasAllow, statementLines } from '../allowlist/changes';
import { isApprovable } from '../allowlist/plan';
import { SyncError, describeError } from '../errors';
import type { AlertState, AnnounceOptions, Announcement, SyncResult } from '../ports';

/** What an alert is about. Also the `event` message attribute subscribers filter on. */
export type AlertEvent = 'updated' | 'refused' | 'failed' | 'recovered' | 'paused' | 'resumed' | 'detached' | 'skipped';

/** How a run ended: with a result, or with an error. */
export type AlertOutcome = { result: SyncResult } | { error: unknown };

/** What every alert names. */
export interface AlertContext {
  /** Short name of the allowlist, used in subjects, e.g. `rosa-trusted-ips`. */
  allowlist: string;
  /** The managed policy the allowlist is synced into. */
  policyArn: string;
  /** The sync function, when known: approvals can then be sent to it directly. */
  functionName?: string;
  /** The `--source` specs the CLI needs to compute the same plan; default `ocm`. */
  cliSources?: readonly string[];
  /** The CLI's `--target` for this allowlist; default `iam:<policyArn>`. */
  cliTarget?: string;
  /** Set when the function keeps several targets: approvals must then name this one. */
  eventTarget?: string;
}

/** A rendered alert: SNS Subject, Message and the event attribute. */
export interface AlertMessage {
  event: AlertEvent;
  /** ASCII, one line, at most SUBJECT_MAX characters. */
  subject: string;
  /** Plain text, meant to be read in an email. */
  body: string;
}

/** SNS: "Subjects must be ... less than 100 characters long". */
export const SUBJECT_MAX = 99;
/** Longest list of entries spelled out in a body; SNS messages are capped at 256 KB. */
const LIST_MAX = 200;
/** Longest error message quoted in a body. */
const ERROR_MAX = 2000;
/** A body is cut here whatever it holds: SNS takes 256 KB, and an alert is read by people. */
export const BODY_MAX = 64 * 1024;
/** The CLI as an alert spells it: the repository's own launcher, never a bare `npx allowlist-sync` (an unclaimed public name). */
export const CLI = 'node bin/allowlist-sync.js';

/** One line of printable ASCII: what an alert may quote of text someone typed (a reason, a name). */
export function ascii(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** `text`, cut to `max` characters with `...` when longer. */
export function ellipsize(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}

/** Quotes a command-line argument for a POSIX shell when it needs it, so a pasted command does what it says. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `aws lambda invoke` command that sends `payload` to the function: it needs only the AWS CLI (v2) and
 * credentials, from anywhere. The payload is JSON, quoted for a POSIX shell.
 */
export function invokeCommand(functionName: string, payload: Record<string, unknown>): string {
  return `aws lambda invoke --function-name ${shellWord(functionName)} --cli-binary-format raw-in-base64-out --payload ${shellWord(JSON.stringify(payload))} /dev/stdout`;
}

/** `allowlist-sync: <name> <detail>`, shortening the name first so the detail survives. */
export function subjectLine(name: string, detail: string): string {
  const prefix = 'allowlist-sync: ';
  const safeDetail = ascii(detail);
  const room = SUBJECT_MAX - prefix.length - safeDetail.length - 1;
  if (room < 8) return ellipsize(`${prefix}${ascii(name)} ${safeDetail}`, SUBJECT_MAX);
  return `${prefix}${ellipsize(ascii(name) || '?', room)} ${safeDetail}`;
}

/** A stable, short code for a failure: the SyncError code, else the error's class name. */
export function failureCode(error: unknown): string {
  if (error instanceof SyncError) return error.code;
  if (error instanceof Error && error.name && error.name !== 'Error' && /^[A-Za-z][\w-]*$/.test(error.name)) return error.name;
  return 'unexpected-error';
}

/** The failure's message without its hint (shown on its own line), one line, bounded. Never a stack. */
export function failureMessage(error: unknown): string {
  let message = describeError(error);
  if (error instanceof SyncError && error.hint && message.endsWith(` ${error.hint}`)) {
    message = message.slice(0, -error.hint.length - 1);
  }
  return ellipsize(message.replace(/\s*\n\s*/g, ' ').trim(), ERROR_MAX);
}

/** A titled list, at most LIST_MAX lines, then `... and N more`; `total` when the list itself was already clipped. */
function listLines(title: string, sign: string, entries: readonly string[], total = entries.length): string[] {
  if (total === 0) return [`${title}: none`];
  const shown = entries.slice(0, LIST_MAX).map((e) => `  ${sign} ${e}`);
  if (total > shown.length) shown.push(`  ... and ${total - shown.length} more`);
  return [`${title} (${total}):`, ...shown];
}

/** The entry lines of a plan as `entry (N addresses)`, for alerts and announcements. */
export function entryTexts(plan: SyncResult['plan']): { added: string[]; removed: string[] } {
  const lines = entryLines(plan);
  return {
    added: lines.filter((l) => l.sign === '+').map((l) => `${l.entry} (${l.note})`),
    removed: lines.filter((l) => l.sign === '-').map((l) => `${l.entry} (${l.note})`),
  };
}

function since(previous: AlertState | undefined): string {
  return previous?.at ? ` since ${previous.at}` : '';
}

/** The lines every alert starts its details with: the resource, and the function when known. */
export function header(context: AlertContext): string[] {
  return [`Policy:   ${context.policyArn}`, ...(context.functionName ? [`Function: ${context.functionName}`] : [])];
}

function warningLines(result: SyncResult): string[] {
  return result.warnings.length > 0 ? ['', 'Warnings:', ...result.warnings.map((w) => `  * ${w}`)] : [];
}

function updated(context: AlertContext, a: Announcement, options: AnnounceOptions): AlertMessage {
  const other = a.notes.some((n) => n.startsWith('another writer'));
  const detail = `updated (+${a.addedCount} -${a.removedCount}${a.approved ? ', approved' : ''}${a.restored ? ', restored after pause' : ''}${other ? ', another writer' : ''}${options.late ? ', late' : ''})`;
  const lines = [
    `allowlist-sync wrote a new version of the policy for ${context.allowlist}.`,
    ...(options.late
      ? [
          '',
          `Announced late: the run that wrote it (${a.writer}, ${a.at}) ended before it could announce it (killed, out of time, or SNS refused).`,
          `In force now: ${options.late.inForce}${options.late.written ? '' : " (not this update's document: something changed since)"}.`,
        ]
      : []),
    '',
    ...header(context),
    `Writer:   ${a.writer}`,
    `Version:  ${a.baseVersionId ?? '(none)'} -> ${a.versionId ?? (options.late?.written ? options.late.inForce : '(not known: see In force)')}`,
    `Plan:     ${a.planId}${a.approved ? ' (applied by approval)' : ''}`,
    `Entries:  ${a.entryCount} in force now`,
  ];
  if (a.restored) {
    const r = a.restored;
    lines.push(`Restored: the allowlist is back in force after the pause by ${ellipsize(ascii(r.pausedBy), 100)} at ${r.pausedAt} ("${ellipsize(ascii(r.reason), 300)}"), resumed by ${ellipsize(ascii(r.resumedBy), 100)} at ${r.resumedAt}.`);
  }
  if (a.drift) lines.push('Drift:    the previous version had been edited outside allowlist-sync; it was replaced.');
  const previous = options.previous;
  if (previous && previous.status !== 'ok') lines.push(`Recovery: the earlier ${previous.status === 'failed' ? 'failure' : 'refusal'}${since(previous)} is over.`);
  if (a.notes.length > 0) lines.push('', 'Also:', ...a.notes.slice(0, 50).map((n) => `  ! ${ellipsize(n, 300)}`));
  lines.push('', ...listLines('Added', '+', a.addedEntries, a.addedCount), ...listLines('Removed', '-', a.removedEntries, a.removedCount));
  if (a.baseVersionId) {
    lines.push(
      '',
      'To roll back to the previous version (from a checkout of allowlist-sync, with credentials for this account):',
      `  ${CLI} rollback --target ${context.cliTarget ?? `iam:${context.policyArn}`} --to ${a.baseVersionId}`,
      'If the new list itself is wrong, pause the target instead (the next run would apply it again); a pause lifts the IP restriction until resumed:',
      ...pauseCommands(context),
    );
  }
  return { event: 'updated', subject: subjectLine(context.allowlist, detail), body: lines.join('\n') };
}

/** How to pause this target (break-glass), as an alert prints it: the function's event first, then the CLI. */
export function pauseCommands(context: AlertContext): string[] {
  return [
    ...(context.functionName ? [`  ${invokeCommand(context.functionName, { action: 'pause', ...(context.eventTarget ? { target: context.eventTarget } : {}), reason: '<why>', by: '<your name>' })}`] : []),
    `  ${CLI} pause --target ${context.cliTarget ?? `iam:${context.policyArn}`} --reason '<why>'`,
  ];
}

function statementBlock(plan: SyncResult['plan']): string[] {
  const lines = statementLines(plan);
  if (lines.length === 0) return [];
  return ['', ...(hasAllow(plan) ? ['!! AN ALLOW STATEMENT WAS ADDED BY HAND to this deny policy: find who wrote it (CloudTrail).'] : []), 'Statements:', ...lines.map((l) => `  ! ${l}`)];
}

function refused(context: AlertContext, result: SyncResult): AlertMessage {
  const { plan } = result;
  const approvable = isApprovable(plan);
  const texts = entryTexts(plan);
  // A document in force that denies nothing (a pause's, the stack's placeholder, none): "stays in force" would read as safe.
  const lifted = result.record?.resumed !== undefined || ['placeholder', 'no-allowlist', 'absent'].includes(plan.currentKind);
  const lines = [
    result.record?.resumed !== undefined
      ? `allowlist-sync REFUSED to restore the allowlist for ${context.allowlist} after its pause. Nothing was written: THE IP RESTRICTION IS STILL LIFTED (the document in force denies nothing) until a plan is applied.`
      : lifted
        ? `allowlist-sync REFUSED to update the policy for ${context.allowlist}. Nothing was written: NO IP RESTRICTION IS IN FORCE (the document in force denies nothing) until a plan is applied.`
        : `allowlist-sync REFUSED to update the policy for ${context.allowlist}. Nothing was written; the current version stays in force.`,
    '',
    ...header(context),
    `Plan:     ${plan.planId}`,
    ...(plan.baseVersionId ? [`Current:  ${plan.baseVersionId}`] : []),
    '',
    'Reasons:',
    ...plan.refusals.map((r) => `  ! ${ellipsize(r.message, ERROR_MAX)}${r.approvable ? '' : ' (cannot be approved)'}`),
    ...statementBlock(plan),
    '',
    `Would change: ${changeSummary(plan)}`,
    ...listLines('Would add', '+', texts.added),
    ...listLines('Would remove', '-', texts.removed),
    ...(plan.filtered?.length ? ['', `Filtered out by the target's include/exclude (${plan.filtered.length} entries):`, ...filterLines(plan).map((l) => `  ~ ${ellipsize(l, 300)}`)] : []),
    ...warningLines(result),
    '',
  ];
  if (approvable) {
    lines.push('To apply this exact plan anyway, after reviewing it:');
    if (context.functionName) {
      lines.push(`  ${invokeCommand(context.functionName, { approve: plan.planId, ...(context.eventTarget ? { target: context.eventTarget } : {}) })}`, 'or, from a workstation with the same configuration as the function:');
    }
    const sources = (context.cliSources ?? ['ocm']).map((s) => `--source ${shellWord(s)}`).join(' ');
    lines.push(
      `  ${CLI} apply ${sources} --target ${context.cliTarget ?? `iam:${context.policyArn}`} --approve ${plan.planId}`,
      'An approval applies to this plan id only, once, within a day of the refusal: if the list or the policy changes first, the new plan is checked again.',
    );
  } else {
    const hard = plan.refusals.filter((r) => !r.approvable).map((r) => r.code);
    lines.push(
      `This plan cannot be approved (${hard.join(', ') || 'no reason recorded'}): fix the cause at the source.`,
      'Every scheduled run plans again; you will hear when it goes through or the refusal changes.',
    );
  }
  return { event: 'refused', subject: subjectLine(context.allowlist, `REFUSED (plan ${plan.planId})${result.record?.resumed !== undefined ? ', IP restriction still lifted' : lifted ? ', no IP restriction in force' : ''}`), body: lines.join('\n') };
}

function failed(context: AlertContext, error: unknown): AlertMessage {
  const code = failureCode(error);
  const hint = error instanceof SyncError ? error.hint : undefined;
  const lines = [
    `allowlist-sync FAILED for ${context.allowlist}.`,
    '',
    ...header(context),
    `Error:    ${code}`,
    '',
    'What failed:',
    `  ${failureMessage(error)}`,
    '',
    'What to do:',
    `  ${hint ?? "Read the function's log for this run; it has the details."}`,
    '',
    ...(error instanceof SyncError && error.changed.length > 0
      ? ['Changed before the failure:', ...error.changed.map((c) => `  ! ${c}`), 'Check the policy with the status command; the next run plans against whatever is in force.']
      : ['Nothing was written: the current version stays in force.']),
    'This alert is sent once per distinct failure, not every run. A "recovered" alert follows when a run succeeds again.',
  ];
  return { event: 'failed', subject: subjectLine(context.allowlist, `FAILED (${ellipsize(ascii(code), 48)})`), body: lines.join('\n') };
}

function recovered(context: AlertContext, outcome: AlertOutcome, previous: AlertState | undefined): AlertMessage {
  const was = previous?.status === 'refused' ? `refused plan ${previous.key ?? ''}`.trim() : previous?.status === 'failed' ? `failure (${previous.key ?? 'unknown'})` : 'problem';
  const lines = [`allowlist-sync recovered for ${context.allowlist}: the run succeeded again.`, '', ...header(context), `Before:   ${was}${since(previous)}`];
  if ('result' in outcome) {
    const { result } = outcome;
    lines.push(
      `Now:      ${result.status === 'updated' ? `updated to ${result.versionId ?? '(unknown)'}` : 'the policy is up to date, nothing to write'}`,
      `Plan:     ${result.plan.planId}`,
      `Entries:  ${result.plan.entries.length}`,
    );
    if (previous?.status === 'refused') lines.push('', 'The refused plan is no longer pending: the source list or the policy changed since.');
  }
  return { event: 'recovered', subject: subjectLine(context.allowlist, 'recovered'), body: lines.join('\n') };
}

/**
 * Renders the alert for `event`. Pure. Alerts only ever hold messages, codes, ids and entries: never error
 * objects, stacks or anything from the credentials.
 * @param previous the alert state before this run, to say what a recovery recovers from.
 */
export function renderAlert(event: AlertEvent, context: AlertContext, outcome: AlertOutcome, previous?: AlertState): AlertMessage {
  return bounded(renderUnbounded(event, context, outcome, previous));
}

function renderUnbounded(event: AlertEvent, context: AlertContext, outcome: AlertOutcome, previous?: AlertState): AlertMessage {
  if (!('result' in outcome)) return event === 'recovered' ? recovered(context, outcome, previous) : failed(context, outcome.error);
  switch (event) {
    case 'refused':
      return refused(context, outcome.result);
    case 'recovered':
      return recovered(context, outcome, previous);
    default:
      return failed(context, new Error(`the run ended with status ${outcome.result.status}`));
  }
}

/** The `updated` alert of an announcement, right after its write or delivered late by another run. Pure. */
export function renderAnnouncement(context: AlertContext, announcement: Announcement, options: AnnounceOptions = {}): AlertMessage {
  return bounded(updated(context, announcement, options));
}

/** One detachment found by a run, as the alert tells it. */
export interface DetachedNews {
  principal: string;
  outcome: 'reattached' | 'left detached' | 'gone' | 'failed';
  error?: string;
}

const DETACHED_LINES: Record<DetachedNews['outcome'], string> = {
  reattached: 'was found without the policy and has it again (re-attached)',
  'left detached': 'is without the policy, left so (reattach is off, or a dry run): requests from it are not denied from anywhere',
  gone: 'does not exist any more: nothing to attach to (tried again once a day; remove it from attachTo* if it is gone for good)',
  failed: 'is without the policy, and attaching it again failed',
};

/**
 * `detached`: the policy was found missing from principals it must stay attached to. A detached deny policy denies
 * nothing and says nothing, so every detachment is told, once.
 */
export function renderDetached(context: AlertContext, news: readonly DetachedNews[]): AlertMessage {
  const reattached = news.every((n) => n.outcome === 'reattached');
  const lines = [
    `allowlist-sync found the policy for ${context.allowlist} detached from ${news.length === 1 ? 'a principal' : `${news.length} principals`} it must stay attached to.`,
    '',
    ...header(context),
    '',
    ...news.slice(0, LIST_MAX).map((n) => `  ! ${n.principal} ${DETACHED_LINES[n.outcome]}${n.error ? `: ${ellipsize(n.error, 300)}` : ''}`),
    ...(news.length > LIST_MAX ? [`  ... and ${news.length - LIST_MAX} more`] : []),
    '',
    'Someone or something detached it: find who in CloudTrail (DetachRolePolicy, DetachUserPolicy, DetachGroupPolicy).',
    'To keep it detached on purpose (break-glass), set the target\'s reattach to false (REATTACH=false for the main',
    'allowlist) or disable the schedule: otherwise every run attaches it again.',
  ];
  const detail = reattached ? `detached from ${news.length === 1 ? news[0].principal : `${news.length} principals`}, re-attached` : `DETACHED from ${news.length === 1 ? news[0].principal : `${news.length} principals`}`;
  return bounded({ event: 'detached', subject: subjectLine(context.allowlist, detail), body: lines.join('\n') });
}

/** A message cut to BODY_MAX characters, saying so. */
export function bounded(message: AlertMessage): AlertMessage {
  if (message.body.length <= BODY_MAX) return message;
  return { ...message, body: `${message.body.slice(0, BODY_MAX - 200)}\n\n... (cut at ${BODY_MAX} characters; the function's log has the rest)` };
}
