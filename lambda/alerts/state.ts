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

/**
 * Keeps the state in tags on the managed policy itself: it survives cold starts and redeploys, needs no
 * table, and shows up next to the policy. Needs iam:ListPolicyTags, iam:TagPolicy and iam:UntagPolicy on it.
 */
export function iamTagAlertStateStore(iam: IAMClient, policyArn: string, options: { prefetched?: () => Record<string, string> | undefined } = {}): AlertStateStore {
  return {
    async load(): Promise<AlertState | undefined> {
      const tags = new Map(Object.entries(options.prefetched?.() ?? (await listPolicyTags(iam, policyArn))));
      const status = tags.get(ALERT_STATE_TAGS.status);
      // An unknown value (a hand edit) counts as no state: alerting again beats staying silent.
      if (status === undefined || !STATUSES.includes(status)) return undefined;
      const key = tags.get(ALERT_STATE_TAGS.key);
      return { status: status as AlertStatus, ...(key ? { key } : {}), at: tags.get(ALERT_STATE_TAGS.at) ?? '' };
    },

    async save(state: AlertState): Promise<void> {
      const tags = [
        { Key: ALERT_STATE_TAGS.status, Value: state.status },
        { Key: ALERT_STATE_TAGS.at, Value: toTagValue(state.at) },
        ...(state.key ? [{ Key: ALERT_STATE_TAGS.key, Value: toTagValue(state.key) }] : []),
      ];
      try {
        await iam.send(new TagPolicyCommand({ PolicyArn: policyArn, Tags: tags }));
      } catch (err) {
        throw iamFailure(err, 'iam:TagPolicy', policyArn);
      }
      if (!state.key) {
        try {
          await iam.send(new UntagPolicyCommand({ PolicyArn: policyArn, TagKeys: [ALERT_STATE_TAGS.key] }));
        } catch (err) {
          throw iamFailure(err, 'iam:UntagPolicy', policyArn);
        }
      }
    },
  };
}
