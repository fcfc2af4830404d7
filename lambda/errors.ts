/**
 * An error meant for a person: what failed, with which input, and what to do next.
 * `code` is stable for programs (alerts, metrics, tests); the message is for humans.
 */
export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** What the operator should do about it, if we know. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(hint ? `${message} ${hint}` : message, options);
    this.name = 'SyncError';
  }
}

/** Renders any thrown value as one line, without stack traces. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
