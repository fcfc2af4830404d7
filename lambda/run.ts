import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { PlanOptions, PolicyShape, isApprovable, managedPolicyShape } from './allowlist';
import { TRUST_POLICY_SIZE_LIMIT, trustPolicyShape } from './allowlist/trust-policy';
import { Alerter, AlertPublisher, recordAlertStateStore, snsPublisher } from './alerts';
import { DeploymentConfig, Env, loadDeploymentConfig } from './config';
import { SyncError, describeError } from './errors';
import { createOcmSource, ocmOptionsFromEnv } from './sources/ocm';
import type { OcmHttpSettings } from './sources/ocm-http';
import { Source, SourceResult } from './sources/source';
import { ssmListSource } from './sources/ssm-list';
import { staticSource } from './sources/static';
import { TargetSpec } from './target-config';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT, inlinePolicyTarget } from './targets/inline-policy';
import { trustPolicyTarget } from './targets/trust-policy';
import type { MetricsSink, RunLog, StateStore, TargetRecord } from './ports';
import { createDynamoClient, dynamoStateStore } from './state/dynamodb-store';
import { memoryStateStore } from './state/json-store';
import { SyncResult, sync } from './sync';
import { WRITE_BUDGET_MS, concurrentWriterReport } from './sync-write';
import { createIamClient, managedPolicyTarget } from './targets/managed-policy';
import { Target } from './targets/target';

export type { MetricsSink, RunLog } from './ports';

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
  /** Where the target's record lives (shared by every target of the container). */
  state: StateStore;
  log: RunLog;
  metrics: MetricsSink;
  /** Starts an invocation: sources shared by several targets fetch afresh, once. */
  beginRun?: () => void;
  /** Hands the record a sync loaded to the alerter (its alert state), saving a read. */
  keepRecord?: (record: TargetRecord | undefined) => void;
  /** Waits before trying a held lease again. */
  leaseWaitsMs?: readonly number[];
}

