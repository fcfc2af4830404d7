import { Aws, Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Schedule, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { InvocationType, Trigger } from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { addAlertTopic } from './alert-topic';
import { AllowlistSyncPropsError } from './allowlist-sync-props';
import type { AllowlistSyncProps } from './allowlist-sync-props';
import { AllowlistTarget, addTargetResources } from './allowlist-target';
import { checkProps } from './check-props';
import { DEFAULTS } from './defaults';
import { Fleet } from './fleet';
import type { FleetTargetSpec } from './fleet';
import { FleetError, checkFleet } from './fleet-props';
import type { CheckedFleet } from './fleet-props';
import { LAMBDA_ENVIRONMENT_LIMIT, estimateEnvironmentSize, functionEnvironment } from './function-environment';
import { acknowledgeSchedulerRole, grantAlerts, grantOcmCredentials, grantPolicyChecks, grantStateTableKey } from './function-grants';
import type { PolicyAttachments } from './policy-attachments';
import { alarmTiming, resolveSchedule } from './schedule';
import type { AlarmTiming } from './schedule';
import { STATE_TABLE_ACTIONS, addStateTable } from './state-table';
import { FleetAlarms, SyncAlarms } from './sync-alarms';
import { SyncDashboard } from './sync-dashboard';
import { SyncFunction } from './sync-function';
import type { TargetSpec } from '../lambda/kinds/kind';

export { AllowlistSyncPropsError } from './allowlist-sync-props';
export type { AllowlistSyncProps } from './allowlist-sync-props';

/** The payload EventBridge Scheduler sends; the handler tells scheduled runs from manual ones by it. */
export const SCHEDULE_PAYLOAD = { source: 'allowlist-sync.schedule' } as const;

/** The Sids of the function's statements on the main allowlist, as they always were. */
const MAIN_SIDS = { read: 'ReadAllowlistPolicy', write: 'WriteAllowlistPolicy', readCidrs: 'ReadAllowlistCidrs', reattach: 'ReattachAllowlistPolicy' } as const;

/**
 * Keeps one IAM managed policy, "deny everything unless from trusted IPs", in sync with a trusted
 * IP source (Red Hat OCM, or static / SSM lists), on a schedule, and alerts over SNS when it cannot;
 * optionally more allowlists (`additionalTargets`) with the same function, each on its own resource.
 *
 * One writer: the policy is created with a constant placeholder that denies nothing, and only the
 * sync function publishes versions after that, so no redeploy can put an old list back.
 */
export class AllowlistSync extends Construct {
  /** ARN of the managed policy being kept in sync. */
  public readonly policyArn: string;
  /** The created policy resource; undefined when an existing policy was adopted. */
  public readonly policy?: iam.CfnManagedPolicy;
  /** The sync function. */
  public readonly function: SyncFunction;
  /** The sync function's execution role. */
  public readonly role: iam.Role;
  /** The topic alerts and alarms go to. */
  public readonly topic: sns.ITopic;
  /**
   * The state table (alert state, owed announcements, removal baselines, approvals, the writers' lease, the
   * history of unversioned documents): on-demand, point-in-time recovery, encrypted, retained.
   */
  public readonly stateTable: dynamodb.Table;
  /** The key created to encrypt the created topic; undefined for an existing topic or a given alertTopicKey. */
  public readonly topicKey?: kms.Key;
  /** The schedule that runs the function. */
  public readonly schedule: Schedule;
  /** Where Scheduler parks invocations it could not deliver. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The alarms on the sync. */
  public readonly alarms: SyncAlarms;
  /** The fleet's alarms (accounts skipped, refused, stale), when `fleet` is set. */
  public readonly fleetAlarms?: FleetAlarms;
  /** The CloudWatch dashboard, unless `dashboard` is false. */
  public readonly dashboard?: SyncDashboard;
  /** The deploy-time sync, when enabled. */
  public readonly firstSync?: Trigger;
  /** Attachments of the policy to existing principals, when any. */
  public readonly attachments?: PolicyAttachments;
  /** Alarm periods and the staleness threshold in force. */
  public readonly timing: AlarmTiming;
  /** The additional targets, in the order given. */
  public readonly targets: AllowlistTarget[] = [];
  /** Whether any target (the main one or another) takes the OCM list, so the function reads OCM credentials. */
  public readonly ocmUsed: boolean;
  /** The fleet's StackSet and its target, when `fleet` is set. */
  public readonly fleet?: Fleet;
  /** The main allowlist's name: its target name in events (`{"action":"pause","target":NAME}`), metrics and alerts. */
  public readonly allowlistName: string;

  constructor(scope: Construct, id: string, props: AllowlistSyncProps = {}) {
    super(scope, id);
    const fail = (prop: string, problem: string): never => {
      throw new AllowlistSyncPropsError(`AllowlistSync ${this.node.path}: invalid ${prop}: ${problem}`);
    };
    const checked = checkProps(props, this.rolePrefix(), fail);
    const { allowlistName, namespace, parameterName, mainOcm } = checked;
    this.allowlistName = allowlistName;
    const fleet = props.fleet === undefined ? undefined : checkFleetProps(props, checked.targets.map((t) => t.name), fail);
    this.ocmUsed = mainOcm || checked.targets.some((t) => t.ocm) || Boolean(fleet?.ocm);
    const resolved = resolveSchedule(props.schedule ?? Duration.minutes(DEFAULTS.scheduleMinutes));
    if (typeof resolved === 'string') fail('schedule', resolved);
    const scheduleSpec = resolved as Exclude<typeof resolved, string>;
    const timing = alarmTiming(scheduleSpec, props.stalenessThreshold);
    if (typeof timing === 'string') fail('schedule/stalenessThreshold', timing);
    this.timing = timing as AlarmTiming;

    // --- Alerts: a KMS-encrypted topic CloudWatch alarms can publish to, or an existing one. ---
    const alerts = addAlertTopic(this, { allowlistName, ...props });
    this.topic = alerts.topic;
    this.topicKey = alerts.topicKey;

    // --- The state table: the tool's memory, apart from the resources it protects. ---
    this.stateTable = addStateTable(this, props.stateTableKey);

    // --- The function's role and exactly what it may do. ---
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `allowlist-sync ${allowlistName}: the only writer of the allowlist policy`,
      // A name known at synth time, so no target can sit on it (checkProps refuses any role with this prefix: the
      // allowlist there would lock the function out of ever fixing it). The region keeps it unique when the same
      // stack is deployed to several regions of one account.
      roleName: `${this.rolePrefix()}-${Aws.REGION}`,
    });

    // --- Target 0, the main allowlist: built like every other target, in this construct (its ids never change). ---
    // The policy is created once with a constant placeholder (denying nothing), or adopted by ARN.
    const main = addTargetResources(this, checked.main, { role: this.role, sids: MAIN_SIDS, policyRemovalPolicy: props.policyRemovalPolicy });
    this.policyArn = main.policyArn as string;
    this.policy = main.policy;
    this.attachments = main.attachments;
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'UseStateTable', actions: [...STATE_TABLE_ACTIONS], resources: [this.stateTable.tableArn] }));
    if (props.stateTableKey) grantStateTableKey(this.role, props.stateTableKey);
    if (this.ocmUsed) grantOcmCredentials(this, this.role, parameterName, props.ocmCredentialsKeyArn ?? props.ocmCredentialsKey?.keyArn);
    grantAlerts(this.role, alerts);
    grantPolicyChecks(this.role, props.policyChecks);

    // --- Additional targets: each with its own policy or role, permissions and alarms. ---
    if (checked.targets.length > 0) {
      const scope = new Construct(this, 'Targets');
      const keys = new Set<string>();
      for (const target of checked.targets) {
        this.targets.push(
          new AllowlistTarget(scope, target.name, { target, key: uniqueKey(target.name, keys), role: this.role, topic: this.topic, namespace, timing: this.timing }),
        );
      }
    }

    // --- The fleet: a StackSet of spoke roles, and one more target spanning its accounts. ---
    if (fleet) this.fleet = new Fleet(this, 'Fleet', { fleet, role: this.role });

    // The single-target variables cannot say "ssm:" or name other targets; the list can.
    const targetSpecs: Array<TargetSpec | FleetTargetSpec> | undefined =
      this.targets.length > 0 || props.cidrsParameterName || this.fleet
        ? [main.spec, ...this.targets.map((t) => t.spec), ...(this.fleet ? [this.fleet.spec] : [])]
        : undefined;
    const environment = functionEnvironment(this, props, {
      policyArn: this.policyArn,
      topicArn: this.topic.topicArn,
      tableName: this.stateTable.tableName,
      allowlistName,
      namespace,
      parameterName,
      mainOcm,
      ocmUsed: this.ocmUsed,
      ...(targetSpecs ? { targetSpecs } : {}),
    });
    const envSize = estimateEnvironmentSize(environment, targetSpecs);
    if (envSize > LAMBDA_ENVIRONMENT_LIMIT - 100) {
      fail(
        targetSpecs ? 'additionalTargets' : 'extraCidrs',
        `the function's environment would be about ${envSize} bytes, over Lambda's limit of ${LAMBDA_ENVIRONMENT_LIMIT}: ` +
          'move long CIDR lists (extraCidrs, cidrs) into SSM parameters (cidrsParameterName)',
      );
    }

    const maxEventAge = props.maxEventAge ?? clampDuration(this.timing.period, 60, 86_400);
    this.function = new SyncFunction(this, 'Function', {
      role: this.role,
      environment,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetention: props.logRetention,
      // A queued run older than this is superseded by the next scheduled one anyway.
      maxEventAge: clampDuration(maxEventAge, 60, 6 * 3600),
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN attribute ends in ":*", which covers its streams and nothing else.
        resources: [this.function.logs.logGroupArn],
      }),
    );

    // --- Schedule, with retries and an encrypted, TLS-only dead-letter queue. ---
    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the EventBridge Scheduler target; it has an alarm when not empty.',
    });
    this.schedule = new Schedule(this, 'Schedule', {
      schedule: scheduleSpec.expression,
      description: `allowlist-sync: sync the ${allowlistName} allowlist policy`,
      target: new LambdaInvoke(this.function, {
        input: ScheduleTargetInput.fromObject(SCHEDULE_PAYLOAD),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: props.retryAttempts ?? DEFAULTS.retryAttempts,
        maxEventAge,
      }),
    });
    acknowledgeSchedulerRole(this, this.function);

    this.alarms = new SyncAlarms(this, 'Alarms', {
      function: this.function,
      deadLetterQueue: this.deadLetterQueue,
      topic: this.topic,
      namespace,
      allowlistName,
      timing: this.timing,
    });
    if (this.fleet) this.fleetAlarms = new FleetAlarms(this, 'FleetAlarms', { topic: this.topic, namespace, fleetName: this.fleet.spec.name, timing: this.timing });

    // --- One dashboard per deployment: named after the role (unique per construct path) and the region, because
    // CloudWatch dashboards are global to the account. ---
    if (props.dashboard ?? true) {
      this.dashboard = new SyncDashboard(this, 'Dashboard', {
        dashboardName: `${this.rolePrefix()}-${Stack.of(this).region}`,
        namespace,
        targets: [
          { name: allowlistName, keepsAttachments: Boolean(this.attachments) },
          ...this.targets.map((t) => ({ name: t.targetName, keepsAttachments: Boolean(t.attachments) })),
        ],
        function: this.function,
        deadLetterQueue: this.deadLetterQueue,
        alarms: [this.alarms.errors, this.alarms.refused, this.alarms.stale, this.alarms.deadLetters, ...this.targets.flatMap((t) => [t.alarms.refused, t.alarms.stale]), ...(this.fleetAlarms ? [this.fleetAlarms.skipped, this.fleetAlarms.refused, this.fleetAlarms.stale] : [])],
        period: this.timing.period,
        ...(this.fleet ? { fleet: { name: this.fleet.spec.name } } : {}),
      });
    }

    // --- First sync during deployment: `cdk deploy` ends with a current policy, or an alert saying why not. ---
    if (props.syncOnDeploy ?? true) this.firstSync = this.addFirstSync(props);
  }

  private addFirstSync(props: AllowlistSyncProps): Trigger {
    const timeout = props.timeout ?? Duration.seconds(DEFAULTS.timeoutSeconds);
    return new Trigger(this, 'FirstSync', {
      handler: this.function,
      // Asynchronous: CloudFormation runs the trigger again during a rollback, and a synchronous failure there
      // would leave the stack UPDATE_ROLLBACK_FAILED. The sync's outcome (updated, refused, failed) is alerted.
      invocationType: InvocationType.EVENT,
      timeout: Duration.seconds(timeout.toSeconds() + 30),
      // Re-run whenever the function's code or configuration changes (a new version).
      executeOnHandlerChange: true,
      executeAfter: [
        this.role,
        this.function,
        this.function.logs,
        this.stateTable,
        ...(this.policy ? [this.policy] : []),
        ...(this.attachments ? [this.attachments] : []),
        ...this.targets.flatMap((t) => [...(t.policy ? [t.policy] : []), ...(t.attachments ? [t.attachments] : [])]),
        // The first sync covers the accounts the StackSet has just reached.
        ...(this.fleet ? [this.fleet.stackSet] : []),
        // A topic from elsewhere (imported, or another stack's) is no resource of this stack to wait for.
        ...(Stack.of(this.topic) === Stack.of(this) ? [this.topic as unknown as Construct] : []),
        ...(this.topicKey ? [this.topicKey] : []),
      ],
      // Monitoring starts once there is something to monitor, so a fresh stack does not alarm.
      executeBefore: [this.schedule, this.alarms, ...this.targets.map((t) => t.alarms), ...(this.fleetAlarms ? [this.fleetAlarms] : [])],
    });
  }

  /** Role name prefix, unique per construct path and short enough for "-<region>" (64 chars in all). */
  private rolePrefix(): string {
    return Names.uniqueResourceName(this, { maxLength: 64 - 1 - 14, separator: '-' });
  }
}

