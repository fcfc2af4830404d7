import { IAMClient, TagPolicyCommand, UntagPolicyCommand } from '@aws-sdk/client-iam';
import { listPolicyTags } from '../targets/managed-policy';
import { iamFailure } from '../targets/iam-client';

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

/** Where the alert state is kept. */
export interface AlertStateStore {
  /** The saved state, or undefined when none was ever saved. */
  load(): Promise<AlertState | undefined>;
  save(state: AlertState): Promise<void>;
}

/** The policy tags holding the alert state, visible to operators in the console and `allowlist-sync status`. */
export const ALERT_STATE_TAGS = {
  status: 'allowlist-sync:alert-state',
  key: 'allowlist-sync:alert-key',
  at: 'allowlist-sync:alert-at',
} as const;

const STATUSES: readonly string[] = ['ok', 'refused', 'failed'];

/** IAM tag values: at most 256 of letters, digits, spaces and `_ . : / = + - @`. */
export function toTagValue(text: string): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

/** Keeps the state in memory only: for tests, and the CLI where no state is kept between invocations. */
export class MemoryAlertStateStore implements AlertStateStore {
  constructor(public state?: AlertState) {}

  async load(): Promise<AlertState | undefined> {
    return this.state ? { ...this.state } : undefined;
  }

  async save(state: AlertState): Promise<void> {
    this.state = { ...state };
  }
}

/** The tag names of one alert state. */
export interface AlertStateTagNames {
  readonly status: string;
  readonly key: string;
  readonly at: string;
}

/** How a tagged IAM resource's tags are read and written. */
export interface TagIo {
  list(): Promise<Record<string, string>>;
  tag(tags: { Key: string; Value: string }[]): Promise<void>;
  untag(keys: string[]): Promise<void>;
}

/**
 * Keeps the state in tags on an IAM resource (a managed policy, a role): it survives cold starts and
 * redeploys, needs no table, and shows up next to the resource. `prefetched` gives the tags a read of the
 * target already saw, to save the list call.
 */
export function tagAlertStateStore(names: AlertStateTagNames, io: TagIo, prefetched?: () => Record<string, string> | undefined): AlertStateStore {
  return {
    async load(): Promise<AlertState | undefined> {
      const tags = new Map(Object.entries(prefetched?.() ?? (await io.list())));
      const status = tags.get(names.status);
      // An unknown value (a hand edit) counts as no state: alerting again beats staying silent.
      if (status === undefined || !STATUSES.includes(status)) return undefined;
      const key = tags.get(names.key);
      return { status: status as AlertStatus, ...(key ? { key } : {}), at: tags.get(names.at) ?? '' };
    },

    async save(state: AlertState): Promise<void> {
      await io.tag([
        { Key: names.status, Value: state.status },
        { Key: names.at, Value: toTagValue(state.at) },
        ...(state.key ? [{ Key: names.key, Value: toTagValue(state.key) }] : []),
      ]);
      if (!state.key) await io.untag([names.key]);
    },
  };
}

/**
 * Keeps the state in tags on the managed policy itself. Needs iam:ListPolicyTags (unless prefetched),
 * iam:TagPolicy and iam:UntagPolicy on it.
 */
export function iamTagAlertStateStore(iam: IAMClient, policyArn: string, options: { prefetched?: () => Record<string, string> | undefined } = {}): AlertStateStore {
  return tagAlertStateStore(
    ALERT_STATE_TAGS,
    {
      list: () => listPolicyTags(iam, policyArn),
      tag: async (Tags) => {
        try {
          await iam.send(new TagPolicyCommand({ PolicyArn: policyArn, Tags }));
        } catch (err) {
          throw iamFailure(err, 'iam:TagPolicy', policyArn);
        }
      },
      untag: async (TagKeys) => {
        try {
          await iam.send(new UntagPolicyCommand({ PolicyArn: policyArn, TagKeys }));
        } catch (err) {
          throw iamFailure(err, 'iam:UntagPolicy', policyArn);
        }
      },
    },
    options.prefetched,
  );
}