/** What the function returns. */
export interface HandlerResult {
  status: SyncResult['status'];
  planId: string;
  /** Entries added to and removed from the list. */
  added: string[];
  removed: string[];
  /** The exact address-level difference, as minimal blocks. */
  addedAddresses: string[];
  removedAddresses: string[];
  entries: string[];
  /** The target's resource (named `policyArn` since the first, managed-policy-only release). */
  policyArn: string;
  versionId?: string;
  previousVersionId?: string;
  reasons: string[];
  approvable: boolean;
  dryRun: boolean;
  /** Versions deleted to make room, and other writers seen around the write. */
  deleted?: string[];
  otherWriters?: string[];
  /** `busy`: who holds the lease, until when. */
  holder?: { holder: string; until: string };
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

/** AWS clients; each is built once. Tests pass mocked ones (or a state store of their own). */
export interface RuntimeClients {
  iam?: IAMClient;
  sns?: SNSClient;
  ssm?: SSMClient;
  dynamodb?: DynamoDBClient;
  state?: StateStore;
}

/** Waits and retries the adapters use; unset fields keep production's defaults. */
export interface RuntimeTuning {
  /** OCM HTTP limits and backoff (`baseDelayMs`, `attempts`...). */
  ocmHttp?: Partial<OcmHttpSettings>;
  /** Waits for IAM to report a new default version (see `ManagedPolicyTargetOptions.confirmDelaysMs`). */
  confirmDelaysMs?: readonly number[];
  /** Waits before trying a lease another writer holds again (see `SyncOptions.leaseWaitsMs`). */
  leaseWaitsMs?: readonly number[];
}

/**
 * The tuning `buildRuntime` uses when its caller passes none. Empty in production. It is the seam for tests
 * that go through the Lambda handler, which builds its runtime itself: they shorten the backoff here.
 */
export const runtimeTuning: RuntimeTuning = {};

/** Fetches once per invocation (and read) however many targets share the source (several targets on OCM: one fetch). */
function sharedPerRun(source: Source): Source & { reset(): void } {
  const pending = new Map<number, Promise<SourceResult>>();
  return {
    name: source.name,
    fetch: (options = {}) => {
      const read = options.read ?? 1;
      let answer = pending.get(read);
      if (!answer) pending.set(read, (answer = source.fetch(options)));
      return answer;
    },
    reset: () => pending.clear(),
  };
}

/** What the targets of one container share: clients, the OCM source, the alert publisher. */
interface Shared {
  deployment: DeploymentConfig;
  iam: IAMClient;
  ssm: () => SSMClient;
  publisher: AlertPublisher;
  state: StateStore;
  source: (spec: string) => Source;
  log: RunLog;
  tuning: RuntimeTuning;
}

/** Builds one target's runtime. */
function buildTargetRuntime(spec: TargetSpec, shared: Shared, metrics: MetricsSink): SyncRuntime {
  const { iam, log, tuning, deployment } = shared;
  let target: Target;
  let shape: PolicyShape;
  let resource: string;
  let cliTarget: string;
  let sizeLimit: number | undefined;
  const conditions = spec.conditions ?? {};
  if (spec.kind === 'managed-policy') {
    const arn = spec.policyArn as string;
    target = managedPolicyTarget(iam, arn, { log, ...(tuning.confirmDelaysMs ? { confirmDelaysMs: tuning.confirmDelaysMs } : {}) });
    shape = managedPolicyShape(conditions);
    resource = arn;
    cliTarget = `iam:${arn}`;
  } else if (spec.kind === 'trust-policy') {
    const role = spec.roleName as string;
    sizeLimit = spec.guards?.sizeLimit ?? TRUST_POLICY_SIZE_LIMIT;
    target = trustPolicyTarget(iam, role, { log, sizeLimit });
    shape = trustPolicyShape(spec.principals ?? [], conditions);
    resource = `role/${role} (trust policy)`;
    cliTarget = `iam-trust:${role} ${(spec.principals ?? []).map((p) => `--principal ${p}`).join(' ')}`;
  } else {
    const role = spec.roleName as string;
    // The role's room is what its other inline policies leave of 10,240; the target measures it at each read.
    sizeLimit = spec.guards?.sizeLimit ?? ROLE_INLINE_POLICIES_SIZE_LIMIT;
    target = inlinePolicyTarget(iam, role, spec.policyName as string, { log });
    shape = managedPolicyShape(conditions);
    resource = `role/${role} inline policy ${spec.policyName}`;
    cliTarget = `iam-inline:${role}/${spec.policyName}`;
  }
  // The record the sync loaded is handed to the alerter once, so deciding an alert costs no second read.
  let record: TargetRecord | undefined;
  const store = recordAlertStateStore(shared.state, target.key, () => {
    const taken = record;
    record = undefined;
    return taken;
  });
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
    state: shared.state,
    log,
    metrics,
    ...(tuning.leaseWaitsMs ? { leaseWaitsMs: tuning.leaseWaitsMs } : {}),
    keepRecord: (r: TargetRecord | undefined) => {
      record = r;
    },
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
    state: clients.state ?? (deployment.stateTable ? dynamoStateStore(clients.dynamodb ?? createDynamoClient(), deployment.stateTable) : memoryStateStore('memory of this container (STATE_TABLE is not set)')),
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
  count(metrics, 'EntriesAdded', result.status === 'updated' ? plan.addedEntries.length : 0);
  count(metrics, 'EntriesRemoved', result.status === 'updated' ? plan.removedEntries.length : 0);
  if (result.otherWriters?.length) count(metrics, 'ConcurrentWriter', 1);
  if (result.status === 'busy') count(metrics, 'Busy', 1);
  count(metrics, 'AllowlistEntries', plan.entries.length);
  count(metrics, 'PolicySizeChars', plan.documentSize);
  count(metrics, 'PolicySizeHeadroom', plan.sizeLimit - plan.documentSize);
}

/**
 * One invocation: sync, record metrics, alert. A refusal returns `refused` (and alerts); a failure alerts
 * and then throws, so Lambda's error metric sees it. An alert that cannot be published fails the run, but
 * never undoes a write that already happened.
 */
export async function runSync(request: RunRequest, runtime: SyncRuntime, options: RunOptions = {}): Promise<HandlerResult> {
  const { log, metrics, alerter } = runtime;
  if (options.beginRun ?? true) runtime.beginRun?.();
  const started = Date.now();
  const dryRun = runtime.dryRun || request.dryRun;
  let result: SyncResult;
  try {
    result = await sync({
      sources: runtime.sources.map((source) => withDeadline(source, options.deadline)),
      target: runtime.target,
      plan: runtime.plan,
      dryRun,
      approve: request.approve,
      log,
      state: runtime.state,
      announcer: alerter,
      writer: options.writer ?? 'function',
      ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
      ...(runtime.leaseWaitsMs ? { leaseWaitsMs: runtime.leaseWaitsMs } : {}),
    });
    runtime.keepRecord?.(result.record);
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
  if (result.unannounced) {
    count(metrics, 'AlertPublishFailed', 1);
    log.error('alert could not be published; the policy write (if any) stands', { error: describeError(result.unannounced), status: result.status });
    throw result.unannounced;
  }
  if (result.otherWriters?.length) {
    // Written and announced (the alert names the other writer); the run still fails, so the error alarm sees it.
    const err = concurrentWriterReport(runtime.resource, result);
    log.error('another writer was at work on the target', { error: err.message, otherWriters: result.otherWriters });
    throw err;
  }
  log.info('sync finished', { status: result.status, planId: plan.planId, added: plan.addedEntries, removed: plan.removedEntries, reasons: plan.reasons, entries: plan.entries.length });
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
    added: plan.addedEntries,
    removed: plan.removedEntries,
    addedAddresses: plan.added,
    removedAddresses: plan.removed,
    entries: plan.entries,
    policyArn: runtime.resource,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.previousVersionId !== undefined ? { previousVersionId: result.previousVersionId } : {}),
    reasons: plan.reasons,
    approvable: isApprovable(plan),
    dryRun,
    ...(result.deleted?.length ? { deleted: result.deleted } : {}),
    ...(result.otherWriters?.length ? { otherWriters: result.otherWriters } : {}),
    ...(result.holder ? { holder: { holder: result.holder.holder, until: new Date(result.holder.expiresAt).toISOString() } } : {}),
  };
}

/** How one invocation runs a target. */
export interface RunOptions {
  beginRun?: boolean;
  /** Epoch ms the invocation must end by (the function's remaining time): budgets for the fetch and the write. */
  deadline?: number;
  /** The lease holder and announcement writer: `function:NAME/REQUEST_ID`. */
  writer?: string;
}

/** The source, told to answer while there is still time to write and announce. */
function withDeadline(source: Source, deadline: number | undefined): Source {
  if (deadline === undefined) return source;
  const by = deadline - WRITE_BUDGET_MS;
  return { name: source.name, fetch: (options = {}) => source.fetch({ ...options, deadline: Math.min(by, options.deadline ?? by) }) };
}

const SEVERITY: SyncResult['status'][] = ['unchanged', 'paused', 'changes', 'updated', 'busy', 'refused'];

/**
 * One invocation over several targets, one after the other: a failing target never blocks the others. Each is
 * alerted on its own; when any failed, the invocation throws after all have run, naming them.
 */
export async function runAll(request: RunRequest, runtimes: readonly SyncRuntime[], options: Omit<RunOptions, 'beginRun'> = {}): Promise<MultiTargetResult> {
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
      results.push({ target: runtime.name, ...(await runSync(request, runtime, { ...options, beginRun: false })) });
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
