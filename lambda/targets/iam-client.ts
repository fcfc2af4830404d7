import { IAMClient, IAMClientConfig, RuntimeExtension, Tag } from '@aws-sdk/client-iam';
import { SyncError, describeError } from '../errors';

/** IAM is a global service; its API lives in us-east-1 for the `aws` partition. */
const GLOBAL_REGION = 'us-east-1';

/**
 * Resolves the region the SDK would choose on its own (AWS_REGION, the shared config profile...), falling back
 * to us-east-1 only when none is configured. Resolving through the SDK keeps the partition right: a profile in
 * GovCloud or China must not be sent to the commercial endpoint just because AWS_REGION is unset.
 */
export function regionWithGlobalFallback(): () => Promise<string> {
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

/** Which of the SDK's own settings the environment already makes (the configuration module reads them: loadSdkSettings). */
export interface IamClientEnvironment {
  retryModeSet: boolean;
  maxAttemptsSet: boolean;
  regionSet: boolean;
}

/**
 * An IAM client configured for a job that makes a handful of control-plane calls per run.
 *
 * Retries: IAM's API rate limit is shared by everything in the account (CloudFormation, Terraform, people), so
 * throttling is likely exactly when others are busy. `adaptive` mode backs off and also rate-limits this client
 * after a throttle instead of hammering IAM; 6 attempts (the SDK default is 3) ride out a burst of several
 * seconds, well inside the function's timeout. AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, when set, win, and so do
 * `overrides` (a `retryStrategy` there included). Whatever strategy results, IAM quota errors are never retried
 * (see {@link isIamQuotaError}). The endpoint is never set here, so AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_IAM keep
 * working.
 */
export function createIamClient(overrides: IAMClientConfig, sdk: IamClientEnvironment): IAMClient {
  const config: IAMClientConfig = {};
  if (!sdk.retryModeSet) config.retryMode = 'adaptive';
  if (!sdk.maxAttemptsSet) config.maxAttempts = 6;
  if (!sdk.regionSet) config.region = regionWithGlobalFallback();
  return new IAMClient({ ...config, ...overrides, extensions: [...(overrides.extensions ?? []), quotaErrorsNotRetried()] });
}

// IAM answers a quota with the same code as a rate limit, and the SDK's classifier (isThrottlingError in
// @smithy's service-error-classification) lists `LimitExceededException` among throttling errors by name.
// "Rate exceeded" is how AWS words a rate limit; IAM's own rate limit comes as `Throttling`.
const RATE_LIMIT_MESSAGE = /rate exceeded|throttl|too many requests/i;

/**
 * True for IAM's `LimitExceeded` reporting a quota (versions per policy, policy or trust policy size, tags, a
 * role's inline total...) rather than a request rate: another attempt cannot succeed until something changes,
 * and retrying it as throttling only costs about 20 s per call and slows the client down for nothing.
 */
export function isIamQuotaError(err: unknown): boolean {
  return isAwsError(err, 'LimitExceeded') && !RATE_LIMIT_MESSAGE.test(describeError(err));
}

type SdkRetryStrategy = NonNullable<IAMClientConfig['retryStrategy']>;
/** The token-based strategy interface the SDK's retry middleware drives (`RetryStrategyV2` in @smithy/types). */
type TokenRetryStrategy = Extract<SdkRetryStrategy, { refreshRetryTokenForRetry: unknown }>;
type RetryToken = Awaited<ReturnType<TokenRetryStrategy['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<TokenRetryStrategy['refreshRetryTokenForRetry']>[1];

/**
 * The SDK's own strategy (adaptive, standard or the caller's) with one refusal in front of it. The classification
 * cannot be fixed before the strategy sees the error: the retry middleware types it THROTTLING by its name, and
 * a `$retryable` mark only adds reasons to retry. Refusing happens before the adaptive rate limiter is told, so a
 * quota error does not slow the client's later calls either.
 */
class QuotaErrorsNotRetried implements TokenRetryStrategy {
  /** The wrapped strategy's mode (`adaptive`, `standard`), for whoever inspects the client's configuration. */
  readonly mode: string | undefined;

  constructor(private readonly inner: TokenRetryStrategy) {
    const mode = 'mode' in inner ? inner.mode : undefined;
    this.mode = typeof mode === 'string' ? mode : undefined;
  }

  acquireInitialRetryToken(retryTokenScope: string): Promise<RetryToken> {
    return this.inner.acquireInitialRetryToken(retryTokenScope);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    // A refusal is the strategy's way to say "no retry": the middleware then throws IAM's error itself.
    if (isIamQuotaError(errorInfo.error)) throw new Error(`Not retried: an IAM quota error (${describeError(errorInfo.error)}).`);
    return this.inner.refreshRetryTokenForRetry(token, errorInfo);
  }

  recordSuccess(token: RetryToken): void {
    this.inner.recordSuccess(token);
  }
}

/**
 * Wraps whichever strategy the SDK resolved from `retryMode` / `maxAttempts` / `retryStrategy` (configuration,
 * environment, profile), so their precedence stays the SDK's. A runtime extension sees the resolved configuration
 * and needs no import of the SDK's strategy classes, whose home has moved between SDK versions (the function runs
 * on the Lambda runtime's SDK). Resolved once per client, as the SDK itself does, so the adaptive rate limiter
 * spans calls. A legacy strategy without tokens (one with `retry()`) is passed through untouched.
 */
function quotaErrorsNotRetried(): RuntimeExtension {
  return {
    configure(configuration) {
      const resolve = configuration.retryStrategy();
      let wrapped: Promise<SdkRetryStrategy> | undefined;
      configuration.setRetryStrategy(
        () => (wrapped ??= resolve().then((strategy) => ('refreshRetryTokenForRetry' in strategy ? new QuotaErrorsNotRetried(strategy) : strategy))),
      );
    },
  };
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
  if (THROTTLING_ERRORS.includes(code) || (code === 'LimitExceeded' && !isIamQuotaError(err))) {
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

/**
 * A write call that failed without IAM saying no (a dropped connection, a timeout, a 5xx): it may have been
 * applied all the same. Said in the error, so no alert claims "nothing was written"; the next run reads what is in
 * force and announces a write it finds.
 */
export function uncertainWrite(err: unknown, action: string, resource: string): SyncError {
  return iamFailure(err, action, resource).withChanges([`${action} on ${resource} failed midway: it may have been applied; the next run reads what is in force and announces it if so`]);
}

/** Tags as a record; a tag without a value has the empty string. */
export function tagRecord(tags: readonly Tag[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  return record;
}
