// What allowlist-sync remembers about one target between runs, and the port of the store that keeps it.
// Ground floor: imports nothing of ours.

/** What the last alert said: all good, a plan refused, or a failure. */
export type AlertStatus = 'ok' | 'refused' | 'failed';

/** The alert state that survives between runs, so the same problem is alerted once, not every run. */
export interface AlertState {
  status: AlertStatus;
  /** `refused`: the plan id; `failed`: the failure key (`code:fingerprint`); `ok`: none. */
  key?: string;
  /** When this state began (ISO 8601). */
  at: string;
}

/**
 * An `updated` announcement owed: recorded before a write, cleared once published. A run that finds one
 * publishes it first, so a write is announced even when its run was killed right after it, or SNS refused.
 */
export interface Announcement {
  planId: string;
  /** When the write was about to start (ISO 8601). */
  at: string;
  /** Who wrote: `function:NAME` or `cli:USER@HOST`. */
  writer: string;
  /** The version (or store revision) the plan was computed against, and its document's fingerprint. */
  baseVersionId?: string;
  baseDocumentHash?: string;
  /** The fingerprint of the document being written: how a later run tells whether the write happened. */
  documentHash: string;
  /** Set once the write returned: the version now in force. */
  versionId?: string;
  /** Entries added and removed (clipped to a few hundred; the counts are exact). */
  addedEntries: string[];
  removedEntries: string[];
  addedCount: number;
  removedCount: number;
  /** Entries in force after the write. */
  entryCount: number;
  approved: boolean;
  /** The replaced document had been edited outside allowlist-sync. */
  drift?: boolean;
  /** Versions deleted to make room, other writers' versions seen between base and ours, statements removed by hand. */
  notes: string[];
  /** Set when this write is a pause (break-glass): it is told as `paused`, naming who and why. */
  pause?: { by: string; reason: string };
  /** Set when this write restores the allowlist after a pause: the `updated` alert says so. */
  restored?: { pausedBy: string; pausedAt: string; reason: string; resumedBy: string; resumedAt: string };
}

/** The largest allowlist in force within the window: what the removal guard also measures against. */
export interface BaselineRecord {
  /** Canonical entries. */
  entries: string[];
  /** The version (or store revision) that holds it; never pruned while it is the baseline. */
  versionId?: string;
  /** When it became the baseline (ISO 8601). */
  since: string;
  /** When a smaller allowlist replaced it in force (ISO 8601); the window runs from then. */
  supersededAt?: string;
}

/** A refused plan, so an approval is bound to the refusal it answers. */
export interface RefusalRecord {
  planId: string;
  /** When this plan was first refused (ISO 8601); an approval expires some hours after. */
  at: string;
  /** Set once an approval of it was applied: it cannot be used again. */
  approvedAt?: string;
}

/** Who may write the target now: taken before a write, expiring with its holder's deadline. */
export interface Lease {
  holder: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** ISO 8601. */
  acquiredAt: string;
}

/** A pause (break-glass): the deny is lifted and scheduled runs write nothing until it is resumed. */
export interface PauseRecord {
  /** Who paused (`ana@example.com`, an invoker's identity, or `unknown`). */
  by: string;
  /** Why, as given (bounded when recorded; clipped again in alerts). */
  reason: string;
  /** When the pause was recorded (ISO 8601). */
  at: string;
  /** The version (managed policy) or kept revision (`r4`) the lifted document replaced, once written. */
  replacedVersionId?: string;
  /** The allowlist in force before the pause (canonical): what the restore after it is measured against. */
  entries?: string[];
}

/** A pause lifted by `resume` whose allowlist is not yet restored: cleared by the write that restores it. */
export interface ResumeRecord {
  /** The pause it ends. */
  pause: PauseRecord;
  by: string;
  /** When it was resumed (ISO 8601). */
  at: string;
}

/** What the last run did, for `status`. */
export interface LastRun {
  status: string;
  /** When that run ended (ISO 8601); every run that is not a dry run records itself. */
  at: string;
  /** Since when the runs have ended this way (same status and plan), when earlier than `at`. */
  since?: string;
  planId?: string;
  /** The version in force after the run (managed policy), when known. */
  versionId?: string;
  writer: string;
}

