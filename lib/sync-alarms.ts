import { Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AlarmTiming } from './schedule';

/** Names of the metrics the sync function emits (EMF, dimension `service` = allowlist name). */
export const SYNC_METRICS = [
  'SyncSucceeded',
  'PolicyUpdated',
  'Refused',
  'EntriesAdded',
  'EntriesRemoved',
  'AllowlistEntries',
  'PolicySizeChars',
  'PolicySizeHeadroom',
  'SyncDuration',
  'AlertPublishFailed',
] as const;

/** One of {@link SYNC_METRICS}. */
export type SyncMetricName = (typeof SYNC_METRICS)[number];

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
    // Names show up as the subject of every alert e-mail; the stack name keeps them unique.
    const name = (what: string) => `${Stack.of(this).stackName} ${allowlistName}: ${what}`;
    const metric = (metricName: SyncMetricName) =>
      new Metric({ namespace: props.namespace, metricName, dimensionsMap: { service: allowlistName }, statistic: 'Sum', period });

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

    this.refused = new Alarm(this, 'Refused', {
      alarmName: name('sync refused by a guard'),
      alarmDescription:
        `A guard refused to publish the new ${allowlistName} list (too few entries, too many removals, too broad a CIDR ` +
        `or too large a policy); the policy keeps its last good version. The alert e-mail says which guard and why.`,
      metric: metric('Refused'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.stale = new Alarm(this, 'Stale', {
      alarmName: name('allowlist stale'),
      alarmDescription:
        `No successful ${allowlistName} sync for ${timing.stalenessThreshold.toHumanString()}; the policy may lag behind ` +
        'its source. Check the other alarms, the schedule and the function logs.',
      metric: metric('SyncSucceeded'),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: timing.evaluationPeriods,
      datapointsToAlarm: timing.evaluationPeriods,
      // No datapoint means no run reported success: exactly what this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
    });

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

    const action = new SnsAction(props.topic);
    for (const alarm of [this.errors, this.refused, this.stale, this.deadLetters]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
