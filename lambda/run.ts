import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { managedPolicyShape } from './allowlist';
import { Alerter, iamTagAlertStateStore, snsPublisher } from './alerts';
import { Env, HandlerConfig, loadHandlerConfig } from './config';
import { SyncError, describeError } from './errors';
import { createOcmSource, ocmOptionsFromEnv } from './sources/ocm';
import type { OcmHttpSettings } from './sources/ocm-http';
import { Source } from './sources/source';
import { staticSource } from './sources/static';
import { Log, SyncResult, sync } from './sync';
import { createIamClient, managedPolicyTarget } from './targets/managed-policy';
import { Target } from './targets/target';

/** The little the run needs of Powertools Metrics. */
export interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void;
}

/** A logger that can also report errors (Powertools Logger fits). */
export interface RunLog extends Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Everything a run needs, built once per container and reused by warm invocations. */
export interface SyncRuntime {
  config: HandlerConfig;
  sources: Source[];
  target: Target;
  alerter: Alerter;
  log: RunLog;
  metrics: MetricsSink;
}

/** What the function returns. */
export interface HandlerResult {
  status: SyncResult['status'];
  planId: string;
  added: string[];
  removed: string[];
  entries: string[];
  policyArn: string;
  versionId?: string;
  previousVersionId?: string;
  reasons: string[];
  approvable: boolean;
  dryRun: boolean;
}

/** What an invocation asks for: the scheduler's event (anything) syncs; these fields change that. */
export interface RunRequest {
  dryRun: boolean;
  approve?: string;
}

/** Reads the event; rejects a malformed `approve` or `dryRun` rather than silently ignoring it. */
export function parseEvent(event: unknown): RunRequest {
  if (typeof event !== 'object' || event === null) return { dryRun: false };
  const { dryRun, approve } = event as { dryRun?: unknown; approve?: unknown };
  if (dryRun !== undefined && typeof dryRun !== 'boolean') {
    throw new SyncError('bad-event', `The event's "dryRun" must be true or false, got ${JSON.stringify(dryRun)}.`);
  }
  if (approve !== undefined && (typeof approve !== 'string' || !/^[0-9a-f]{16}$/.test(approve))) {
    throw new SyncError('bad-event', `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got ${JSON.stringify(approve)}.`);
  }
  return { dryRun: dryRun === true, ...(approve !== undefined ? { approve: approve as string } : {}) };
}

/** AWS clients; each is built once. Tests pass mocked ones. */
export interface RuntimeClients {
  iam?: IAMClient;
  sns?: SNSClient;
  ssm?: SSMClient;
}

/** Waits and retries the adapters use; unset fields keep production's defaults. */
export interface RuntimeTuning {
  /** OCM HTTP limits and backoff (`baseDelayMs`, `attempts`...). */
  ocmHttp?: Partial<OcmHttpSettings>;
  /** Waits for IAM to report a new default version (see `ManagedPolicyTargetOptions.confirmDelaysMs`). */
  confirmDelaysMs?: readonly number[];
}

/**
 * The tuning `buildRuntime` uses when its caller passes none. Empty in production. It is the seam for tests
 * that go through the Lambda handler, which builds its runtime itself: they shorten the backoff here.
 */
export const runtimeTuning: RuntimeTuning = {};

