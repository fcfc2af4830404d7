import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Alerter } from './alerts';
import { renderAlert } from './alerts';
import { Clients, Tuning, composeConfigAlerter } from './compose';
import { loadDeploymentConfig, loadEntrySettings } from './config';
import type { Env } from './config';
import { describeError } from './errors';
import { METRIC } from './metric-names';
import { ActionResult, runAction, selectRuntime } from './actions';
import { Deployment, composeDeployment, resolveDeployment, runDeployment } from './deployment';
import { HandlerResult, MultiTargetResult, isAction, parseEvent, runSync } from './run';

/** What a container is built from: the environment, and (tests) clients and tuning. */
export interface HandlerOptions {
  env?: Env;
  clients?: Clients;
  tuning?: Tuning;
}

/** The function's entry: `(event, context) => result`. */
export type Handler = (event: unknown, context: Context) => Promise<HandlerResult | MultiTargetResult | ActionResult>;

/**
 * One container's handler. Built once per container: warm invocations reuse clients, the OCM token and keep-alive
 * sockets. The service name is the metrics' `service` dimension, which the stack's alarms expect to be the
 * allowlist's name; with several targets each has its own metrics, its name as that dimension.
 */
export function createHandler(options: HandlerOptions = {}): Handler {
  const env = options.env ?? process.env;
  const entry = loadEntrySettings(env);
  const logger = new Logger({ serviceName: entry.serviceName });
  const metrics = new Metrics({ namespace: entry.namespace, serviceName: entry.serviceName });
  const targetMetrics = new Map<string, Metrics>();
  const metricsFor = (targetName: string): Metrics => {
    if (!entry.multi) return metrics;
    let m = targetMetrics.get(targetName);
    if (!m) targetMetrics.set(targetName, (m = new Metrics({ namespace: entry.namespace, serviceName: targetName })));
    return m;
  };
  let deployment: Deployment | undefined;
  let configAlerter: Alerter | undefined;
  const alerter = (): Alerter | undefined => (configAlerter ??= composeConfigAlerter(entry, { clients: options.clients, log: logger }));

  /** Bad configuration: tell the topic if there is one (once per failure), then fail. */
  const alertConfigFailure = async (err: unknown): Promise<void> => {
    await alerter()
      ?.notify({ error: err })
      .catch((alertErr: unknown) => {
        metrics.addMetric(METRIC.alertPublishFailed, MetricUnit.Count, 1);
        logger.error('could not alert the configuration error', { error: describeError(alertErr) });
      });
  };

  /** A configuration error alerted earlier (by any container) that is fixed now: told once, as a recovery. */
  const tellConfigFixed = async (): Promise<void> => {
    const fixed = entry.stateTable ? alerter() : undefined;
    if (!fixed) return;
    try {
      const previous = await fixed.state();
      if (previous?.status !== 'failed') return;
      await fixed.send(renderAlert('recovered', { allowlist: entry.allowlistName, policyArn: entry.policyArn ?? '(POLICY_ARN unset)' }, { error: undefined }, previous));
      await fixed.markOk();
    } catch (err) {
      logger.warn('could not tell that the configuration error is fixed', { error: describeError(err) });
    }
  };

  return async (event, context) => {
    logger.addContext(context);
    metrics.captureColdStartMetric();
    try {
      const request = parseEvent(event);
      // A cold start tells a fixed configuration error while the run goes on (it never fails the run).
      let told: Promise<void> | undefined;
      if (!deployment) {
        try {
          deployment = composeDeployment(loadDeploymentConfig(env), { env, log: logger, metricsFor, clients: options.clients, tuning: options.tuning });
        } catch (err) {
          logger.error('configuration error', { error: err instanceof Error ? err.message : String(err) });
          await alertConfigFailure(err);
          throw err;
        }
        told = tellConfigFixed();
      }
      // The whole run ends before the function's timeout: the fetch and the write get budgets from what remains.
      const run = { deadline: Date.now() + context.getRemainingTimeInMillis(), writer: `function:${context.functionName}/${context.awsRequestId}` };
      // The single-target configuration keeps its original result shape.
      try {
        // Who acts, when the event does not say: the invoker's identity when the context carries one (Cognito).
        if (isAction(request)) {
          const { runtimes } = await resolveDeployment(deployment, request.target);
          return await runAction(request, runtimes, { ...run, by: context.identity?.cognitoIdentityId ?? 'unknown' });
        }
        if (entry.multi) return await runDeployment(request, deployment, run);
        // One target: an event that names another one is a mistake (an approval meant for another deployment), not this one's.
        return await runSync(request, request.target === undefined ? deployment.targets[0] : selectRuntime(deployment.targets, request.target, 'sync'), run);
      } finally {
        await told;
      }
    } finally {
      metrics.publishStoredMetrics();
      for (const m of targetMetrics.values()) m.publishStoredMetrics();
    }
  };
}

/** The Lambda entry. */
export const handler: Handler = createHandler();