/** Everything kept for one target (one document). */
export interface TargetRecord {
  alert?: AlertState;
  outbox?: Announcement[];
  baseline?: BaselineRecord;
  /** Recent refusals (newest first), which approvals answer. */
  refusals?: RefusalRecord[];
  lease?: Lease;
  pause?: PauseRecord;
  /** Resumed, the allowlist not yet restored (the restore's alert says it ends a pause). */
  resumed?: ResumeRecord;
  lastRun?: LastRun;
  /** Unversioned targets (trust, inline, file): the number of the last revision recorded in the history. */
  revision?: number;
  /**
   * Managed policies with attachTo*: listed principals the policy was found missing from and not attached to again
   * (left detached by `reattach: false` or a dry run, or no longer existing), each alerted once.
   */
  attachments?: AttachmentsRecord;
  /** A fleet's own record: its accounts left out because no stack instance of theirs is CURRENT, each told once per status. */
  skipped?: Record<string, SkippedAccount>;
}

/** A fleet account not synced because its stack instance is not CURRENT (a StackSet operation under way, or failed). */
export interface SkippedAccount {
  /** Its instances' region and status as told, e.g. `eu-west-1 OUTDATED (FAILED)`: a different one is told again. */
  status: string;
  /** Since when it is skipped (ISO 8601). */
  since: string;
}

/** What the attachment check of a managed policy remembers (attachTo*). */
export interface AttachmentsRecord {
  /** Listed principals found without the policy and not attached again, each alerted once. */
  missing?: Record<string, MissingAttachment>;
  /** The last full check (ListEntitiesForPolicy), ISO 8601: between full checks, GetPolicy's AttachmentCount stands in. */
  checkedAt?: string;
  /** The policy's attachments (every role, user and group) after that check: a different AttachmentCount means look again. */
  attachmentCount?: number;
}

/** A principal the policy must be attached to and is not. */
export interface MissingAttachment {
  /** Since when (ISO 8601). */
  since: string;
  /** The principal does not exist (attaching failed with NoSuchEntity): tried again once a day, not every run. */
  gone: boolean;
  /** The last attempt to attach (ISO 8601), for a principal that is gone. */
  triedAt?: string;
}

/** A field set to `null` is removed. */
export type TargetPatch = { [K in keyof TargetRecord]?: TargetRecord[K] | null };

/** One replaced document of an unversioned target (trust policy, inline policy, file): what rollback restores. */
export interface HistoryRecord {
  /** `r7`: the revision number, in order of recording. */
  revision: string;
  /** When it stopped being in force (ISO 8601). */
  replacedAt: string;
  /** The plan that replaced it, and who wrote that. */
  replacedBy: string;
  writer: string;
  /** The document as it was (plain JSON). */
  document: string;
}

/** The answer of a lease request: taken (with the record as it stands now), or held by someone else. */
export type LeaseOutcome = { ok: true; lease: Lease; record: TargetRecord } | { ok: false; holder: Lease };

/**
 * Port: where target records live (a DynamoDB table, or a JSON file beside a local target). Every method is one
 * atomic step; `key` is the target's one-writer document key.
 */
export interface StateStore {
  /** Human description for messages, e.g. `DynamoDB table allowlist-sync-state` or `file .policy.json.state.json`. */
  readonly description: string;
  load(key: string): Promise<TargetRecord>;
  /**
   * Applies the patch. With `leaseHolder`, only while that holder has the lease: false when it has not (nothing
   * was changed), so a writer whose lease expired cannot clear someone else's announcement.
   */
  update(key: string, patch: TargetPatch, options?: { leaseHolder?: string }): Promise<boolean>;
  /** Takes the lease unless someone else holds an unexpired one. */
  acquireLease(key: string, holder: string, expiresAt: number, now: number): Promise<LeaseOutcome>;
  /** Gives the lease back (only if still ours). */
  releaseLease(key: string, holder: string): Promise<void>;
  /** Records a replaced document, keeping the newest `keep` and any revision in `protect`. */
  addHistory(key: string, record: HistoryRecord, keep: number, protect: readonly string[]): Promise<void>;
  /** The recorded documents, newest first. */
  history(key: string): Promise<HistoryRecord[]>;
}
