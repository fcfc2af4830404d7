import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { Alerter, AlertStateStore, MemoryAlertStateStore, recordAlertStateStore, renderAlert, snsPublisher } from './alerts';
import { DEFAULT_ALLOWLIST_NAME } from './config';
import { describeError } from './errors';
import { HandlerResult, MultiTargetResult, SyncRuntime, buildRuntimes, parseEvent, runAll, runSync } from './run';
import { createDynamoClient, dynamoStateStore } from './state/dynamodb-store';

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
 * in the state table when STATE_TABLE names one (a record of the deployment, not of a target), so cold starts
 * do not repeat it either (a schedule sparser than the container's lifetime would otherwise alert every run).
 */
function configFailureStore(): AlertStateStore {
  const memory = new MemoryAlertStateStore();
  const table = process.env.STATE_TABLE?.trim();
  if (!table) return memory;
  const durable = recordAlertStateStore(dynamoStateStore(createDynamoClient(), table), `deployment:${process.env.AWS_LAMBDA_FUNCTION_NAME ?? allowlistName}`);
  return {
    load: async () => (await memory.load()) ?? durable.load(),
    save: async (state) => {
      await memory.save(state);
      await durable.save(state);
    },
  };
}

/**
 * A configuration error alerted earlier (by this container or another) that is fixed now: told once as a
 * recovery. Checked once per container, right after the configuration first loads.
 */
async function tellConfigFixed(): Promise<void> {
  const topic = process.env.ALERT_TOPIC_ARN?.trim();
  if (!topic || !process.env.STATE_TABLE?.trim()) return;
  try {
    const store = configFailureStore();
    const previous = await store.load();
    if (previous?.status !== 'failed') return;
    const context = { allowlist: allowlistName, policyArn: process.env.POLICY_ARN?.trim() || '(POLICY_ARN unset)' };
    await snsPublisher(new SNSClient({}), topic).publish(renderAlert('recovered', context, { error: undefined }, previous));
    await store.save({ status: 'ok', at: new Date().toISOString() });
  } catch (err) {
    logger.warn('could not tell that the configuration error is fixed', { error: describeError(err) });
  }
}

/** Bad configuration: tell the topic if there is one (once per failure, see configFailureStore), then fail. */
async function alertConfigFailure(err: unknown): Promise<void> {
  const topic = process.env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return;
  const policyArn = process.env.POLICY_ARN?.trim();
  configFailureAlerter ??= new Alerter({
    context: { allowlist: allowlistName, policyArn: policyArn || '(POLICY_ARN unset)' },
    publisher: snsPublisher(new SNSClient({}), topic),
    store: configFailureStore(),
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
      await tellConfigFixed();
    }
    // The whole run ends before the function's timeout: the fetch and the write get budgets from what remains.
    const options = { deadline: Date.now() + context.getRemainingTimeInMillis(), writer: `function:${context.functionName}/${context.awsRequestId}` };
    // The single-target configuration keeps its original result shape.
    return multi ? await runAll(request, runtimes, options) : await runSync(request, runtimes[0], options);
  } finally {
    metrics.publishStoredMetrics();
    for (const m of targetMetrics.values()) m.publishStoredMetrics();
  }
};
