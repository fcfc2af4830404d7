import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { Alerter, AlertStateStore, MemoryAlertStateStore, iamTagAlertStateStore, snsPublisher } from './alerts';
import { DEFAULT_ALLOWLIST_NAME, isPolicyArn } from './config';
import { describeError } from './errors';
import { HandlerResult, MultiTargetResult, SyncRuntime, buildRuntimes, parseEvent, runAll, runSync } from './run';
import { createIamClient } from './targets/managed-policy';

// Built once per container: warm invocations reuse clients, the OCM token and keep-alive sockets.
// The service name is the metrics' `service` dimension, which the stack's alarms expect to be the allowlist's name.
const allowlistName = process.env.ALLOWLIST_NAME?.trim() || DEFAULT_ALLOWLIST_NAME;
const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || allowlistName;
const logger = new Logger({ serviceName });
const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE?.trim() || 'AllowlistSync';
const metrics = new Metrics({ namespace, serviceName });
// With several targets each has its own metrics, its name as the `service` dimension the stack's alarms watch.
const targetMetrics = new Map<string, Metrics>();
const multi = Boolean(process.env.ALLOWLIST_TARGETS?.trim());
function metricsFor(targetName: string): Metrics {
  if (!multi) return metrics;
  let m = targetMetrics.get(targetName);
  if (!m) targetMetrics.set(targetName, (m = new Metrics({ namespace, serviceName: targetName })));
  return m;
}
let runtimes: SyncRuntime[] | undefined;
let configFailureAlerter: Alerter | undefined;

/**
 * Where the alert state of a configuration failure is kept: in memory, so a container never repeats it, and
 * in the policy's tags when POLICY_ARN is usable, so cold starts do not repeat it either (a schedule sparser
 * than the container's lifetime would otherwise alert on every run) and its fix is told like any recovery.
 */
function configFailureStore(policyArn: string | undefined): AlertStateStore {
  const memory = new MemoryAlertStateStore();
  if (!policyArn || !isPolicyArn(policyArn)) return memory;
  const tags = iamTagAlertStateStore(createIamClient(), policyArn);
  return {
    load: async () => (await memory.load()) ?? tags.load(),
    save: async (state) => {
      await memory.save(state);
      await tags.save(state);
    },
  };
}

/** Bad configuration: tell the topic if there is one (once per failure, see configFailureStore), then fail. */
async function alertConfigFailure(err: unknown): Promise<void> {
  const topic = process.env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return;
  const policyArn = process.env.POLICY_ARN?.trim();
  configFailureAlerter ??= new Alerter({
    context: { allowlist: allowlistName, policyArn: policyArn || '(POLICY_ARN unset)' },
    publisher: snsPublisher(new SNSClient({}), topic),
    store: configFailureStore(policyArn),
    log: logger,
  });
  await configFailureAlerter.notify({ error: err }).catch((alertErr: unknown) => {
    metrics.addMetric('AlertPublishFailed', MetricUnit.Count, 1);
    logger.error('could not alert the configuration error', { error: describeError(alertErr) });
  });
}

/** The Lambda entry: env → config → sync → result. */
export const handler = async (event: unknown, context: Context): Promise<HandlerResult | MultiTargetResult> => {
  logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    const request = parseEvent(event);
    if (!runtimes) {
      try {
        runtimes = buildRuntimes(process.env, logger, metricsFor);
      } catch (err) {
        logger.error('configuration error', { error: err instanceof Error ? err.message : String(err) });
        await alertConfigFailure(err);
        throw err;
      }
    }
    // The single-target configuration keeps its original result shape.
    return multi ? await runAll(request, runtimes) : await runSync(request, runtimes[0]);
  } finally {
    metrics.publishStoredMetrics();
    for (const m of targetMetrics.values()) m.publishStoredMetrics();
  }
};