/** Builds the runtime from the environment; throws a SyncError naming the variable when it is wrong. */
export function buildRuntime(env: Env, log: RunLog, metrics: MetricsSink, clients: RuntimeClients = {}, tuning: RuntimeTuning = runtimeTuning): SyncRuntime {
  const config = loadHandlerConfig(env);
  const iam = clients.iam ?? createIamClient();
  const sources: Source[] = [];
  if (config.ocmEnabled) {
    // The whole OCM fetch must end well inside the function's timeout, leaving time to write and alert.
    sources.push(
      createOcmSource({
        ...ocmOptionsFromEnv(env, { ssmClient: clients.ssm, logger: log }),
        fetchTimeoutMs: 40_000,
        ...(tuning.ocmHttp ? { http: tuning.ocmHttp } : {}),
      }),
    );
  }
  if (config.extraCidrs) sources.push(staticSource(config.extraCidrs, 'static:EXTRA_CIDRS'));
  // The target's GetPolicy already returns the policy's tags, where the alert state lives: hand them over
  // so a run needs no ListPolicyTags. They are used once, so a later run never sees stale ones.
  let tags: Record<string, string> | undefined;
  const takeTags = (): Record<string, string> | undefined => {
    const taken = tags;
    tags = undefined;
    return taken;
  };
  const alerter = new Alerter({
    context: {
      allowlist: config.allowlistName,
      policyArn: config.policyArn,
      ...(config.functionName ? { functionName: config.functionName } : {}),
      cliSources: [...(config.ocmEnabled ? ['ocm'] : []), ...(config.extraCidrs ? [`static:${config.extraCidrs}`] : [])],
    },
    publisher: snsPublisher(clients.sns ?? new SNSClient({}), config.alertTopicArn),
    store: iamTagAlertStateStore(iam, config.policyArn, { prefetched: takeTags }),
    log,
  });
  const target = managedPolicyTarget(iam, config.policyArn, {
    log,
    onTags: (read) => {
      tags = read;
    },
    ...(tuning.confirmDelaysMs ? { confirmDelaysMs: tuning.confirmDelaysMs } : {}),
  });
  return { config, sources, target, alerter, log, metrics };
}

function count(metrics: MetricsSink, name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

function recordResult(metrics: MetricsSink, result: SyncResult): void {
  const { plan } = result;
  count(metrics, 'SyncSucceeded', result.status === 'refused' ? 0 : 1);
  count(metrics, 'Refused', result.status === 'refused' ? 1 : 0);
  count(metrics, 'PolicyUpdated', result.status === 'updated' ? 1 : 0);
  count(metrics, 'EntriesAdded', result.status === 'updated' ? plan.added.length : 0);
  count(metrics, 'EntriesRemoved', result.status === 'updated' ? plan.removed.length : 0);
  count(metrics, 'AllowlistEntries', plan.entries.length);
  count(metrics, 'PolicySizeChars', plan.documentSize);
  count(metrics, 'PolicySizeHeadroom', plan.sizeLimit - plan.documentSize);
}

/**
 * One invocation: sync, record metrics, alert. A refusal returns `refused` (and alerts); a failure alerts
 * and then throws, so Lambda's error metric sees it. An alert that cannot be published fails the run, but
 * never undoes a write that already happened.
 */
export async function runSync(request: RunRequest, runtime: SyncRuntime): Promise<HandlerResult> {
  const { config, log, metrics, alerter } = runtime;
  const started = Date.now();
  const dryRun = config.dryRun || request.dryRun;
  let result: SyncResult;
  try {
    result = await sync({
      sources: runtime.sources,
      target: runtime.target,
      plan: { guards: config.guards, shape: managedPolicyShape(config.conditions) },
      dryRun,
      approve: request.approve,
      log,
    });
  } catch (err) {
    metrics.addMetric('SyncDuration', MetricUnit.Milliseconds, Date.now() - started);
    count(metrics, 'SyncSucceeded', 0);
    log.error('sync failed', { code: err instanceof SyncError ? err.code : 'error', error: describeError(err) });
    await alerter.notify({ error: err }).catch((alertErr: unknown) => {
      count(metrics, 'AlertPublishFailed', 1);
      log.error('the failure alert could not be published either', { error: describeError(alertErr) });
    });
    throw err;
  }
  metrics.addMetric('SyncDuration', MetricUnit.Milliseconds, Date.now() - started);
  recordResult(metrics, result);
  const { plan } = result;
  log.info('sync finished', { status: result.status, planId: plan.planId, added: plan.added, removed: plan.removed, reasons: plan.reasons, entries: plan.entries.length });
  try {
    await alerter.notify({ result });
  } catch (err) {
    count(metrics, 'AlertPublishFailed', 1);
    log.error('alert could not be published; the policy write (if any) stands', { error: describeError(err), status: result.status });
    throw err;
  }
  return {
    status: result.status,
    planId: plan.planId,
    added: plan.added,
    removed: plan.removed,
    entries: plan.entries,
    policyArn: config.policyArn,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
    reasons: plan.reasons,
    approvable: plan.refusals.length > 0 && plan.refusals.every((r) => r.approvable),
    dryRun,
  };
}
