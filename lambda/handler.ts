import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { Alerter, MemoryAlertStateStore, snsPublisher } from './alerts';
import { DEFAULT_ALLOWLIST_NAME } from './config';
import { HandlerResult, SyncRuntime, buildRuntime, parseEvent, runSync } from './run';

// Built once per container: warm invocations reuse clients, the OCM token and keep-alive sockets.
// The service name is the metrics' `service` dimension, which the stack's alarms expect to be the allowlist's name.
const allowlistName = process.env.ALLOWLIST_NAME?.trim() || DEFAULT_ALLOWLIST_NAME;
const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || allowlistName;
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE?.trim() || 'AllowlistSync', serviceName });
let runtime: SyncRuntime | undefined;

/** Bad configuration: tell the topic if there is one (at most once per container), then fail. */
async function alertConfigFailure(err: unknown): Promise<void> {
  const topic = process.env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return;
  const alerter = new Alerter({
    context: { allowlist: allowlistName, policyArn: process.env.POLICY_ARN ?? '(POLICY_ARN unset)' },
    publisher: snsPublisher(new SNSClient({}), topic),
    store: configFailureState,
    log: logger,
  });
  await alerter.notify({ error: err }).catch((alertErr: unknown) => logger.error('could not alert the configuration error', { error: String(alertErr) }));
}
const configFailureState = new MemoryAlertStateStore();

/** The Lambda entry: env → config → sync → result. */
export const handler = async (event: unknown, context: Context): Promise<HandlerResult> => {
  logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    const request = parseEvent(event);
    if (!runtime) {
      try {
        runtime = buildRuntime(process.env, logger, metrics);
      } catch (err) {
        logger.error('configuration error', { error: err instanceof Error ? err.message : String(err) });
        await alertConfigFailure(err);
        throw err;
      }
    }
    return await runSync(request, runtime);
  } finally {
    metrics.publishStoredMetrics();
  }
};
