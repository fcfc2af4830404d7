import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AlertContext, Alerter, recordAlertStateStore, renderAlert, skippedLine } from './alerts';
import { ComposeDeps, SpokeAccess, SyncRuntime, composeShared, targetRuntime } from './compose';
import type { DeploymentConfig } from './config';
import { SyncError, describeError } from './errors';
import { Fleet, accountsSource, spokeRoleArn } from './fleet';
import { SkipTeller, tellSkipped } from './fleet-skipped';
import { stackSetOf } from './kinds/fleet';
import type { FleetSpec } from './kinds/kind';
import { DEFAULT_CONCURRENCY, DEFAULT_FLEET_CONCURRENCY } from './lanes';
import { METRIC } from './metric-names';
import type { MetricsSink, RunLog } from './ports';
import { MultiTargetResult, RunOptions, RunRequest, TargetOutcome, runTargets } from './run';

// A deployment as the function keeps it: its targets, composed once per container, and its fleets, whose accounts
// are found again every run (an account that joins is synced on the next run, one that leaves is not touched).

/** A fleet of the deployment, and how its own failures (its accounts could not be found) and skipped accounts are told. */
export interface FleetRuntime extends SkipTeller {
  name: string;
  fleet: Fleet<SyncRuntime>;
  alerter: Alerter;
  /** What the fleet's alerts name. */
  context: AlertContext;
  metrics: MetricsSink;
  log: RunLog;
  /** False once a discovery failed in this container, until a recovery is told. */
  healthy?: boolean;
}

/** Everything one container runs. */
export interface Deployment {
  targets: SyncRuntime[];
  fleets: FleetRuntime[];
  /** How many targets (accounts included) run at once: TARGET_CONCURRENCY, else 8 with a fleet and 10 without. */
  concurrency: number;
  /** Starts an invocation: shared sources (OCM) fetch afresh, once for every target and account. */
  beginRun(): void;
}

/** The deployment's runtimes: every target now, every fleet's accounts at each run. */
export function composeDeployment(config: DeploymentConfig, deps: ComposeDeps): Deployment {
  const { shared, publisher } = composeShared(config, deps);
  const partition = config.partition ?? 'aws';
  const accountConfig = { ...config, multi: true };
  const fleetOf = (spec: FleetSpec): FleetRuntime => {
    const access = new WeakMap<SyncRuntime, SpokeAccess>();
    const fleet = new Fleet<SyncRuntime>(spec, partition, {
      discover: (stackSet, callAs) => shared.stackSetAccounts(stackSet, callAs),
      build: (accountSpec, account) => {
        const spoke = shared.spoke(account, spokeRoleArn(spec, account, partition));
        const runtime = targetRuntime(accountSpec, accountConfig, shared, publisher, deps, spoke);
        access.set(runtime, spoke);
        return runtime;
      },
      dispose: (runtime) => access.get(runtime)?.close(),
    });
    const context: AlertContext = {
      allowlist: spec.name,
      policyArn: `policy${spec.policyPath ?? '/'}${spec.policyName} in the accounts of ${accountsSource(spec)}`,
      ...(config.functionName ? { functionName: config.functionName } : {}),
    };
    const stateKey = `fleet:${spec.name}`;
    const alerter = new Alerter({ context, publisher, store: recordAlertStateStore(shared.state, stateKey), log: deps.log });
    const stackSet = stackSetOf(spec.accounts);
    return { name: spec.name, fleet, alerter, context, metrics: deps.metricsFor(spec.name), log: deps.log, state: shared.state, stateKey, ...(stackSet !== undefined ? { stackSet } : {}) };
  };
  const fleets = (config.fleets ?? []).map(fleetOf);
  return {
    targets: config.targets.map((spec) => targetRuntime(spec, config, shared, publisher, deps)),
    fleets,
    concurrency: config.concurrency ?? (fleets.length > 0 ? DEFAULT_FLEET_CONCURRENCY : DEFAULT_CONCURRENCY),
    beginRun: () => shared.beginRun(),
  };
}

