import { isApprovable } from '../allowlist/plan';
import { SyncError, describeError } from '../errors';
import type { SyncResult } from '../sync';
import type { AlertState } from './state';

/** What an alert is about. Also the `event` message attribute subscribers filter on. */
export type AlertEvent = 'updated' | 'refused' | 'failed' | 'recovered';

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

function ascii(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
}

function ellipsize(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}

/** Quotes a command-line argument for a POSIX shell when it needs it, so a pasted command does what it says. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `allowlist-sync: <name> <detail>`, shortening the name first so the detail survives. */
function subjectLine(name: string, detail: string): string {
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

function entryLines(title: string, sign: string, entries: readonly string[]): string[] {
  if (entries.length === 0) return [`${title}: none`];
  const shown = entries.slice(0, LIST_MAX).map((e) => `  ${sign} ${e}`);
  if (entries.length > LIST_MAX) shown.push(`  ... and ${entries.length - LIST_MAX} more`);
  return [`${title} (${entries.length}):`, ...shown];
}

function since(previous: AlertState | undefined): string {
  return previous?.at ? ` since ${previous.at}` : '';
}

function header(context: AlertContext): string[] {
  return [`Policy:   ${context.policyArn}`, ...(context.functionName ? [`Function: ${context.functionName}`] : [])];
}

function warningLines(result: SyncResult): string[] {
  return result.warnings.length > 0 ? ['', 'Warnings:', ...result.warnings.map((w) => `  * ${w}`)] : [];
}

function updated(context: AlertContext, result: SyncResult, previous: AlertState | undefined): AlertMessage {
  const { plan } = result;
  const detail = `updated (+${plan.added.length} -${plan.removed.length}${result.approved ? ', approved' : ''})`;
  const lines = [
    `allowlist-sync wrote a new default version of the policy for ${context.allowlist}.`,
    '',
    ...header(context),
    `Version:  ${result.previousVersionId ?? '(none)'} -> ${result.versionId ?? '(unknown)'}`,
    `Plan:     ${plan.planId}${result.approved ? ' (applied by approval)' : ''}`,
    `Entries:  ${plan.entries.length} in force now`,
  ];
  if (plan.drift) lines.push('Drift:    the previous version had been edited outside allowlist-sync; it was replaced.');
  if (previous && previous.status !== 'ok') lines.push(`Recovery: the earlier ${previous.status === 'failed' ? 'failure' : 'refusal'}${since(previous)} is over.`);
  lines.push('', ...entryLines('Added', '+', plan.added), ...entryLines('Removed', '-', plan.removed), ...warningLines(result));
  if (result.previousVersionId) {
    lines.push(
      '',
      'To roll back to the previous version:',
      `  npx allowlist-sync rollback --target ${context.cliTarget ?? `iam:${context.policyArn}`} --to ${result.previousVersionId}`,
      'If the new list itself is wrong, pause the schedule too: the next run would apply it again.',
    );
  }
  return { event: 'updated', subject: subjectLine(context.allowlist, detail), body: lines.join('\n') };
}

function refused(context: AlertContext, result: SyncResult): AlertMessage {
  const { plan } = result;
  const approvable = isApprovable(plan);
  const lines = [
    `allowlist-sync REFUSED to update the policy for ${context.allowlist}. Nothing was written; the current version stays in force.`,
    '',
    ...header(context),
    `Plan:     ${plan.planId}`,
    ...(plan.baseVersionId ? [`Current:  ${plan.baseVersionId}`] : []),
    '',
    'Reasons:',
    ...plan.refusals.map((r) => `  ! ${r.message}${r.approvable ? '' : ' (cannot be approved)'}`),
    '',
    ...entryLines('Would add', '+', plan.added),
    ...entryLines('Would remove', '-', plan.removed),
    ...warningLines(result),
    '',
  ];
  if (approvable) {
    lines.push('To apply this exact plan anyway, after reviewing it:');
    if (context.functionName) {
      lines.push(`  aws lambda invoke --function-name ${context.functionName} --cli-binary-format raw-in-base64-out --payload '{"approve":"${plan.planId}"${context.eventTarget ? `,"target":"${context.eventTarget}"` : ''}}' /dev/stdout`, 'or, from a workstation with the same configuration as the function:');
    }
    const sources = (context.cliSources ?? ['ocm']).map((s) => `--source ${shellWord(s)}`).join(' ');
    lines.push(
      `  npx allowlist-sync apply ${sources} --target ${context.cliTarget ?? `iam:${context.policyArn}`} --approve ${plan.planId}`,
      'An approval applies to this plan id only: if the list or the policy changes first, the new plan is checked again.',
    );
  } else {
    const hard = plan.refusals.filter((r) => !r.approvable).map((r) => r.code);
    lines.push(
      `This plan cannot be approved (${hard.join(', ') || 'no reason recorded'}): fix the cause at the source.`,
      'Every scheduled run plans again; you will hear when it goes through or the refusal changes.',
    );
  }
  return { event: 'refused', subject: subjectLine(context.allowlist, `REFUSED (plan ${plan.planId})`), body: lines.join('\n') };
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
    'Unless the message above says otherwise, the policy was not changed: its current version stays in force.',
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
  if (!('result' in outcome)) return event === 'recovered' ? recovered(context, outcome, previous) : failed(context, outcome.error);
  switch (event) {
    case 'updated':
      return updated(context, outcome.result, previous);
    case 'refused':
      return refused(context, outcome.result);
    case 'recovered':
      return recovered(context, outcome, previous);
    case 'failed':
      return failed(context, new Error(`the run ended with status ${outcome.result.status}`));
  }
}
