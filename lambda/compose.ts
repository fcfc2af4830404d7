import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { AccessAnalyzerClient } from '@aws-sdk/client-accessanalyzer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { STSClient } from '@aws-sdk/client-sts';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Alerter, AlertPublisher, AlertStateStore, MemoryAlertStateStore, lazySnsClient, recordAlertStateStore, snsPublisher } from './alerts';
import { DeploymentConfig, EntrySettings, Env, PolicyCheckSettings, SdkSettings, loadDeploymentConfig, loadPolicyCheckSettings, loadSdkSettings, ocmOptionsFromEnv } from './config';
import type { KindName, SpecOf, TargetSpec } from './kinds/kind';
import { kindOf } from './kinds/registry';
import type { PlanOptions } from './allowlist';
import { SyncError } from './errors';
import type { AttachedPrincipal, AttachmentOps, Log, MetricsSink, PolicyType, PolicyVerifier, RunLog, Source, SourceResult, StateStore, Target, TargetRecord } from './ports';
import { SourceSpec, parseSource } from './sources/grammar';
import { createOcmSource } from './sources/ocm';
import type { OcmHttpSettings } from './sources/ocm-http';
import { fileSource } from './sources/file';
import { ssmListSource } from './sources/ssm-list';
import { staticSource } from './sources/static';
import { createDynamoClient, dynamoStateStore } from './state/dynamodb-store';
import { memoryStateStore } from './state/json-store';
import { createIamClient } from './targets/managed-policy';
import { attachmentOps } from './targets/attachments';
import { SpokeAccess, spokeAccess, createStsClient } from './targets/spoke-credentials';

export type { SpokeAccess } from './targets/spoke-credentials';
import { StackSetAccounts, createCloudFormationClient, stackSetAccounts } from './targets/stack-instances';
import { createAccessAnalyzerClient } from './targets/access-analyzer-client';
import { awsPolicyChecks } from './targets/policy-checks';
import type { AttachmentRule } from './attachments';
import { parsePrincipal } from './validate';

// The composition root: configuration plus clients become runtimes, the same way for the Lambda handler and the
// CLI. Adapters are built here and nowhere else; the kinds say how.

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
  /** Targets with the same lane run one after the other (the kind's `lane`: one role's policies); unset, its own. */
  lane?: string;
  /** A managed policy's principals it must stay attached to (attachTo*), checked after every sync. */
  attachments?: { rule: AttachmentRule; ops: AttachmentOps };
  /** A managed policy: its IAM client and ARN, for `status` (its versions) and `rollback` (to one of them). */
  versions?: { iam: () => IAMClient; policyArn: string };
  /** IAM's simulator and Access Analyzer before a write (POLICY_CHECKS); unset for a kind they are not asked about. */
  policyChecks?: { verifier: PolicyVerifier; policyType: PolicyType };
}

/** AWS clients; each is built once. Tests pass mocked ones (or a state store of their own). */
export interface Clients {
  iam?: IAMClient;
  sns?: SNSClient;
  ssm?: SSMClient;
  dynamodb?: DynamoDBClient;
  accessAnalyzer?: AccessAnalyzerClient;
  state?: StateStore;
  /** A fleet's: AssumeRole into each account, and ListStackInstances. */
  sts?: STSClient;
  cloudformation?: CloudFormationClient;
}

/** Waits and retries the adapters use; unset fields keep production's defaults. A parameter, never module state. */
export interface Tuning {
  /** OCM HTTP limits and backoff (`baseDelayMs`, `attempts`...). */
  ocmHttp?: Partial<OcmHttpSettings>;
  /** Waits for IAM to report a new default version (see `ManagedPolicyTargetOptions.confirmDelaysMs`). */
  confirmDelaysMs?: readonly number[];
  /** Waits before trying a lease another writer holds again (see `SyncOptions.leaseWaitsMs`). */
  leaseWaitsMs?: readonly number[];
}

/** What composing needs besides the configuration. */
export interface ComposeDeps {
  /** The environment the configuration came from: OCM's settings are read (by the config module) only when a target uses OCM. */
  env: Env;
  log: RunLog;
  metricsFor: (targetName: string) => MetricsSink;
  clients?: Clients;
  tuning?: Tuning;
}

/** The whole OCM fetch must end well inside the function's timeout, leaving time to write and alert. */
const OCM_FETCH_TIMEOUT_MS = 40_000;

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

