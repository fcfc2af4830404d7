import { createHash } from 'node:crypto';
import { canonicalJson, parsePolicy } from './allowlist';
import type { Plan } from './allowlist';
import { entryTexts } from './alerts/messages';
import { describeError } from './errors';
import type { Announcement, Announcer, AlertState, Log, TargetRecord } from './ports';

// Nothing unannounced: an `updated` announcement is recorded before its write and cleared once published. A run
// that finds one owed publishes it first, so a write is told even when the run that made it was killed right
// after, ran out of time, or met an SNS outage followed by a cold start.

/** Most announcements kept owed at once (a writer without a topic, say the CLI offline, leaves them for the function). */
export const OUTBOX_MAX = 20;
/** Entries spelled out in an announcement; the counts stay exact. */
const ENTRIES_KEPT = 200;

/** A short fingerprint of a document's meaning (key order and encoding do not matter), or of its absence. */
export function documentHash(text: string | undefined): string {
  if (text === undefined) return 'none';
  let canonical: string;
  try {
    canonical = canonicalJson(parsePolicy(text));
  } catch {
    canonical = text;
  }
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The announcement a plan's write owes, before the write. */
export function announcementFor(plan: Plan, context: { writer: string; at: Date; approved: boolean; baseDocument?: string; notes: readonly string[] }): Announcement {
  const texts = entryTexts(plan);
  return {
    planId: plan.planId,
    at: context.at.toISOString(),
    writer: context.writer,
    ...(plan.baseVersionId !== undefined ? { baseVersionId: plan.baseVersionId } : {}),
    baseDocumentHash: documentHash(context.baseDocument),
    documentHash: documentHash(plan.document),
    addedEntries: texts.added.slice(0, ENTRIES_KEPT),
    removedEntries: texts.removed.slice(0, ENTRIES_KEPT),
    addedCount: texts.added.length,
    removedCount: texts.removed.length,
    entryCount: plan.entries.length,
    approved: context.approved,
    ...(plan.drift ? { drift: true } : {}),
    notes: [...context.notes],
  };
}

/** Adds one announcement to the owed ones, the oldest dropped past OUTBOX_MAX (said in the newest). */
export function withOwed(owed: readonly Announcement[] | undefined, next: Announcement): Announcement[] {
  const all = [...(owed ?? []), next];
  if (all.length <= OUTBOX_MAX) return all;
  const dropped = all.length - OUTBOX_MAX;
  const kept = all.slice(dropped);
  kept[kept.length - 1] = { ...next, notes: [...next.notes, `${dropped} earlier update${dropped === 1 ? '' : 's'} by writers without a topic could not be kept for announcing`] };
  return kept;
}

/** The document in force when a run starts, to judge whether an owed write happened. */
export interface InForce {
  versionId?: string;
  document?: string;
}

/**
 * Publishes every owed announcement whose write happened (the document in force is not the one it was planned
 * against), drops those whose write never did, and returns the outbox that is still owed. Stops at the first
 * publish failure: what is left stays owed.
 */
export async function deliverOwed(
  owed: readonly Announcement[],
  inForce: InForce,
  announcer: Announcer,
  options: { previous?: AlertState; log?: Log },
): Promise<{ left: Announcement[]; delivered: number; error?: unknown }> {
  const now = documentHash(inForce.document);
  let delivered = 0;
  for (let i = 0; i < owed.length; i++) {
    const a = owed[i];
    const written = a.documentHash === now;
    // Nothing changed since its plan was made: the write never happened (killed before, or refused). Nothing to tell.
    if (!written && a.baseDocumentHash === now && a.versionId === undefined) {
      options.log?.info('an owed announcement was for a write that never happened; dropped', { planId: a.planId, writer: a.writer });
      continue;
    }
    const label = inForce.versionId ?? (written ? 'the document of this update' : 'another document');
    try {
      await announcer.announce(a, { late: { inForce: label, written }, ...(options.previous ? { previous: options.previous } : {}) });
      delivered++;
    } catch (err) {
      options.log?.warn('an owed announcement could not be published; it stays owed', { planId: a.planId, error: describeError(err) });
      return { left: owed.slice(i), delivered, error: err };
    }
  }
  return { left: [], delivered };
}

/** True when the record owes announcements. */
export function owes(record: TargetRecord): boolean {
  return (record.outbox?.length ?? 0) > 0;
}

/** The store patch that clears the outbox or keeps what is left. */
export function outboxPatch(left: readonly Announcement[]): { outbox: Announcement[] | null } {
  return { outbox: left.length > 0 ? [...left] : null };
}

