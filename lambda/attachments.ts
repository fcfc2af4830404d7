import { describeError } from './errors';
import type { AttachOutcome, AttachedPrincipal, AttachmentOps, MissingAttachment, TargetRecord } from './ports';

// A managed policy must stay attached where it protects something: detached, it denies nothing and says nothing.
// Each run compares the listed principals (attachTo*) with IAM's, attaches the policy again to one found without
// it (only this policy, only those principals), and reports each detachment once.

/** Once a day, a principal that did not exist is tried again (it may have been created again). */
const GONE_RETRY_MS = 24 * 3600_000;

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
  changed: boolean;
}

const label = (p: AttachedPrincipal): string => `${p.kind}/${p.name}`;

/** Compares, attaches again where it should, and says what is news. */
export async function keepAttached(ops: AttachmentOps, rule: AttachmentRule, options: { dryRun: boolean; record: TargetRecord; now: Date }): Promise<AttachmentReport> {
  const before = options.record.attachments?.missing ?? {};
  const missing: Record<string, MissingAttachment> = {};
  const attached = new Set((await ops.list()).map((p) => label(p).toLowerCase()));
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
  return { news, back, missing, changed };
}