/** Clients and sources the targets of one container (or one CLI run) share. */
export class Shared {
  readonly iam: () => IAMClient;
  readonly ssm: () => SSMClient;
  readonly state: StateStore;
  /** The AWS policy checks every target of the container shares (each "not offered here" is told once). */
  readonly verifier: PolicyVerifier;
  private ocm: (Source & { reset(): void }) | undefined;
  /** SSM lists by parameter name, like OCM read once per run however many targets (a fleet's accounts) list them. */
  private readonly ssmLists = new Map<string, Source & { reset(): void }>();
  private iamClient: IAMClient | undefined;
  private ssmClient: SSMClient | undefined;
  private stsClient: STSClient | undefined;
  private cfnClient: CloudFormationClient | undefined;

  constructor(
    private readonly deps: { env: Env; log?: RunLog; clients: Clients; tuning: Tuning; stateTable?: string; sdk: SdkSettings; policyChecks?: PolicyCheckSettings; checkLog?: Log },
  ) {
    const { clients } = deps;
    const checks = deps.policyChecks ?? loadPolicyCheckSettings(deps.env);
    const checkLog = deps.checkLog ?? deps.log;
    let analyzer: AccessAnalyzerClient | undefined;
    this.verifier = awsPolicyChecks({
      ...checks,
      iam: () => this.iam(),
      accessAnalyzer: () => (analyzer ??= clients.accessAnalyzer ?? createAccessAnalyzerClient({}, deps.sdk)),
      ...(checkLog ? { log: checkLog } : {}),
    });
    this.iam = () => (this.iamClient ??= clients.iam ?? createIamClient({}, deps.sdk));
    this.ssm = () => (this.ssmClient ??= clients.ssm ?? new SSMClient({}));
    this.state = clients.state ?? (deps.stateTable ? dynamoStateStore(clients.dynamodb ?? createDynamoClient(), deps.stateTable) : memoryStateStore('memory of this container (STATE_TABLE is not set)'));
  }

  /** A source by its spelling (sources/grammar.ts); OCM is one source for all targets, fetched once per run. `name` names a static list in messages. */
  source(text: string, name = text): Source {
    const spec = parseSource(text);
    if (typeof spec === 'string') throw new SyncError('config', `Configuration error: ${spec}.`);
    return this.sourceOf(spec, name);
  }

  private sourceOf(spec: SourceSpec, name: string): Source {
    switch (spec.kind) {
      case 'ocm':
        this.ocm ??= sharedPerRun(
          createOcmSource({
            ...ocmOptionsFromEnv(this.deps.env, { ssmClient: this.ssm(), ...(this.deps.log ? { logger: this.deps.log } : {}) }),
            fetchTimeoutMs: OCM_FETCH_TIMEOUT_MS,
            ...(this.deps.tuning.ocmHttp ? { http: this.deps.tuning.ocmHttp } : {}),
          }),
        );
        return this.ocm;
      case 'ssm': {
        let list = this.ssmLists.get(spec.parameterName);
        if (!list) this.ssmLists.set(spec.parameterName, (list = sharedPerRun(ssmListSource(this.ssm(), spec.parameterName))));
        return list;
      }
      case 'static':
        return staticSource(spec.entries, name);
      case 'file':
        return fileSource(spec.path);
    }
  }

  /** One fleet account's IAM: the role assumed there, its credentials kept until shortly before they expire. */
  spoke(account: string, roleArn: string): SpokeAccess {
    return spokeAccess({
      sts: () => (this.stsClient ??= this.deps.clients.sts ?? createStsClient()),
      roleArn,
      account,
      iamWith: (credentials) => createIamClient({ credentials }, this.deps.sdk),
    });
  }

  /** The accounts of a StackSet's CURRENT instances (ListStackInstances, in the function's region). */
  stackSetAccounts(stackSetName: string, callAs: 'SELF' | 'DELEGATED_ADMIN'): Promise<StackSetAccounts> {
    return stackSetAccounts((this.cfnClient ??= this.deps.clients.cloudformation ?? createCloudFormationClient()), stackSetName, callAs);
  }

  /** The policy checks of a target of this spec's kind, or nothing for a kind the engines are not asked about (a file). */
  policyChecksFor(spec: TargetSpec): { policyChecks?: { verifier: PolicyVerifier; policyType: PolicyType } } {
    const policyType = kindOf(spec).policyType;
    return policyType ? { policyChecks: { verifier: this.verifier, policyType } } : {};
  }

