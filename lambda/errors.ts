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
    options?: { cause?: unknown; changed?: readonly string[] },
  ) {
    super(hint ? `${message} ${hint}` : message, options);
    this.name = 'SyncError';
    this.changed = [...(options?.changed ?? [])];
  }

  /**
   * What had already been changed when this failed (e.g. "deleted version v2 to make room"), so no alert says
   * "nothing was written" after a write. Empty when nothing was.
   */
  readonly changed: string[];

  /** This error, with `changes` added to what it says was changed. */
  withChanges(changes: readonly string[]): SyncError {
    if (changes.length === 0) return this;
    const copy = new SyncError(this.code, this.hint && this.message.endsWith(` ${this.hint}`) ? this.message.slice(0, -this.hint.length - 1) : this.message, this.hint, {
      cause: this.cause,
      changed: [...this.changed, ...changes],
    });
    return copy;
  }
}

/** Renders any thrown value as one line, without stack traces. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
