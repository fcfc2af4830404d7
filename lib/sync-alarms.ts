import { Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmTiming } from './schedule';
import { METRIC, METRIC_NAMES } from '../lambda/metric-names';
import type { MetricName } from '../lambda/metric-names';

/** Names of the metrics the sync function emits (EMF, dimension `service` = allowlist name): lambda/metric-names.ts. */
export const SYNC_METRICS = METRIC_NAMES;

/** One of {@link SYNC_METRICS}. */
export type SyncMetricName = MetricName;

/** Props of {@link SyncAlarms}. */
export interface SyncAlarmsProps {
  /** The sync function. */
  readonly function: IFunction;
  /** The scheduler's dead-letter queue. */
  readonly deadLetterQueue: IQueue;
  /** Where alarms (and their recoveries) are sent. */
  readonly topic: ITopic;
  /** Metrics namespace (POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** Allowlist name: the `service` dimension and part of each alarm name. */
  readonly allowlistName: string;
  /** Periods derived from the schedule. */
  readonly timing: AlarmTiming;
}

/** The four alarms that say the allowlist may be wrong or stale, each wired to the topic. */
export class SyncAlarms extends Construct {
  /** Sync function errors (Lambda Errors >= 1). */
  public readonly errors: Alarm;
  /** The guards refused a change (Refused >= 1). */
  public readonly refused: Alarm;
  /** No successful sync for the staleness threshold; missing data counts as stale. */
  public readonly stale: Alarm;
  /** Scheduler could not invoke the function (messages in its dead-letter queue). */
  public readonly deadLetters: Alarm;

