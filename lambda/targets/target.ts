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
}

/** What a write did. */
export interface WriteResult {
  /** The version id now in force (IAM `v4`), if the target has versions. */
  versionId?: string;
  /** The version id in force before the write. */
  previousVersionId?: string;
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
  /** Human name, e.g. the policy ARN or the file path. */
  readonly name: string;
  /** Reads the current document; throws a SyncError when it cannot. */
  read(): Promise<CurrentPolicy>;
  /** Writes a new document atomically; throws SyncError on failure, TargetRefusedError on refusal. */
  write(request: WriteRequest): Promise<WriteResult>;
}
