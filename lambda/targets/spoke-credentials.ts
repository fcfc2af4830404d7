import type { IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { SyncError, describeError } from '../errors';
import { awsErrorCode } from './iam-client';

// One account of a fleet is reached through a role the function assumes there (sts:AssumeRole). Its credentials
// are kept in the container until shortly before they expire, so a warm run assumes nothing and a cold one
// assumes once per account.

/** Temporary credentials of the spoke role. */
export interface SpokeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** Credentials are renewed this long before they expire (the SDK's own margin), so no call is signed with stale ones. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/** The session name every AssumeRole uses: what CloudTrail in the spoke account shows. */
export const SPOKE_SESSION_NAME = 'allowlist-sync';

/** What a spoke account's IAM access is built from. */
export interface SpokeAccessOptions {
  sts: () => STSClient;
  /** `arn:PARTITION:iam::ACCOUNT:role/NAME`. */
  roleArn: string;
  account: string;
  /** The account's IAM client, signed with these credentials. */
  iamWith: (credentials: SpokeCredentials) => IAMClient;
  /** Epoch ms now; tests move it. */
  now?: () => number;
  refreshBeforeMs?: number;
}

/** One spoke account's IAM client, through the role assumed there. */
export interface SpokeAccess {
  /** The IAM client of the account: credentials assumed now, or kept from earlier while fresh. */
  iam(): Promise<IAMClient>;
  /** Lets the client go (the account left the fleet). */
  close(): void;
}

/** The SDK's STS module, loaded on first use only (a deployment without a fleet never loads it). */
function stsModule(): typeof import('@aws-sdk/client-sts') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
}

/** An STS client for the function's region (AWS_REGION; AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_STS honoured by the SDK). */
export function createStsClient(): STSClient {
  return new (stsModule().STSClient)({});
}

/** What went wrong assuming the spoke role, said so an operator knows which account and what to check. */
function assumeFailure(err: unknown, roleArn: string, account: string): SyncError {
  const code = awsErrorCode(err) ?? 'Error';
  const detail = describeError(err);
  if (code.startsWith('AccessDenied')) {
    return new SyncError(
      'spoke-access-denied',
      `Account ${account}: the function could not assume ${roleArn} (sts:AssumeRole: ${detail}).`,
      `The role is missing or does not trust the function's role: check the spoke StackSet's instance in account ${account} (CURRENT?), and that no SCP denies sts:AssumeRole there.`,
      { cause: err },
    );
  }
  if (code === 'RegionDisabled') {
    return new SyncError('spoke-region-disabled', `Account ${account}: STS is not activated in this region for ${roleArn} (${detail}).`, 'Activate the STS regional endpoint in IAM account settings, or run the hub in a region where it is.', { cause: err });
  }
  return new SyncError('spoke-assume-failed', `Account ${account}: sts:AssumeRole on ${roleArn} failed: ${code}: ${detail}.`, 'The next run tries again.', { cause: err });
}

/**
 * The IAM access of one spoke account: AssumeRole on first use, the client kept while its credentials have more
 * than `refreshBeforeMs` left, then assumed again. Concurrent callers share one AssumeRole; a failed one is not kept
 * (the next call tries again). The credentials never leave this closure and the client it builds.
 */
export function spokeAccess(options: SpokeAccessOptions): SpokeAccess {
  const now = options.now ?? (() => Date.now());
  // Credentials issued with less than twice the margin to live are kept for half their life instead: never an
  // AssumeRole per call.
  let current: { client: IAMClient; refreshAt: number } | undefined;
  let pending: Promise<IAMClient> | undefined;

  const assume = async (): Promise<IAMClient> => {
    const { AssumeRoleCommand } = stsModule();
    let answer;
    try {
      answer = await options.sts().send(new AssumeRoleCommand({ RoleArn: options.roleArn, RoleSessionName: SPOKE_SESSION_NAME }));
    } catch (err) {
      throw assumeFailure(err, options.roleArn, options.account);
    }
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date) || Number.isNaN(c.Expiration.getTime())) {
      throw new SyncError('spoke-assume-failed', `Account ${options.account}: sts:AssumeRole on ${options.roleArn} returned no usable credentials.`, 'The next run tries again.');
    }
    const credentials: SpokeCredentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    current?.client.destroy();
    const expiresAt = c.Expiration.getTime();
    const margin = Math.min(options.refreshBeforeMs ?? REFRESH_BEFORE_MS, Math.max(0, (expiresAt - now()) / 2));
    current = { client: options.iamWith(credentials), refreshAt: expiresAt - margin };
    return current.client;
  };

  return {
    iam: () => {
      if (current && now() < current.refreshAt) return Promise.resolve(current.client);
      pending ??= assume().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    close: () => {
      current?.client.destroy();
      current = undefined;
    },
  };
}