  constructor(scope: Construct, id: string, props: SyncAlarmsProps) {
    super(scope, id);
    const { timing, allowlistName } = props;
    const period = timing.period;
    const every = period.toHumanString();
    const name = (what: string) => alarmName(this, allowlistName, what);

    this.errors = new Alarm(this, 'Errors', {
      alarmName: name('sync function failing'),
      alarmDescription:
        `The allowlist-sync function for ${allowlistName} raised an error in the last ${every}; the policy keeps its last ` +
        `good version. Read the function's log group for the error, fix it, then run the function by hand (see the stack outputs).`,
      metric: props.function.metricErrors({ statistic: 'Sum', period }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.refused = refusedAlarm(this, { ...props, name: allowlistName });
    this.stale = staleAlarm(this, { ...props, name: allowlistName });

    this.deadLetters = new Alarm(this, 'DeadLetters', {
      alarmName: name('scheduled runs undelivered'),
      alarmDescription:
        `EventBridge Scheduler could not invoke the ${allowlistName} sync function and parked the event in its ` +
        'dead-letter queue. Read a message there for the error, fix it, then purge the queue.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    notify(props.topic, [this.errors, this.refused, this.stale, this.deadLetters]);
  }
}

/** Props of {@link TargetAlarms}. */
export interface TargetAlarmsProps {
  /** Where alarms (and their recoveries) are sent. */
  readonly topic: ITopic;
  /** Metrics namespace (POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** The target's name: the `service` dimension and part of each alarm name. */
  readonly targetName: string;
  /** Periods derived from the schedule. */
  readonly timing: AlarmTiming;
}

/**
 * The alarms of one additional target: its refusals and its staleness, on the metrics the function
 * emits with `service` = the target's name. Function errors and dead letters concern every target at
 * once and stay with {@link SyncAlarms}.
 */
export class TargetAlarms extends Construct {
  /** The guards refused a change of this target (Refused >= 1). */
  public readonly refused: Alarm;
  /** No successful sync of this target for the staleness threshold; missing data counts as stale. */
  public readonly stale: Alarm;

  constructor(scope: Construct, id: string, props: TargetAlarmsProps) {
    super(scope, id);
    this.refused = refusedAlarm(this, { ...props, name: props.targetName });
    this.stale = staleAlarm(this, { ...props, name: props.targetName });
    notify(props.topic, [this.refused, this.stale]);
  }
}

/** Props of {@link FleetAlarms}. */
export interface FleetAlarmsProps {
  /** Where alarms (and their recoveries) are sent. */
  readonly topic: ITopic;
  /** Metrics namespace (POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** The fleet's name: the `service` dimension of its own metrics, and part of the alarm name. */
  readonly fleetName: string;
  /** Periods derived from the schedule. */
  readonly timing: AlarmTiming;
}

/**
 * The fleet's alarms, on the roll-ups the function emits on the fleet's own dimension after each run over all its
 * accounts (lambda/deployment.ts): an alarm cannot select the accounts' own dimensions (`NAME/ACCOUNT_ID`, known only
 * at run time) by prefix, neither with SEARCH (refused in alarms) nor with Metrics Insights (`=` and `!=` only).
 * - skipped: accounts left out because their stack instance is not CURRENT, whose lists freeze there. A StackSet
 *   operation under way makes instances OUTDATED for minutes (each skip is alerted at once anyway); the alarm fires
 *   when some stay skipped for the staleness threshold.
 * - refused: a guard refused an account's change in the period, like a target's refused alarm.
 * - stale: in every run over the fleet for the staleness threshold, some account was not synced (refused or failed),
 *   or no such run reported at all (the accounts could not be found). Two accounts failing by turns fire it too:
 *   loud rather than silent; the per-account alerts say which.
 */
export class FleetAlarms extends Construct {
  /** FleetAccountsSkipped >= 1 in every period of the staleness threshold. */
  public readonly skipped: Alarm;
  /** FleetAccountsRefused >= 1: a guard refused some account's change. */
  public readonly refused: Alarm;
  /** FleetAccountsNotSynced >= 1 in every run of every period of the staleness threshold; missing data counts as stale. */
  public readonly stale: Alarm;

  constructor(scope: Construct, id: string, props: FleetAlarmsProps) {
    super(scope, id);
    const { timing, fleetName } = props;
    const fleetMetric = (metricName: MetricName, statistic: string) =>
      new Metric({ namespace: props.namespace, metricName, dimensionsMap: { service: fleetName }, statistic, period: timing.period });
    this.skipped = new Alarm(this, 'Skipped', {
      alarmName: alarmName(this, fleetName, 'fleet accounts skipped'),
      alarmDescription:
        `Accounts of the ${fleetName} fleet have not been synced for ${timing.stalenessThreshold.toHumanString()}: their ` +
        'stack instance of the spoke StackSet is not CURRENT, so their allowlist is frozen. The "skipped" alert names ' +
        'each account and its status; fix the StackSet operation (see docs/fleet.md), the next run syncs them.',
      metric: fleetMetric(METRIC.fleetAccountsSkipped, 'Maximum'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: timing.evaluationPeriods,
      datapointsToAlarm: timing.evaluationPeriods,
      // No datapoint: no run, which the errors and dead-letter alarms are for.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.refused = new Alarm(this, 'Refused', {
      alarmName: alarmName(this, fleetName, 'fleet accounts refused'),
      alarmDescription:
        `A guard refused to publish the new list in some accounts of the ${fleetName} fleet; their policy keeps its last ` +
        `good version. Each refused account has its own alert (${fleetName}/ACCOUNT_ID refused) saying which guard and why.`,
      metric: fleetMetric(METRIC.fleetAccountsRefused, 'Sum'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.stale = new Alarm(this, 'Stale', {
      alarmName: alarmName(this, fleetName, 'fleet accounts stale'),
      alarmDescription:
        `For ${timing.stalenessThreshold.toHumanString()}, every run of the ${fleetName} fleet left some account not synced ` +
        '(refused or failed), or no run reached its accounts; those allowlists may lag behind their source. The ' +
        `${fleetName}/ACCOUNT_ID alerts name the accounts and why; check the dashboard's fleet section and the function logs.`,
      // Minimum: one run in the period that synced every account is enough to say the fleet is current.
      metric: fleetMetric(METRIC.fleetAccountsNotSynced, 'Minimum'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: timing.evaluationPeriods,
      datapointsToAlarm: timing.evaluationPeriods,
      // No datapoint: no run found the accounts (discovery failing, or no run at all): stale too.
      treatMissingData: TreatMissingData.BREACHING,
    });
    notify(props.topic, [this.skipped, this.refused, this.stale]);
  }
}

interface AllowlistAlarmProps {
  readonly namespace: string;
  /** Allowlist or target name: the `service` dimension. */
  readonly name: string;
  readonly timing: AlarmTiming;
}

// Names show up as the subject of every alert e-mail; the stack name keeps them unique.
function alarmName(scope: Construct, allowlistName: string, what: string): string {
  return `${Stack.of(scope).stackName} ${allowlistName}: ${what}`;
}

function syncMetric(props: AllowlistAlarmProps, metricName: SyncMetricName): Metric {
  return new Metric({ namespace: props.namespace, metricName, dimensionsMap: { service: props.name }, statistic: 'Sum', period: props.timing.period });
}

function refusedAlarm(scope: Construct, props: AllowlistAlarmProps): Alarm {
  return new Alarm(scope, 'Refused', {
    alarmName: alarmName(scope, props.name, 'sync refused by a guard'),
    alarmDescription:
      `A guard refused to publish the new ${props.name} list (too few entries, too many removals, too broad a CIDR ` +
      `or too large a policy); the policy keeps its last good version. The alert e-mail says which guard and why.`,
    metric: syncMetric(props, METRIC.refused),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

function staleAlarm(scope: Construct, props: AllowlistAlarmProps): Alarm {
  const { timing } = props;
  return new Alarm(scope, 'Stale', {
    alarmName: alarmName(scope, props.name, 'allowlist stale'),
    alarmDescription:
      `No successful ${props.name} sync for ${timing.stalenessThreshold.toHumanString()}; the policy may lag behind ` +
      'its source. Check the other alarms, the schedule and the function logs.',
    metric: syncMetric(props, METRIC.syncSucceeded),
    threshold: 1,
    comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: timing.evaluationPeriods,
    datapointsToAlarm: timing.evaluationPeriods,
    // No datapoint means no run reported success: exactly what this alarm is for.
    treatMissingData: TreatMissingData.BREACHING,
  });
}

function notify(topic: ITopic, alarms: Alarm[]): void {
  const action = new SnsAction(topic);
  for (const alarm of alarms) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
}
