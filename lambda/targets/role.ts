import { SyncError, describeError } from '../errors';
import { iamFailure, isAwsError } from './iam-client';

// The errors the role targets (trust policy, inline policy) share.

/**
 * Turns an IAM SDK error about a role into a SyncError: a missing role is `role-not-found` (iamFailure would call
 * it a missing managed policy), a denial names the role; everything else is iamFailure's. SyncErrors pass through.
 */
export function roleFailure(err: unknown, action: string, roleName: string): SyncError {
  if (err instanceof SyncError) return err;
  if (isAwsError(err, 'NoSuchEntity')) {
    return new SyncError(
      'role-not-found',
      `The IAM role ${roleName} does not exist in this account (${action}: ${describeError(err)}).`,
      'Check the roleName allowlist-sync is configured with (ALLOWLIST_TARGETS), and the account it runs in.',
      { cause: err },
    );
  }
  if (isAwsError(err, 'AccessDenied')) {
    return new SyncError(
      'iam-access-denied',
      `IAM denied ${action} on role ${roleName}: ${describeError(err)}.`,
      `Allow ${action} on this role for the role running allowlist-sync (check SCPs and permission boundaries too).`,
      { cause: err },
    );
  }
  return iamFailure(err, action, `role ${roleName}`);
}

/** The error for a role document that changed between the read a plan was based on and the write. */
export function concurrentRoleWriter(message: string): SyncError {
  return new SyncError(
    'concurrent-writer',
    message,
    'Someone or something else changed it while allowlist-sync was working on it. Nothing was overwritten; find out who (CloudTrail) and run again, which plans against the new document.',
  );
}

/** The error for a write that no read of this target came before: there is nothing to check a concurrent writer against. */
export function writeWithoutRead(target: string): SyncError {
  return new SyncError(
    'write-without-read',
    `${target} was asked to write a document without having read the current one first.`,
    'Nothing was written. This is a bug in the caller: plans must be computed from this target\'s read().',
  );
}
