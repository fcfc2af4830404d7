import { describeError } from './errors';
import type { AttachOutcome, AttachedPrincipal, AttachmentOps, AttachmentsRecord, MissingAttachment, TargetRecord } from './ports';

// A managed policy must stay attached where it protects something: detached, it denies nothing and says nothing.
// A full check compares the listed principals (attachTo*) with IAM's (ListEntitiesForPolicy), attaches the policy
// again to one found without it (only this policy, only those principals), and reports each detachment once.
// It costs a third IAM read, so between full checks GetPolicy's AttachmentCount (read with the document anyway)
// stands in: a detachment lowers it, and a full check follows at once.

/** Once a day, a principal that did not exist is tried again (it may have been created again). */
const GONE_RETRY_MS = 24 * 3600_000;

/** The longest time between two full checks (ListEntitiesForPolicy), whatever AttachmentCount says. */
export const FULL_CHECK_INTERVAL_MS = 3600_000;

/** Which principals a managed-policy target must stay attached to. */
export interface AttachmentRule {
  policyArn: string;
  principals: readonly AttachedPrincipal[];
  /** Attach again (default), or only report. */
  reattach: boolean;
}

/** One principal found without the policy this run. */
export interface Detachment {
  /** `role/NAME`. */
  principal: string;
  /** What was done: attached again, left detached (reattach off or a dry run), or it no longer exists. */
  outcome: 'reattached' | 'left detached' | 'gone' | 'failed';
  error?: string;
}

/** What a run found: the news to tell, and the record's new `attachments` (undefined when unchanged). */
export interface AttachmentReport {
  /** Detachments not told before (a re-attachment is always news: it is a new detachment). */
  news: Detachment[];
  /** Principals back with the policy since an earlier run left them missing. */
  back: string[];
  missing: Record<string, MissingAttachment>;
  /** Whether `missing` differs from the record's. */
  changed: boolean;
  /** Why a full check ran (undefined: it was not due, nothing was listed). */
  fullCheck?: string;
  /** The record's new `attachments`, to keep: set when a full check ran. */
  record?: AttachmentsRecord;
}

/** How one run's attachment check goes. */
export interface AttachmentCheckOptions {
  dryRun: boolean;
  record: TargetRecord;
  now: Date;
  /** IAM's AttachmentCount as this run's GetPolicy gave it; undefined (not known) means a full check. */
  attachmentCount?: number;
}

const label = (p: AttachedPrincipal): string => `${p.kind}/${p.name}`;

/**
 * Why the attachments must be listed this run, or undefined when AttachmentCount vouches for the last full check:
 * no full check recorded, the last one an interval old, the count not the one recorded then (lower: a detachment;
 * higher: something attached since, which a later detachment would otherwise hide), or a missing principal this
 * run would attach again.
 */
export function fullCheckDue(rule: AttachmentRule, options: AttachmentCheckOptions): string | undefined {
  const last = options.record.attachments;
  const checkedAt = last?.checkedAt === undefined ? Number.NaN : Date.parse(last.checkedAt);
  if (!Number.isFinite(checkedAt) || last?.attachmentCount === undefined) return 'no full check recorded';
  const age = options.now.getTime() - checkedAt;
  if (age >= FULL_CHECK_INTERVAL_MS || age < 0) return `the last full check is ${Math.round(age / 60_000)} minutes old`;
  if (options.attachmentCount === undefined) return 'IAM gave no AttachmentCount';
  if (options.attachmentCount < last.attachmentCount) return `AttachmentCount fell from ${last.attachmentCount} to ${options.attachmentCount}`;
  if (options.attachmentCount > last.attachmentCount) return `AttachmentCount rose from ${last.attachmentCount} to ${options.attachmentCount}`;
  if (!options.dryRun && rule.reattach) {
    const retry = Object.values(last.missing ?? {}).some((m) => !m.gone || !m.triedAt || options.now.getTime() - Date.parse(m.triedAt) >= GONE_RETRY_MS);
    if (retry) return 'a missing principal is to be attached again';
  }
  return undefined;
}

/** Compares (when a full check is due), attaches again where it should, and says what is news. */
export async function keepAttached(ops: AttachmentOps, rule: AttachmentRule, options: AttachmentCheckOptions): Promise<AttachmentReport> {
  const before = options.record.attachments?.missing ?? {};
  const fullCheck = fullCheckDue(rule, options);
  if (fullCheck === undefined) return { news: [], back: [], missing: before, changed: false };
  const missing: Record<string, MissingAttachment> = {};
  const listed = await ops.list();
  const attached = new Set(listed.map((p) => label(p).toLowerCase()));
  let reattached = 0;
  const news: Detachment[] = [];
  const back: string[] = [];
  const at = options.now.toISOString();
  for (const principal of rule.principals) {
    const name = label(principal);
    const known = before[name];
    if (attached.has(name.toLowerCase())) {
      if (known) back.push(name);
      continue;
    }
    if (known?.gone && known.triedAt && options.now.getTime() - Date.parse(known.triedAt) < GONE_RETRY_MS) {
      missing[name] = known;
      continue;
    }
    if (options.dryRun || !rule.reattach) {
      missing[name] = known ?? { since: at, gone: false };
      if (!known) news.push({ principal: name, outcome: 'left detached' });
      continue;
    }
    const outcome: AttachOutcome = await ops.attach(principal);
    if (outcome.ok) {
      reattached++;
      news.push({ principal: name, outcome: 'reattached' });
    } else if (outcome.gone) {
      missing[name] = { since: known?.since ?? at, gone: true, triedAt: at };
      if (!known?.gone) news.push({ principal: name, outcome: 'gone' });
    } else {
      missing[name] = known ?? { since: at, gone: false };
      if (!known) news.push({ principal: name, outcome: 'failed', error: describeError(outcome.error) });
    }
  }
  const changed = JSON.stringify(before) !== JSON.stringify(missing);
  // What GetPolicy's AttachmentCount should say next run if nothing changes: every principal listed, and ours again.
  const record: AttachmentsRecord = { ...(Object.keys(missing).length > 0 ? { missing } : {}), checkedAt: at, attachmentCount: listed.length + reattached };
  return { news, back, missing, changed, fullCheck, record };
}
