import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { Alerter, MemoryAlertStateStore, snsPublisher } from './alerts';
import { HandlerResult, SyncRuntime, buildRuntime, parseEvent, runSync } from './run';

// Built once per container: warm invocations reuse clients, the OCM token and keep-alive sockets.
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? process.env.ALLOWLIST_NAME ?? 'allowlist-sync' });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'AllowlistSync',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? process.env.ALLOWLIST_NAME ?? 'allowlist-sync',
});
let runtime: SyncRuntime | undefined;

/** Bad configuration: tell the topic if there is one (at most once per container), then fail. */
async function alertConfigFailure(err: unknown): Promise<void> {
  const topic = process.env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return;
  const alerter = new Alerter({
    context: { allowlist: process.env.ALLOWLIST_NAME ?? 'allowlist-sync', policyArn: process.env.POLICY_ARN ?? '(POLICY_ARN unset)' },
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