  /** Starts an invocation: shared sources fetch afresh, once. */
  beginRun(): void {
    this.ocm?.reset();
    for (const list of this.ssmLists.values()) list.reset();
  }
}

/** The guards and shape a target's plans use: its kind's size limit unless the spec raises it. */
export function planOptionsOf<K extends KindName>(spec: SpecOf<K>): PlanOptions {
  const kind = kindOf(spec);
  const filters = spec.include !== undefined || spec.exclude !== undefined ? { filters: { ...(spec.include ? { include: spec.include } : {}), ...(spec.exclude ? { exclude: spec.exclude } : {}) } } : {};
  return { guards: { ...spec.guards, sizeLimit: spec.guards?.sizeLimit ?? kind.sizeLimit.default }, shape: kind.shape(spec), ...filters };
}

/** The attachments a managed-policy target must keep (names from names or ARNs), when it lists any. */
function attachmentsOf(spec: TargetSpec, iam: () => IAMClient | Promise<IAMClient>): Pick<SyncRuntime, 'attachments'> {
  if (spec.kind !== 'managed-policy') return {};
  const principals: AttachedPrincipal[] = [];
  for (const [field, kind] of [['attachToRoles', 'role'], ['attachToUsers', 'user'], ['attachToGroups', 'group']] as const) {
    for (const value of spec[field] ?? []) {
      const ref = parsePrincipal(kind, value);
      // Validated with the spec; a value that fails here was never accepted.
      if (typeof ref !== 'string') principals.push({ kind, name: ref.name });
    }
  }
  if (principals.length === 0) return {};
  return { attachments: { rule: { policyArn: spec.policyArn, principals, reattach: spec.reattach ?? true }, ops: attachmentOps(iam, spec.policyArn) } };
}

/**
 * A target whose IAM client comes from `iam()` at each use (a fleet account's, through the role assumed there),
 * its adapter built again whenever the client is new (credentials renewed). Same name and key as the kind's own.
 */
function deferredTarget(spec: TargetSpec, iam: () => Promise<IAMClient>, deps: ComposeDeps): Target {
  const kind = kindOf(spec);
  let built: { client: IAMClient; target: Target } | undefined;
  const open = async (): Promise<Target> => {
    const client = await iam();
    if (built?.client !== client) built = { client, target: kind.target(spec, { iam: () => client, log: deps.log, ...(deps.tuning?.confirmDelaysMs ? { confirmDelaysMs: deps.tuning.confirmDelaysMs } : {}) }) };
    return built.target;
  };
  return { name: kind.formatCli(spec), key: kind.documentKey(spec), versioned: true, read: async () => (await open()).read(), write: async (request) => (await open()).write(request) };
}

/** One target's runtime; `account` for a fleet's account (its IAM through the role assumed there). */
export function targetRuntime(spec: TargetSpec, config: DeploymentConfig, shared: Shared, publisher: AlertPublisher, deps: ComposeDeps, account?: SpokeAccess): SyncRuntime {
  const kind = kindOf(spec);
  // A fleet is made of managed policies (versioned, kinds/fleet.ts); no other kind is reached through a spoke role.
  if (account && spec.kind !== 'managed-policy') throw new Error(`${spec.name}: only a managed-policy target can belong to a fleet account`);
  const target = account
    ? deferredTarget(spec, account.iam, deps)
    : kind.target(spec, { iam: shared.iam, log: deps.log, ...(deps.tuning?.confirmDelaysMs ? { confirmDelaysMs: deps.tuning.confirmDelaysMs } : {}) });
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
      policyArn: kind.resource(spec),
      cliTarget: kind.formatCli(spec),
      ...(config.multi ? { eventTarget: spec.name } : {}),
      ...(config.functionName ? { functionName: config.functionName } : {}),
      cliSources: spec.sources,
    },
    publisher,
    store,
    log: deps.log,
  });
  return {
    name: spec.name,
    resource: kind.resource(spec),
    ...(kind.lane ? { lane: kind.lane(spec) } : {}),
    ...attachmentsOf(spec, account ? account.iam : shared.iam),
    // status and rollback read versions with the hub's client: a fleet account's policy is reached through its spoke role only.
    ...(spec.kind === 'managed-policy' && !account ? { versions: { iam: shared.iam, policyArn: spec.policyArn } } : {}),
    ...shared.policyChecksFor(spec),
    dryRun: config.dryRun || spec.dryRun === true,
    plan: planOptionsOf(spec),
    // The single-target variables name their static list after the variable, as they always have.
    sources: spec.sources.map((s) => shared.source(s, !config.multi && s.startsWith('static:') ? 'static:EXTRA_CIDRS' : s)),
    target,
    alerter,
    state: shared.state,
    log: deps.log,
    metrics: deps.metricsFor(spec.name),
    beginRun: () => shared.beginRun(),
    ...(deps.tuning?.leaseWaitsMs ? { leaseWaitsMs: deps.tuning.leaseWaitsMs } : {}),
    keepRecord: (r) => {
      record = r;
    },
  };
}

