import { AlertContext, AlertMessage, ascii, bounded, ellipsize, header, subjectLine } from './messages';

// The fleet's own alerts about its accounts: one left out because its stack instance is not CURRENT (its list
// freezes there, the lockout this tool exists to prevent), and the same account CURRENT again.

/** An account a run found skipped, newly or with another status than told before. */
export interface SkippedNews {
  account: string;
  /** Its instances' region and status, e.g. `eu-west-1 OUTDATED (FAILED)`. */
  instances: readonly string[];
  /** CloudFormation's StatusReason, when it gave one. */
  reason?: string;
}

/** An account CURRENT again after it was skipped. */
export interface SkipRecovery {
  account: string;
  /** What it was told as, and since when. */
  status: string;
  since: string;
}

const LIST_MAX = 200;

/** `its stack instance in eu-west-1 is OUTDATED (FAILED)`, from the instances' labels (`REGION STATUS (DETAILED)`). */
function instanceText(instances: readonly string[]): string {
  const parsed = instances.map((label) => /^(\S+) (.+)$/.exec(label));
  if (instances.length === 1 && parsed[0]) return `its stack instance in ${parsed[0][1]} is ${parsed[0][2]}`;
  return `its stack instances are ${instances.join(', ')}`;
}

/** One account's line: `fleet/123456789012 skipped: its stack instance ... (reason ...): not synced until CURRENT`. */
export function skippedLine(fleet: string, news: SkippedNews): string {
  const reason = news.reason ? ` (reason: ${ellipsize(ascii(news.reason), 300)})` : '';
  return `${fleet}/${news.account} skipped: ${instanceText(news.instances)}${reason}: not synced until CURRENT`;
}

/**
 * `skipped`: accounts of the fleet left out of this run (and every run) until their stack instance is CURRENT. Told
 * once per account and status; the `recovered` alert follows when it is CURRENT again.
 */
export function renderSkipped(context: AlertContext, news: readonly SkippedNews[], stackSet: string | undefined): AlertMessage {
  const fleet = context.allowlist;
  const one = news.length === 1 ? news[0] : undefined;
  const lines = [
    one
      ? `allowlist-sync does not sync the policy of account ${one.account} of fleet ${fleet}: its stack instance is not CURRENT.`
      : `allowlist-sync does not sync the policy of ${news.length} accounts of fleet ${fleet}: their stack instances are not CURRENT.`,
    '',
    ...header(context),
    '',
    ...news.slice(0, LIST_MAX).map((n) => `  ! ${skippedLine(fleet, n)}`),
    ...(news.length > LIST_MAX ? [`  ... and ${news.length - LIST_MAX} more`] : []),
    '',
    'Until then its allowlist stays as it is: when the trusted IP list changes, that account locks Red Hat SRE out.',
    'A StackSet operation under way (OUTDATED, RUNNING or PENDING) ends by itself: the first run after it syncs the account.',
    `A failed one does not: read why (aws cloudformation list-stack-instances --stack-set-name ${stackSet ?? 'NAME'}, and`,
    'list-stack-set-operation-results for the last operation), fix it, then retry the StackSet operation for that account.',
    'This alert is sent once per account and status; a "recovered" alert follows when the instance is CURRENT again.',
  ];
  const detail = one ? `skipped (${ellipsize(one.instances.join(', '), 40)})` : `${news.length} accounts skipped (not CURRENT)`;
  return bounded({ event: 'skipped', subject: subjectLine(one ? `${fleet}/${one.account}` : fleet, detail), body: lines.join('\n') });
}

/** `recovered`: accounts skipped before whose stack instance is CURRENT again; synced from this run on. */
export function renderSkipRecovered(context: AlertContext, back: readonly SkipRecovery[]): AlertMessage {
  const fleet = context.allowlist;
  const one = back.length === 1 ? back[0] : undefined;
  const lines = [
    one
      ? `allowlist-sync syncs account ${one.account} of fleet ${fleet} again: its stack instance is CURRENT.`
      : `allowlist-sync syncs ${back.length} accounts of fleet ${fleet} again: their stack instances are CURRENT.`,
    '',
    ...header(context),
    '',
    ...back.slice(0, LIST_MAX).map((b) => `  * ${fleet}/${b.account} CURRENT again (skipped since ${b.since}: ${b.status})`),
    ...(back.length > LIST_MAX ? [`  ... and ${back.length - LIST_MAX} more`] : []),
    '',
    'This run syncs it with the others; its own alerts say what that changed.',
  ];
  return bounded({ event: 'recovered', subject: subjectLine(one ? `${fleet}/${one.account}` : fleet, one ? 'CURRENT again, synced' : `${back.length} accounts CURRENT again`), body: lines.join('\n') });
}
