import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { PlanOptions, PolicyShape, isApprovable, managedPolicyShape } from './allowlist';
import { TRUST_POLICY_SIZE_LIMIT, trustPolicyShape } from './allowlist/trust-policy';
import { Alerter, AlertPublisher, AlertStateStore, iamTagAlertStateStore, snsPublisher } from './alerts';
import { DeploymentConfig, Env, loadDeploymentConfig } from './config';
import { SyncError, describeError } from './errors';
import { createOcmSource, ocmOptionsFromEnv } from './sources/ocm';
import type { OcmHttpSettings } from './sources/ocm-http';
import { Source, SourceResult } from './sources/source';
import { ssmListSource } from './sources/ssm-list';
import { staticSource } from './sources/static';
import { TargetSpec } from './target-config';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT, inlinePolicyTarget } from './targets/inline-policy';
import { roleTagAlertStateStore } from './targets/role-tags';
import { trustPolicyTarget } from './targets/trust-policy';
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

/** Everything one target's run needs, built once per container and reused by warm invocations. */
export interface SyncRuntime {
  /** The target's name: alert subjects, metrics `service` dimension. */
  name: string;
  /** The target's resource, as results and alerts name it (a policy ARN, `role/NAME`...). */
  resource: string;
  /** `DRY_RUN` or the target's own dryRun. */
  dryRun: boolean;
  plan: PlanOptions;
  sources: Source[];
  target: Target;
  alerter: Alerter;
  log: RunLog;
  metrics: MetricsSink;
  /** Starts an invocation: sources shared by several targets fetch afresh, once. */
  beginRun?: () => void;
}

/** What the function returns. */
export interface HandlerResult {
  status: SyncResult['status'];
  planId: string;
  added: string[];
  removed: string[];
  entries: string[];
  /** The target's resource (named `policyArn` since the first, managed-policy-only release). */
  policyArn: string;
  versionId?: string;
  previousVersionId?: string;
  reasons: string[];
  approvable: boolean;
  dryRun: boolean;
}

/** What the function returns for several targets: each one's result, and the worst status. */
export interface MultiTargetResult {
  status: SyncResult['status'];
  targets: (HandlerResult & { target: string })[];
}

/** What an invocation asks for: the scheduler's event (anything) syncs; these fields change that. */
export interface RunRequest {
  dryRun: boolean;
  approve?: string;
  /** Only this target (by name); required with `approve` when there are several. */
  target?: string;
}

