import { IAMClient, IAMClientConfig, Tag } from '@aws-sdk/client-iam';
import { SyncError, describeError } from '../errors';

/** IAM is a global service; its API lives in us-east-1 for the `aws` partition. */
const GLOBAL_REGION = 'us-east-1';

/**
 * Resolves the region the SDK would choose on its own (AWS_REGION, the shared config profile...), falling back
 * to us-east-1 only when none is configured. Resolving through the SDK keeps the partition right: a profile in
 * GovCloud or China must not be sent to the commercial endpoint just because AWS_REGION is unset.
 */
function regionWithGlobalFallback(): () => Promise<string> {
  let resolved: Promise<string> | undefined;
  return () =>
    (resolved ??= (async () => {
      const probe = new IAMClient({});
      try {
        return (await probe.config.region()) || GLOBAL_REGION;
      } catch {
        return GLOBAL_REGION;
      } finally {
        probe.destroy();
      }
    })());
}

/**
 * An IAM client configured for a job that makes a handful of control-plane calls per run.
 *
 * Retries: IAM's API rate limit is shared by everything in the account (CloudFormation, Terraform, people), so
 * throttling is likely exactly when others are busy. `adaptive` mode backs off and also rate-limits this client
 * after a throttle instead of hammering IAM; 6 attempts (the SDK default is 3) ride out a burst of several
 * seconds, well inside the function's timeout. AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, when set, win, and so do
 * `overrides`. The endpoint is never set here, so AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_IAM keep working.
 */
export function createIamClient(overrides: IAMClientConfig = {}): IAMClient {
  const config: IAMClientConfig = {};
  if (!process.env.AWS_RETRY_MODE) config.retryMode = 'adaptive';
  if (!process.env.AWS_MAX_ATTEMPTS) config.maxAttempts = 6;
  if (!process.env.AWS_REGION) config.region = regionWithGlobalFallback();
  return new IAMClient({ ...config, ...overrides });
}

/** The error code of an SDK error: the modelled class name without `Exception`, or the wire code. */
export function awsErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { name, Code } = err as { name?: unknown; Code?: unknown };
  const code = typeof Code === 'string' && Code ? Code : typeof name === 'string' ? name : undefined;
  return code?.replace(/Exception$/, '');
}

/** True when `err` is the IAM error `code` (e.g. `NoSuchEntity`, `LimitExceeded`), modelled or not. */
export function isAwsError(err: unknown, ...codes: string[]): boolean {
  const code = awsErrorCode(err);
  return code !== undefined && codes.includes(code);
}

const CREDENTIAL_ERRORS = ['CredentialsProviderError', 'ExpiredToken', 'InvalidClientTokenId', 'UnrecognizedClient', 'SignatureDoesNotMatch'];
const THROTTLING_ERRORS = ['Throttling', 'RequestLimitExceeded', 'TooManyRequests'];

/**
 * Turns an IAM SDK error into a SyncError naming the action, the policy and what to do. SyncErrors pass through.
 * Only the error's message is kept: SDK errors carry request and response objects that have no place in alerts.
 */
export function iamFailure(err: unknown, action: string, policyArn: string): SyncError {
  if (err instanceof SyncError) return err;
  const code = awsErrorCode(err) ?? 'Error';
  const detail = describeError(err);
  if (code.startsWith('AccessDenied')) {
    return new SyncError(
      'iam-access-denied',
      `IAM denied ${action} on ${policyArn}: ${detail}.`,
      `Allow ${action} on this policy for the role running allowlist-sync (check SCPs and permission boundaries too).`,
      { cause: err },
    );
  }
  if (code === 'NoSuchEntity') {
    return new SyncError(
      'policy-not-found',
      `The IAM managed policy ${policyArn} does not exist (${action}: ${detail}).`,
      'Check the policy ARN allowlist-sync is configured with (account id, path, name), or deploy the stack that creates the policy.',
      { cause: err },
    );
  }
  if (THROTTLING_ERRORS.includes(code)) {
    return new SyncError(
      'iam-throttled',
      `IAM kept throttling ${action} on ${policyArn} after several retries: ${detail}.`,
      'The run stopped there; the next run tries again. If it persists, look for other tools flooding the IAM API in this account.',
      { cause: err },
    );
  }
  if (CREDENTIAL_ERRORS.includes(code)) {
    return new SyncError(
      'iam-credentials',
      `${action} on ${policyArn} failed: the AWS credentials were refused or missing (${code}: ${detail}).`,
      'Check the credentials in use (for the CLI: AWS_PROFILE, or run aws sso login).',
      { cause: err },
    );
  }
  if (code === 'ServiceFailure') {
    return new SyncError('iam-unavailable', `IAM failed internally on ${action} for ${policyArn}: ${detail}.`, 'The run stopped there; the next run tries again.', { cause: err });
  }
  return new SyncError('iam-error', `${action} on ${policyArn} failed: ${code}: ${detail}.`, undefined, { cause: err });
}

/** Tags as a record; a tag without a value has the empty string. */
export function tagRecord(tags: readonly Tag[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  return record;
}