/** An account of a fleet not synced this run, as the result names it. */
export interface SkippedTarget {
  /** `NAME/ACCOUNT_ID`. */
  target: string;
  /** `its stack instance in eu-west-1 is OUTDATED (FAILED) ...: not synced until CURRENT`. */
  reason: string;
}

/** A fleet's accounts for this run (and those skipped, told), or its failure told (alert once, metric, log) and returned. */
async function resolveFleet(f: FleetRuntime): Promise<{ runtimes: SyncRuntime[]; skipped: SkippedTarget[] } | { failure: string }> {
  try {
    const run = await f.fleet.resolve();
    f.metrics.addMetric(METRIC.syncSucceeded, MetricUnit.Count, 1);
    f.log.info('fleet accounts found', { fleet: f.name, accounts: run.accounts.length, joined: run.joined, left: run.left, ...(run.skipped.length > 0 ? { leftOut: run.skipped } : {}) });
    // Not CURRENT: a StackSet operation under way or failed; its policy is not synced until the instance is CURRENT.
    await tellSkipped(f, run.notCurrent, run.accounts);
    await tellRecovered(f);
    const skipped = run.notCurrent.map((n) => ({ target: `${f.name}/${n.account}`, reason: skippedLine(f.name, n).slice(`${f.name}/${n.account} skipped: `.length) }));
    return { runtimes: run.runtimes, skipped };
  } catch (err) {
    f.healthy = false;
    f.metrics.addMetric(METRIC.syncSucceeded, MetricUnit.Count, 0);
    f.log.error('fleet accounts could not be found', { fleet: f.name, code: err instanceof SyncError ? err.code : 'error', error: describeError(err) });
    await f.alerter.notify({ error: err }).catch((alertErr: unknown) => {
      f.metrics.addMetric(METRIC.alertPublishFailed, MetricUnit.Count, 1);
      f.log.error('the failure alert could not be published either', { fleet: f.name, error: describeError(alertErr) });
    });
    return { failure: `${f.name}: ${describeError(err)}` };
  }
}

/** The first discovery that works after one that failed (in any container) is told once, as a recovery. */
async function tellRecovered(f: FleetRuntime): Promise<void> {
  if (f.healthy) return;
  try {
    const previous = await f.alerter.state();
    if (previous?.status === 'failed') {
      await f.alerter.send(renderAlert('recovered', f.context, { error: undefined }, previous));
      await f.alerter.markOk();
    }
    f.healthy = true;
  } catch (err) {
    f.log.warn('could not tell that the fleet recovered', { fleet: f.name, error: describeError(err) });
  }
}

/** This invocation's runtimes: every target, and the accounts of the fleets the event names (all when it names none). */
export interface ResolvedDeployment {
  runtimes: SyncRuntime[];
  /** Fleets whose accounts could not be found (each already told): `NAME: what went wrong`. */
  failed: string[];
  /** Accounts of the fleets left out this run: no stack instance of theirs is CURRENT (each already told). */
  skipped: SkippedTarget[];
  /** Whether the event's target is a fleet or one of its accounts. */
  fleetNamed: boolean;
  /** The fleets whose accounts were found this run. */
  found: FleetRuntime[];
}

/**
 * Finds the accounts of the fleets `named` concerns (a fleet's name or `NAME/ACCOUNT`; all fleets when undefined),
 * in parallel, each failure told on its own. What an action on one account (status, rollback) resolves first too.
 */
export async function resolveDeployment(deployment: Deployment, named: string | undefined): Promise<ResolvedDeployment> {
  const fleets = deployment.fleets.filter((f) => named === undefined || named === f.name || named.startsWith(`${f.name}/`));
  const resolved = await Promise.all(fleets.map(resolveFleet));
  return {
    runtimes: [...deployment.targets, ...resolved.flatMap((r) => ('runtimes' in r ? r.runtimes : []))],
    failed: resolved.flatMap((r) => ('failure' in r ? [r.failure] : [])),
    skipped: resolved.flatMap((r) => ('skipped' in r ? r.skipped : [])),
    fleetNamed: fleets.length > 0,
    found: fleets.filter((_, i) => 'runtimes' in resolved[i]),
  };
}