/** Reads the event; rejects a malformed `approve` or `dryRun` rather than silently ignoring it. */
export function parseEvent(event: unknown): RunRequest {
  if (typeof event !== 'object' || event === null) return { dryRun: false };
  const { dryRun, approve, target } = event as { dryRun?: unknown; approve?: unknown; target?: unknown };
  if (dryRun !== undefined && typeof dryRun !== 'boolean') {
    throw new SyncError('bad-event', `The event's "dryRun" must be true or false, got ${JSON.stringify(dryRun)}.`);
  }
  if (approve !== undefined && (typeof approve !== 'string' || !/^[0-9a-f]{16}$/.test(approve))) {
    throw new SyncError('bad-event', `The event's "approve" must be a plan id (16 hex digits, from the refusal alert), got ${JSON.stringify(approve)}.`);
  }
  if (target !== undefined && typeof target !== 'string') {
    throw new SyncError('bad-event', `The event's "target" must be a target name, got ${JSON.stringify(target)}.`);
  }
  return { dryRun: dryRun === true, ...(approve !== undefined ? { approve: approve as string } : {}), ...(target !== undefined ? { target: target as string } : {}) };
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

/** Fetches once per invocation however many targets share the source (several targets on OCM: one fetch). */
function sharedPerRun(source: Source): Source & { reset(): void } {
  let pending: Promise<SourceResult> | undefined;
  return {
    name: source.name,
    fetch: () => (pending ??= source.fetch()),
    reset: () => {
      pending = undefined;
    },
  };
}

/** What the targets of one container share: clients, the OCM source, the alert publisher. */
interface Shared {
  deployment: DeploymentConfig;
  iam: IAMClient;
  ssm: () => SSMClient;
  publisher: AlertPublisher;
  source: (spec: string) => Source;
  log: RunLog;
  tuning: RuntimeTuning;
}

/** Builds one target's runtime. */
function buildTargetRuntime(spec: TargetSpec, shared: Shared, metrics: MetricsSink): SyncRuntime {
  const { iam, log, tuning, deployment } = shared;
  // The target's read hands over the tags it saw (GetPolicy and GetRole carry them), where the alert state lives:
  // used once, so a run needs no extra call and a later run never sees stale ones.
  let tags: Record<string, string> | undefined;
  const onTags = (read: Record<string, string>): void => {
    tags = read;
  };
  const prefetched = (): Record<string, string> | undefined => {
    const taken = tags;
    tags = undefined;
    return taken;
  };
  let target: Target;
  let store: AlertStateStore;
  let shape: PolicyShape;
  let resource: string;
  let cliTarget: string;
  let sizeLimit: number | undefined;
  const conditions = spec.conditions ?? {};
  if (spec.kind === 'managed-policy') {
    const arn = spec.policyArn as string;
    target = managedPolicyTarget(iam, arn, { log, onTags, ...(tuning.confirmDelaysMs ? { confirmDelaysMs: tuning.confirmDelaysMs } : {}) });
    store = iamTagAlertStateStore(iam, arn, { prefetched });
    shape = managedPolicyShape(conditions);
    resource = arn;
    cliTarget = `iam:${arn}`;
  } else if (spec.kind === 'trust-policy') {
    const role = spec.roleName as string;
    sizeLimit = spec.guards?.sizeLimit ?? TRUST_POLICY_SIZE_LIMIT;
    target = trustPolicyTarget(iam, role, { log, onTags, sizeLimit });
    store = roleTagAlertStateStore(iam, role, spec.name, { prefetched });
    shape = trustPolicyShape(spec.principals ?? [], conditions);
    resource = `role/${role} (trust policy)`;
    cliTarget = `iam-trust:${role} ${(spec.principals ?? []).map((p) => `--principal ${p}`).join(' ')}`;
  } else {
    const role = spec.roleName as string;
    // The role's room is what its other inline policies leave of 10,240; the target measures it at each read.
    sizeLimit = spec.guards?.sizeLimit ?? ROLE_INLINE_POLICIES_SIZE_LIMIT;
    target = inlinePolicyTarget(iam, role, spec.policyName as string, { log });
    store = roleTagAlertStateStore(iam, role, spec.name, { prefetched });
    shape = managedPolicyShape(conditions);
    resource = `role/${role} inline policy ${spec.policyName}`;
    cliTarget = `iam-inline:${role}/${spec.policyName}`;
  }
  const alerter = new Alerter({
    context: {
      allowlist: spec.name,
      policyArn: resource,
      cliTarget,
      ...(deployment.multi ? { eventTarget: spec.name } : {}),
      ...(deployment.functionName ? { functionName: deployment.functionName } : {}),
      cliSources: spec.sources,
    },
    publisher: shared.publisher,
    store,
    log,
  });
  return {
    name: spec.name,
    resource,
    dryRun: deployment.dryRun || spec.dryRun === true,
    plan: { guards: { ...spec.guards, ...(sizeLimit !== undefined ? { sizeLimit } : {}) }, shape },
    sources: spec.sources.map(shared.source),
    target,
    alerter,
    log,
    metrics,
  };
}

/**
 * Builds every target's runtime from the environment (`ALLOWLIST_TARGETS`, or the single-target variables);
 * throws a SyncError naming the variable when it is wrong. `metricsFor` gives each target its metrics sink.
 */
export function buildRuntimes(
  env: Env,
  log: RunLog,
  metricsFor: (targetName: string) => MetricsSink,
  clients: RuntimeClients = {},
  tuning: RuntimeTuning = runtimeTuning,
): SyncRuntime[] {
  const deployment = loadDeploymentConfig(env);
  let ocm: (Source & { reset(): void }) | undefined;
  let ssm: SSMClient | undefined;
  const shared: Shared = {
    deployment,
    iam: clients.iam ?? createIamClient(),
    ssm: () => (ssm ??= clients.ssm ?? new SSMClient({})),
    publisher: snsPublisher(clients.sns ?? new SNSClient({}), deployment.alertTopicArn),
    log,
    tuning,
    source: (spec) => {
      if (spec === 'ocm') {
        if (!ocm) {
          // The whole OCM fetch must end well inside the function's timeout, leaving time to write and alert.
          ocm = sharedPerRun(
            createOcmSource({
              ...ocmOptionsFromEnv(env, { ssmClient: shared.ssm(), logger: log }),
              fetchTimeoutMs: 40_000,
              ...(tuning.ocmHttp ? { http: tuning.ocmHttp } : {}),
            }),
          );
        }
        return ocm;
      }
      if (spec.startsWith('ssm:')) return ssmListSource(shared.ssm(), spec.slice(4));
      return staticSource(spec.slice('static:'.length), deployment.multi ? spec : 'static:EXTRA_CIDRS');
    },
  };
  const runtimes = deployment.targets.map((spec) => buildTargetRuntime(spec, shared, metricsFor(spec.name)));
  const beginRun = (): void => ocm?.reset();
  return runtimes.map((runtime) => ({ ...runtime, beginRun }));
}

/** Builds the runtime of a single-target configuration (the single-target variables). */
export function buildRuntime(env: Env, log: RunLog, metrics: MetricsSink, clients: RuntimeClients = {}, tuning: RuntimeTuning = runtimeTuning): SyncRuntime {
  const runtimes = buildRuntimes({ ...env, ALLOWLIST_TARGETS: undefined }, log, () => metrics, clients, tuning);
  return runtimes[0];
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
export async function runSync(request: RunRequest, runtime: SyncRuntime, options: { beginRun?: boolean } = {}): Promise<HandlerResult> {
  const { log, metrics, alerter } = runtime;
  if (options.beginRun ?? true) runtime.beginRun?.();
  const started = Date.now();
  const dryRun = runtime.dryRun || request.dryRun;
  let result: SyncResult;
  try {
    result = await sync({
      sources: runtime.sources,
      target: runtime.target,
      plan: runtime.plan,
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
    policyArn: runtime.resource,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
    reasons: plan.reasons,
    approvable: isApprovable(plan),
    dryRun,
  };
}

const SEVERITY: SyncResult['status'][] = ['unchanged', 'changes', 'updated', 'refused'];

/**
 * One invocation over several targets, one after the other: a failing target never blocks the others. Each is
 * alerted on its own; when any failed, the invocation throws after all have run, naming them.
 */
export async function runAll(request: RunRequest, runtimes: readonly SyncRuntime[]): Promise<MultiTargetResult> {
  const selected = request.target === undefined ? runtimes : runtimes.filter((r) => r.name === request.target);
  if (selected.length === 0) {
    throw new SyncError('bad-event', `The event names target ${JSON.stringify(request.target)}, but the targets are ${runtimes.map((r) => r.name).join(', ')}.`);
  }
  if (request.approve !== undefined && request.target === undefined && runtimes.length > 1) {
    throw new SyncError('bad-event', 'An approval must name its target when there are several: send {"approve": "<planId>", "target": "<name>"} as the refusal alert shows.');
  }
  runtimes[0]?.beginRun?.();
  const results: MultiTargetResult['targets'] = [];
  const failures: string[] = [];
  for (const runtime of selected) {
    try {
      results.push({ target: runtime.name, ...(await runSync(request, runtime, { beginRun: false })) });
    } catch (err) {
      failures.push(`${runtime.name}: ${describeError(err)}`);
    }
  }
  if (failures.length > 0) {
    const done = results.map((r) => `${r.target} ${r.status}`).join(', ');
    throw new SyncError('targets-failed', `${failures.length} of ${selected.length} targets failed: ${failures.join(' | ')}${done ? ` (the others: ${done})` : ''}.`);
  }
  const status = results.map((r) => r.status).reduce((worst, s) => (SEVERITY.indexOf(s) > SEVERITY.indexOf(worst) ? s : worst), 'unchanged');
  return { status, targets: results };
}
