import { IAMClient, ListRoleTagsCommand, Tag, TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { ALERT_STATE_TAGS, AlertStateStore, tagAlertStateStore } from '../alerts/state';
import { SyncError, describeError } from '../errors';
import { iamFailure, isAwsError, tagRecord } from './iam-client';

// IAM role plumbing shared by the role targets (trust policy, inline policy) and the alert state on role tags.

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

/** Every tag of a role (ListRoleTags, all pages). */
export async function listRoleTags(iam: IAMClient, roleName: string): Promise<Record<string, string>> {
  const tags: Tag[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await iam.send(new ListRoleTagsCommand({ RoleName: roleName, Marker: marker }));
      tags.push(...(page.Tags ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  } catch (err) {
    throw roleFailure(err, 'iam:ListRoleTags', roleName);
  }
  return tagRecord(tags);
}

/** IAM tag keys: at most 128 of letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`. */
const TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/iu;

/**
 * The role tags holding one target's alert state: `allowlist-sync:<targetName>:alert-state`, `...:alert-key`,
 * `...:alert-at`. Namespaced by target because one role can carry several targets (its trust policy and
 * inline policies), each alerting on its own.
 */
export function roleAlertStateTags(targetName: string): { readonly status: string; readonly key: string; readonly at: string } {
  const namespaced = (tag: string) => tag.replace(/^allowlist-sync:/, `allowlist-sync:${targetName}:`);
  const tags = { status: namespaced(ALERT_STATE_TAGS.status), key: namespaced(ALERT_STATE_TAGS.key), at: namespaced(ALERT_STATE_TAGS.at) };
  for (const key of Object.values(tags)) {
    if (!TAG_KEY.test(key)) {
      throw new SyncError(
        'config',
        `The target name ${JSON.stringify(targetName)} cannot be part of an IAM tag key (${JSON.stringify(key)}): at most 128 of letters, digits, spaces and _.:/=+-@.`,
        'Give the target a shorter name made of letters, digits, dots, dashes or underscores.',
      );
    }
  }
  return tags;
}

/** Options of `roleTagAlertStateStore`. */
export interface RoleTagAlertStateStoreOptions {
  /** The role's tags as a read of the target already saw them (GetRole carries them), to save a ListRoleTags call. */
  prefetched?: () => Record<string, string> | undefined;
}

/**
 * Keeps a target's alert state in tags on the role it lives in, like `iamTagAlertStateStore` does on a managed
 * policy. Needs iam:ListRoleTags (unless prefetched), iam:TagRole and iam:UntagRole on the role. A role holds at
 * most 50 tags; each target takes up to 3.
 */
export function roleTagAlertStateStore(iam: IAMClient, roleName: string, targetName: string, options: RoleTagAlertStateStoreOptions = {}): AlertStateStore {
  return tagAlertStateStore(
    roleAlertStateTags(targetName),
    {
      list: () => listRoleTags(iam, roleName),
      tag: async (Tags) => {
        try {
          await iam.send(new TagRoleCommand({ RoleName: roleName, Tags }));
        } catch (err) {
          throw roleFailure(err, 'iam:TagRole', roleName);
        }
      },
      untag: async (TagKeys) => {
        try {
          await iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys }));
        } catch (err) {
          throw roleFailure(err, 'iam:UntagRole', roleName);
        }
      },
    },
    options.prefetched,
  );
}