/** The fleet prop, checked (`fail` names `fleet.FIELD`), its name apart from every other target's and its policy from the hub's own. */
function checkFleetProps(props: AllowlistSyncProps, targetNames: string[], fail: (prop: string, problem: string) => never): CheckedFleet {
  let fleet: CheckedFleet;
  try {
    fleet = checkFleet(props.fleet);
  } catch (err) {
    if (!(err instanceof FleetError)) throw err;
    return fail(err.field ? `fleet.${err.field}` : 'fleet', err.problem);
  }
  const taken = [props.allowlistName ?? DEFAULTS.allowlistName, ...targetNames];
  if (taken.some((n) => n.toLowerCase() === fleet.name.toLowerCase())) fail('fleet.name', `"${fleet.name}" is already the name of another target; give the fleet its own`);
  // If the hub account is in one of the OUs, its stack instance would create a policy of the hub's own policy's name.
  if (props.policyName !== undefined && props.policyName.toLowerCase() === fleet.policyName.toLowerCase()) {
    fail('fleet.policyName', `"${fleet.policyName}" is also the hub's own policy name (policyName): should the hub account be in the OUs, its stack instance would fail; name them apart`);
  }
  return fleet;
}

/** An alphanumeric key for a target name (Sids, output ids), unique among those already taken. */
function uniqueKey(name: string, taken: Set<string>): string {
  const base = name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('') || 'Target';
  let key = base;
  for (let n = 2; taken.has(key.toLowerCase()); n++) key = `${base}${n}`;
  taken.add(key.toLowerCase());
  return key;
}

function clampDuration(d: Duration, minSeconds: number, maxSeconds: number): Duration {
  return Duration.seconds(Math.min(maxSeconds, Math.max(minSeconds, d.toSeconds())));
}
