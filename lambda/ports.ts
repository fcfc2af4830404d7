// The interfaces every layer shares: the ground floor, with the pure domain (lambda/allowlist). It imports only
// domain types and the state record's types; everything else imports it, never the other way round.

import type { Refusal } from './allowlist/guards';
import type { Plan } from './allowlist/plan';
import type { AlertState, Announcement, Lease, ResumeRecord, TargetRecord } from './state/types';

export type * from './state/types';

/** Environment variables, as `process.env` gives them. */
export type Env = Record<string, string | undefined>;

/** The little a sync needs of a logger (Powertools Logger fits). */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A logger that can also report errors (Powertools Logger fits). */
export interface RunLog extends Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The units the run reports metrics in (a subset of Powertools' MetricUnit, by value). */
export type MetricUnitName = 'Count' | 'Milliseconds';

/** The little the run needs of Powertools Metrics. */
export interface MetricsSink {
  addMetric(name: string, unit: MetricUnitName, value: number): void;
}

// --- Targets: where a policy document lives ---------------------------------------------------------------

/** The policy as it stands now in the target. */
export interface CurrentPolicy {
  /** The document text (possibly URL-encoded), or undefined when the target holds no policy yet. */
  document?: string;
  /** The target's version id of that document (IAM `v3`), if it has versions. */
  versionId?: string;
  /** The target's own size budget for this document, when it is not the managed policy's (e.g. an inline policy's share of the role's 10,240). */
  sizeLimit?: number;
  /** A managed policy: IAM's AttachmentCount, as GetPolicy gave it with the default version (the cheap attachment check). */
  attachmentCount?: number;
}

/** What to write: a fully rendered document from a plan. */
export interface WriteRequest {
  /** The compact JSON policy document. */
  document: string;
  /** The plan that produced it, for audit trails. */
  planId: string;
  /** The version the plan was computed against; a target may use it to detect a concurrent writer. */
  baseVersionId?: string;
  /** Versions that must survive any pruning (the removal guard's baseline, versions an owed announcement names). */
  protect?: readonly string[];
}

/** What a write did. */
export interface WriteResult {
  /** The version id now in force (IAM `v4`), if the target has versions. */
  versionId?: string;
  /** The version id in force before the write. */
  previousVersionId?: string;
  /** Unversioned targets: the document replaced (decoded), for the state store's history; undefined when there was none. */
  previousDocument?: string;
  /** Versions deleted to make room (named in the announcement). */
  deleted?: string[];
  /** Versions or changes by someone else seen around the write (the run reports `concurrent-writer`, never silently). */
  otherWriters?: string[];
}

/**
 * Thrown by a target that refuses a document for a reason the operator must fix (e.g. IAM's size
 * limit): the sync reports the plan as refused, not as a crash. Nothing was written.
 */
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/** Port: where the policy lives (a file, an IAM managed policy, a trust policy...). */
export interface Target {
  /** Human name, e.g. `iam:<policy ARN>` or `file:<path>`. */
  readonly name: string;
  /**
   * The one-writer key of the document (a policy ARN, `trust:ROLE`, `inline:ROLE/POLICY`, `file:/abs/path`):
   * two targets with the same key write the same document; the state store keeps one record per key.
   */
  readonly key: string;
  /** True when the target keeps versions itself (a managed policy); else the state store keeps its history. */
  readonly versioned: boolean;
  /** Reads the current document; throws a SyncError when it cannot. */
  read(): Promise<CurrentPolicy>;
  /** Writes a new document atomically; throws SyncError on failure, TargetRefusedError on refusal. */
  write(request: WriteRequest): Promise<WriteResult>;
}

// --- Sources: where allowlist entries come from --------------------------------------------------------------

/** One allowlist entry exactly as a source gave it, before validation. */
export interface RawEntry {
  /** The text as received, e.g. `10.0.0.1`, `2001:DB8::/32`. */
  value: string;
  /** Where it came from, for error messages, e.g. `ocm`, `file:ips.json`, `static:EXTRA_CIDRS`. */
  source: string;
}

/** What one source returned. */
export interface SourceResult {
  /** The source's name, as in `RawEntry.source`. */
  source: string;
  /** Every entry to allow, unvalidated. */
  entries: RawEntry[];
  /** Entries the source deliberately left out (e.g. OCM items with `enabled: false`). */
  skipped: number;
}

/** How a run asks for entries. */
export interface FetchOptions {
  /** 2 for the second, fresh read of a run whose plan removes entries. */
  read?: number;
  /** Epoch ms: the source must answer (or fail) by then, leaving the run time to write and announce. */
  deadline?: number;
}

/** Port: anything that yields allowlist entries (OCM, a file, a static list). */
export interface Source {
  /** Short name used in messages and results. */
  readonly name: string;
  /**
   * Fetches the entries; throws a SyncError when the source cannot be read. `read` 2 asks for a second, fresh
   * read in the same run (a plan that removes entries reads its sources twice and removes only what both lack).
   */
  fetch(options?: FetchOptions): Promise<SourceResult>;
}

// --- What one sync run did, and who is told ---------------------------------------------------------------

/** What one run did. `changes` means a dry run found changes; `updated` means they were written. */
export interface SyncResult {
  status: 'unchanged' | 'changes' | 'updated' | 'refused' | 'busy' | 'paused';
  plan: Plan;
  target: string;
  /** Per source: how many entries it gave and how many it deliberately left out. */
  sources: { source: string; entries: number; skipped: number }[];
  warnings: string[];
  /** True when a refused plan was applied because its id was approved. */
  approved: boolean;
  versionId?: string;
  previousVersionId?: string;
  /** Versions deleted to make room. */
  deleted?: string[];
  /** Another writer seen around the write: named, and the run reports it (`concurrent-writer`). */
  otherWriters?: string[];
  /** `busy`: who holds the lease. `paused`: who paused, and why. */
  holder?: Lease;
  pausedBy?: { by: string; reason: string; at: string };
  /** Owed announcements of earlier writes this run published first. */
  announcedLate?: number;
  /** `refused` because a saved plan (`expectPlanId`) is not the plan computed now: both ids. Not alerted, not counted as a refusal. */
  stale?: { expected: string; actual: string };
  /** A managed policy's AttachmentCount as this run read it (undefined for other kinds). */
  attachmentCount?: number;
  /** The target's record as this run loaded it (for the alerter: no second read). */
  record?: TargetRecord;
  /** `updated` whose announcement could not be published (it stays owed): the run still fails, after counting the write. */
  unannounced?: Error;
}

/** How an announcement is being delivered: right after its write, or by a later run. */
export interface AnnounceOptions {
  /** Set when a later run delivers it: what is in force now, as that run found it. */
  late?: { inForce: string; written: boolean };
  /** The alert state before, to say what a recovery recovers from. */
  previous?: AlertState;
}

/** What can publish an announcement (the Alerter). */
export interface Announcer {
  readonly enabled: boolean;
  announce(announcement: Announcement, options?: AnnounceOptions): Promise<void>;
  /** Tells that a pause is over (`restoreNow`: a sync follows at once). */
  resumed?(resumed: ResumeRecord, options: { restoreNow: boolean }): Promise<void>;
}

/** A principal a managed policy is attached to: its kind and name. */
export interface AttachedPrincipal {
  kind: 'role' | 'user' | 'group';
  name: string;
}

/** What attaching a policy again came to: attached, the principal no longer exists, or an error. */
export type AttachOutcome = { ok: true } | { ok: false; gone: true } | { ok: false; gone: false; error: Error };

/** Port: a managed policy's attachments, and attaching it again (built per target by the composition root). */
export interface AttachmentOps {
  /** Every principal the policy is attached to now. */
  list(): Promise<AttachedPrincipal[]>;
  /** Attaches the policy to one principal. */
  attach(principal: AttachedPrincipal): Promise<AttachOutcome>;
}

// --- The real AWS policy engines: a second opinion on a document the proof accepted ------------------------

/** How the optional AWS policy checks run: where the endpoint has them (`auto`), never (`off`), or always (`required`: unsupported fails the run). */
export type PolicyChecksMode = 'auto' | 'off' | 'required';

/** What the engines are told a document is: an identity policy (managed, inline) or a role's trust policy. */
export type PolicyType = 'identity' | 'trust';

/** A rendered document the proof accepted, about to be written (or shown as such by a dry run). */
export interface PolicyCheckRequest {
  /** The target's name, for log lines. */
  target: string;
  policyType: PolicyType;
  /** The compact JSON document of the plan. */
  document: string;
  /** The plan's canonical entries, which the probes are sampled from. */
  entries: readonly string[];
  /** The proof's action and what it promises for AWS services calling on the caller's behalf. */
  proof: { action: string; viaAwsServiceExemption: boolean };
  /**
   * The index of the tool's own statement when the document holds others it does not own (a trust policy's Allows):
   * findings located only on those others do not refuse the write. Unset: the tool owns the whole document.
   */
  ownStatement?: number;
}

/**
 * Port: asks the real policy engines (IAM's simulator, Access Analyzer) about a document. Resolves to a refusal
 * (never approvable) when an engine disagrees with the proof or finds an error; undefined when none does or a check
 * is skipped. Throws a SyncError when a check that must run could not (the write does not happen either way).
 */
export interface PolicyVerifier {
  verify(request: PolicyCheckRequest): Promise<Refusal | undefined>;
}