/** What every target of a deployment shares: clients, the OCM source, the state store, the alert topic. */
export function composeShared(config: DeploymentConfig, deps: ComposeDeps): { shared: Shared; publisher: AlertPublisher } {
  const clients = deps.clients ?? {};
  const shared = new Shared({ env: deps.env, log: deps.log, clients, tuning: deps.tuning ?? {}, ...(config.stateTable ? { stateTable: config.stateTable } : {}), sdk: loadSdkSettings(deps.env), ...(config.policyChecks ? { policyChecks: config.policyChecks } : {}) });
  return { shared, publisher: snsPublisher(clients.sns ?? lazySnsClient(), config.alertTopicArn) };
}

/**
 * Every target's runtime of a deployment without fleets, sharing clients, the OCM source and the state store. A
 * fleet's targets are only known at run time: composeDeployment (lambda/deployment.ts) keeps those.
 */
export function composeRuntimes(config: DeploymentConfig, deps: ComposeDeps): SyncRuntime[] {
  if (config.fleets?.length) throw new SyncError('config', `Configuration error: ${config.fleets.map((f) => f.name).join(', ')} ${config.fleets.length === 1 ? 'is a fleet' : 'are fleets'} (with "accounts"), which only the function keeps.`);
  const { shared, publisher } = composeShared(config, deps);
  return config.targets.map((spec) => targetRuntime(spec, config, shared, publisher, deps));
}

/**
 * Every target's runtime from an environment (`ALLOWLIST_TARGETS`, or the single-target variables): the
 * configuration read and validated, then composed. Throws a SyncError naming the variable when it is wrong.
 */
export function buildRuntimes(env: Env, log: RunLog, metricsFor: (targetName: string) => MetricsSink, clients: Clients = {}, tuning: Tuning = {}): SyncRuntime[] {
  return composeRuntimes(loadDeploymentConfig(env), { env, log, metricsFor, clients, tuning });
}

/** The runtime of a single-target configuration (the single-target variables). */
export function buildRuntime(env: Env, log: RunLog, metrics: MetricsSink, clients: Clients = {}, tuning: Tuning = {}): SyncRuntime {
  return buildRuntimes({ ...env, ALLOWLIST_TARGETS: undefined }, log, () => metrics, clients, tuning)[0];
}

/**
 * Where a configuration error is told: the deployment's topic, with its alert state in memory (a container never
 * repeats it) and, with STATE_TABLE, in the table as the deployment's record (cold starts do not repeat it either,
 * and its fix is told as a recovery). Undefined without a topic.
 */
export function composeConfigAlerter(entry: EntrySettings, deps: { clients?: Clients; log?: RunLog }): Alerter | undefined {
  if (!entry.alertTopicArn) return undefined;
  const clients = deps.clients ?? {};
  const memory = new MemoryAlertStateStore();
  const durable = entry.stateTable
    ? recordAlertStateStore(clients.state ?? dynamoStateStore(clients.dynamodb ?? createDynamoClient(), entry.stateTable), `deployment:${entry.functionName ?? entry.allowlistName}`)
    : undefined;
  const store: AlertStateStore = durable
    ? {
        load: async () => (await memory.load()) ?? durable.load(),
        save: async (state) => {
          await memory.save(state);
          await durable.save(state);
        },
      }
    : memory;
  return new Alerter({
    context: { allowlist: entry.allowlistName, policyArn: entry.policyArn || '(POLICY_ARN unset)' },
    publisher: snsPublisher(clients.sns ?? lazySnsClient(), entry.alertTopicArn),
    store,
    ...(deps.log ? { log: deps.log } : {}),
  });
}
