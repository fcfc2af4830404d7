import type { AccessAnalyzerClient, AccessAnalyzerClientConfig } from '@aws-sdk/client-accessanalyzer';
import type { IamClientEnvironment } from './iam-client';
import { regionWithGlobalFallback } from './iam-client';

// Access Analyzer is asked once per write at most, and not at all where POLICY_CHECKS is off: its SDK module is
// loaded on first use, so a cold start that never validates a document does not pay for it.

/**
 * The SDK's Access Analyzer module, loaded on first call. A `require`, not `import()`: the bundle is CommonJS and the
 * SDK is the runtime's, found through NODE_PATH, which only `require` resolves.
 */
export function accessAnalyzerModule(): typeof import('@aws-sdk/client-accessanalyzer') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-accessanalyzer') as typeof import('@aws-sdk/client-accessanalyzer');
}

/**
 * An Access Analyzer client with the IAM client's settings (createIamClient): adaptive retries and 6 attempts unless
 * AWS_RETRY_MODE / AWS_MAX_ATTEMPTS say otherwise, the configured region or us-east-1. The endpoint is never set
 * here, so AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_ACCESSANALYZER (the SDK's own variables) keep working.
 */
export function createAccessAnalyzerClient(overrides: AccessAnalyzerClientConfig, sdk: IamClientEnvironment): AccessAnalyzerClient {
  const config: AccessAnalyzerClientConfig = {};
  if (!sdk.retryModeSet) config.retryMode = 'adaptive';
  if (!sdk.maxAttemptsSet) config.maxAttempts = 6;
  if (!sdk.regionSet) config.region = regionWithGlobalFallback();
  return new (accessAnalyzerModule().AccessAnalyzerClient)({ ...config, ...overrides });
}
