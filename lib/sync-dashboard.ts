import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  PeriodOverride,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IAlarm, IMetric, IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC } from '../lambda/metric-names';
import type { MetricName } from '../lambda/metric-names';

/** One target on the dashboard: the `service` dimension its metrics carry. */
export interface DashboardTarget {
  /** The target's name (the main allowlist's is the allowlist name): the metrics' `service` dimension. */
  readonly name: string;
  /** Whether the function keeps the policy attached (attachTo*), so it emits the attachment metrics. */
  readonly keepsAttachments: boolean;
}

/** Props of {@link SyncDashboard}. */
export interface SyncDashboardProps {
  /** The dashboard's name: unique in the account, across regions (dashboards are global). */
  readonly dashboardName: string;
  /** Metrics namespace (POWERTOOLS_METRICS_NAMESPACE). */
  readonly namespace: string;
  /** Every target, the main allowlist first. */
  readonly targets: readonly DashboardTarget[];
  /** The sync function (its Lambda metrics: invocations, errors, throttles). */
  readonly function: IFunction;
  /** The scheduler's dead-letter queue. */
  readonly deadLetterQueue: IQueue;
  /** The alarms of the deployment, shown with their state. */
  readonly alarms: readonly IAlarm[];
  /** The period of every graph: the schedule's (one run per datapoint). */
  readonly period: Duration;
}

/** Widths in CloudWatch's 24-column grid. */
const FULL = 24;
const THIRD = 8;
const HEIGHT = 6;

/**
 * "Look rather than read": one CloudWatch dashboard for the deployment. The top rows concern every target at once
 * (alarm states, the function's invocations and errors, undelivered scheduled runs); then a section per target,
 * on the metrics the function emits with `service` = that target's name (lambda/metric-names.ts, the names the
 * alarms use): outcomes over time, entries, size headroom, refusals, alert failures, duration, and attachments
 * where the target keeps any.
 */
export class SyncDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: SyncDashboardProps) {
    super(scope, id);
    if (props.targets.length === 0) throw new Error(`SyncDashboard ${this.node.path}: no targets to show`);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      // A week shows the daily rhythm of OCM changes and whether refusals repeat; the period is the schedule's.
      defaultInterval: Duration.days(7),
      periodOverride: PeriodOverride.INHERIT,
    });
    this.dashboard.addWidgets(...deploymentWidgets(props));
    for (const target of props.targets) this.dashboard.addWidgets(...targetWidgets(props, target));
  }
}

/** The rows every target shares: alarm states, the function, the schedule's dead letters. */
function deploymentWidgets(props: SyncDashboardProps): IWidget[] {
  const period = props.period;
  return [
    new TextWidget({
      markdown:
        `# allowlist-sync\nTargets: ${props.targets.map((t) => `\`${t.name}\``).join(', ')}. A refused or failed run keeps the last good ` +
        'document; the alert names the reason and what to do (docs/operations.md).',
      width: FULL,
      height: 2,
    }),
    new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: FULL, height: 3 }),
    new GraphWidget({
      title: 'Sync function: invocations and errors',
      left: [props.function.metricInvocations({ statistic: 'Sum', period }), props.function.metricErrors({ statistic: 'Sum', period })],
      right: [props.function.metricThrottles({ statistic: 'Sum', period })],
      width: THIRD,
      height: HEIGHT,
    }),
    new GraphWidget({
      title: 'Sync function: Lambda duration (ms)',
      left: [props.function.metricDuration({ statistic: 'Maximum', period, label: 'maximum' }), props.function.metricDuration({ statistic: 'Average', period, label: 'average' })],
      width: THIRD,
      height: HEIGHT,
    }),
    new GraphWidget({
      title: 'Scheduled runs not delivered (dead-letter queue)',
      left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period })],
      leftYAxis: { min: 0 },
      width: THIRD,
      height: HEIGHT,
    }),
  ];
}

/** One target's section, every metric with `service` = the target's name. */
function targetWidgets(props: SyncDashboardProps, target: DashboardTarget): IWidget[] {
  const m = (metricName: MetricName, statistic: string, label: string): Metric =>
    new Metric({ namespace: props.namespace, metricName, dimensionsMap: { service: target.name }, statistic, period: props.period, label });
  const runs = m(METRIC.syncSucceeded, 'SampleCount', 'runs');
  const succeeded = m(METRIC.syncSucceeded, 'Sum', 'succeeded (unchanged, updated, busy)');
  const refused = m(METRIC.refused, 'Sum', 'refused');
  // Every run that reaches a target reports SyncSucceeded (1, or 0 when it failed or was refused) and, unless it
  // failed before planning, Refused: what is left is the failures.
  const failed = new MathExpression({
    expression: 'FILL(runs, 0) - FILL(ok, 0) - FILL(refused, 0)',
    usingMetrics: { runs, ok: succeeded, refused },
    label: 'failed',
    period: props.period,
  });
  const widgets: IWidget[] = [
    new TextWidget({ markdown: `## Target \`${target.name}\``, width: FULL, height: 1 }),
    graph(`${target.name}: sync outcomes`, [succeeded, m(METRIC.policyUpdated, 'Sum', 'updated'), refused, failed], [
      m(METRIC.busy, 'Sum', 'busy (another writer held the lease)'),
      m(METRIC.concurrentWriter, 'Sum', 'another writer changed the document'),
    ]),
    graph(`${target.name}: entries`, [m(METRIC.allowlistEntries, 'Maximum', 'entries planned (in force unless refused)')], [
      m(METRIC.entriesAdded, 'Sum', 'added'),
      m(METRIC.entriesRemoved, 'Sum', 'removed'),
    ]),
    new GraphWidget({
      title: `${target.name}: size headroom to the limit (characters)`,
      left: [m(METRIC.policySizeHeadroom, 'Minimum', 'headroom')],
      right: [m(METRIC.policySizeChars, 'Maximum', 'document size')],
      leftAnnotations: [{ value: 0, label: 'the limit: a longer document is refused' }],
      width: THIRD,
      height: HEIGHT,
    }),
    new SingleValueWidget({
      title: `${target.name}: refusals and alert failures in the time range`,
      metrics: [m(METRIC.refused, 'Sum', 'refused'), m(METRIC.alertPublishFailed, 'Sum', 'alerts not published')],
      setPeriodToTimeRange: true,
      width: THIRD,
      height: HEIGHT,
    }),
    graph(`${target.name}: alert failures`, [m(METRIC.alertPublishFailed, 'Sum', 'alerts not published')]),
    graph(`${target.name}: sync duration (ms)`, [m(METRIC.syncDuration, 'Maximum', 'maximum'), m(METRIC.syncDuration, 'Average', 'average')]),
  ];
  if (target.keepsAttachments) {
    widgets.push(
      graph(`${target.name}: attachments`, [m(METRIC.detached, 'Sum', 'principals found detached'), m(METRIC.attachmentCheckFailed, 'Sum', 'checks that failed')]),
    );
  }
  return widgets;
}

function graph(title: string, left: IMetric[], right: IMetric[] = []): GraphWidget {
  return new GraphWidget({ title, left, right, leftYAxis: { min: 0 }, width: THIRD, height: HEIGHT });
}