/**
 * One invocation of the deployment: each fleet's accounts found (in parallel), then every target and account in
 * one bounded pool. An event's `target` names a target, a fleet (all its accounts) or one account (`NAME/ACCOUNT`).
 * A fleet whose accounts cannot be found fails alone; two entries that would write one account's policy are refused
 * there (the later one), every run, until the configuration says which one keeps it.
 */
export async function runDeployment(request: RunRequest, deployment: Deployment, options: Omit<RunOptions, 'beginRun' | 'concurrency'> = {}): Promise<MultiTargetResult> {
  const named = request.target;
  deployment.beginRun();
  const { runtimes, failed, fleetNamed, skipped: allSkipped, found } = await resolveDeployment(deployment, named);
  const selected = named === undefined ? runtimes : runtimes.filter((r) => r.name === named || (deployment.fleets.some((f) => f.name === named) && r.name.startsWith(`${named}/`)));
  const skipped = named === undefined || deployment.fleets.some((f) => f.name === named) ? allSkipped : allSkipped.filter((s) => s.target === named);
  if (selected.length === 0 && failed.length === 0 && skipped.length === 0) {
    const names = [...deployment.targets.map((r) => r.name), ...deployment.fleets.map((f) => `${f.name} (a fleet: ${f.name}/ACCOUNT_ID for one account)`)];
    throw new SyncError('bad-event', `The event names target ${JSON.stringify(named)}, but the targets are ${names.join(', ')}${fleetNamed ? ' (and that account is not in the fleet now)' : ''}.`);
  }
  const writers = new Map<string, string>();
  const runnable: SyncRuntime[] = [];
  const configFailed: TargetOutcome[] = [];
  for (const runtime of selected) {
    const other = writers.get(runtime.target.key);
    if (other === undefined) {
      writers.set(runtime.target.key, runtime.name);
      runnable.push(runtime);
      continue;
    }
    const err = new SyncError('config', `Configuration error: ${runtime.name} writes the same document as ${other} (${runtime.target.key}); only ${other} keeps it.`, 'Exclude the account from one of the two entries (excludeAccounts).');
    await runtime.alerter.notify({ error: err }).catch((alertErr: unknown) => runtime.log.error('the failure alert could not be published either', { target: runtime.name, error: describeError(alertErr) }));
    failed.push(`${runtime.name}: ${err.message}`);
    configFailed.push({ target: runtime.name, status: 'failed' });
  }
  // Roll-ups only for a fleet run whole (a run of one account says nothing of the others).
  const whole = found.filter((f) => named === undefined || named === f.name);
  const onSettled = (outcomes: readonly TargetOutcome[]) => { for (const f of whole) countAccounts(f, [...outcomes, ...configFailed]); };
  const result = await runTargets(request, runnable, { ...options, concurrency: deployment.concurrency, onSettled }, failed);
  // Every account skipped (a StackSet operation under way) is no empty fleet: the result says which, and why.
  return skipped.length > 0 ? { ...result, skipped } : result;
}

/**
 * The fleet's roll-ups of one run over all its accounts, on the fleet's own dimension: accounts refused, failed, and
 * not synced (both). Its alarms read these: CloudWatch alarms cannot select the accounts' `service` values by prefix.
 */
function countAccounts(f: FleetRuntime, outcomes: readonly TargetOutcome[]): void {
  const accounts = outcomes.filter((o) => o.target.startsWith(`${f.name}/`));
  const refused = accounts.filter((o) => o.status === 'refused').length;
  const failed = accounts.filter((o) => o.status === 'failed').length;
  f.metrics.addMetric(METRIC.fleetAccountsRefused, MetricUnit.Count, refused);
  f.metrics.addMetric(METRIC.fleetAccountsFailed, MetricUnit.Count, failed);
  f.metrics.addMetric(METRIC.fleetAccountsNotSynced, MetricUnit.Count, refused + failed);
}
