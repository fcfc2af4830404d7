/** The policy as it stands now in the target. */
export interface CurrentPolicy {
  /** The document text (possibly URL-encoded), or undefined when the target holds no policy yet. */
  document?: string;
  /** The target's version id of that document (IAM `v3`), if it has versions. */
  versionId?: string;
  /** The target's own size budget for this document, when it is not the managed policy's (e.g. an inline policy's share of the role's 10,240). */
  sizeLimit?: number;
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
