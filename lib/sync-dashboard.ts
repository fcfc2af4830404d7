import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  PeriodOverride,
  SearchExpression,
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
  /**
   * The fleet, when the deployment has one: its accounts (`NAME/ACCOUNT_ID`, known only at run time) shown through
   * SEARCH expressions, its own roll-ups by name.
   * @default no fleet section
   */
  readonly fleet?: DashboardFleet;
}

/** The fleet on the dashboard. */
export interface DashboardFleet {
  /** The fleet's name: its own `service` dimension, and the prefix of its accounts' (`NAME/ACCOUNT_ID`). */
  readonly name: string;
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
    if (props.fleet) this.dashboard.addWidgets(...fleetWidgets(props, props.fleet, this.node.path));
  }
}

/** The rows every target shares: alarm states, the function, the schedule's dead letters. */
function deploymentWidgets(props: SyncDashboardProps): IWidget[] {
  const period = props.period;
  return [
    new TextWidget({
      markdown:
        `# allowlist-sync\nTargets: ${props.targets.map((t) => `\`${t.name}\``).join(', ')}${props.fleet ? `, fleet \`${props.fleet.name}\`` : ''}. A refused or failed run keeps the last good ` +
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

/** CloudWatch's limit on a search expression's query (the part in single quotes). */
const SEARCH_QUERY_LIMIT = 1024;

/**
 * The SEARCH query of one metric of the fleet's accounts. SEARCH has no prefix match: `service=NAME` matches every
 * `service` value holding NAME's tokens (CloudWatch splits values at non-alphanumerics, digits and camel case, so
 * `fleet/123456789012` holds `fleet`), then `NOT service="..."` (exact) takes out the deployment's own values that
 * may hold them too: the fleet's own dimension and any target whose name contains the fleet's.
 */
export function fleetAccountsQuery(namespace: string, fleet: string, others: readonly string[], metricName: MetricName): string {
  const excluded = [fleet, ...others.filter((o) => o !== fleet && o.toLowerCase().includes(fleet.toLowerCase()))];
  return `{"${namespace}",service} MetricName="${metricName}" service=${fleet} ${excluded.map((e) => `NOT service="${e}"`).join(' ')}`;
}

/** The fleet's section: each account's metrics found by SEARCH (per account, or aggregated), the fleet's roll-ups by name. */
function fleetWidgets(props: SyncDashboardProps, fleet: DashboardFleet, path: string): IWidget[] {
  const { period, namespace } = props;
  if (!/[A-Za-z0-9]/.test(fleet.name)) {
    throw new Error(`SyncDashboard ${path}: fleet name "${fleet.name}" has no letter or digit, so no SEARCH can find its accounts' metrics; name the fleet with one`);
  }
  const others = props.targets.map((t) => t.name);
  const search = (metricName: MetricName, statistic: string): string => {
    const query = fleetAccountsQuery(namespace, fleet.name, others, metricName);
    if (query.length > SEARCH_QUERY_LIMIT) {
      throw new Error(`SyncDashboard ${path}: the fleet's SEARCH query for ${metricName} is ${query.length} characters, over CloudWatch's ${SEARCH_QUERY_LIMIT}: too many targets' names contain the fleet's name "${fleet.name}"; rename the fleet`);
    }
    return `SEARCH('${query}', '${statistic}', ${period.toSeconds()})`;
  };
  // One line per account; the label is the account's `service` value.
  const each = (metricName: MetricName, statistic: string, label: string): IMetric => new SearchExpression({ expression: search(metricName, statistic), label, period });
  // One line across the accounts: SUM, MIN or MAX of the search.
  const across = (fn: 'SUM' | 'MIN' | 'MAX', metricName: MetricName, statistic: string, label: string): IMetric =>
    new MathExpression({ expression: `${fn}(${search(metricName, statistic)})`, label, period });
  const own = (metricName: MetricName, statistic: string, label: string): Metric =>
    new Metric({ namespace, metricName, dimensionsMap: { service: fleet.name }, statistic, period, label });
  const name = fleet.name;
  return [
    new TextWidget({
      markdown: `## Fleet \`${name}\`\nEach account is a target \`${name}/ACCOUNT_ID\`, found by SEARCH (accounts come and go); the alarms read the fleet's own counts per run.`,
      width: FULL,
      height: 2,
    }),
    graph(`${name}: accounts per run`, [own(METRIC.fleetAccountsRefused, 'Maximum', 'refused'), own(METRIC.fleetAccountsFailed, 'Maximum', 'failed'), own(METRIC.fleetAccountsSkipped, 'Maximum', 'skipped (not CURRENT)')], [
      own(METRIC.syncSucceeded, 'Minimum', 'accounts found (1) or not (0)'),
    ]),
    graph(`${name}: syncs succeeded, per account`, [each(METRIC.syncSucceeded, 'Sum', 'succeeded')]),
    graph(`${name}: updated and refused, per account`, [each(METRIC.policyUpdated, 'Sum', 'updated'), each(METRIC.refused, 'Sum', 'refused')]),
    new SingleValueWidget({
      title: `${name}: refusals and alert failures in the time range, all accounts`,
      metrics: [across('SUM', METRIC.refused, 'Sum', 'refused'), across('SUM', METRIC.alertPublishFailed, 'Sum', 'alerts not published (accounts)'), own(METRIC.alertPublishFailed, 'Sum', 'alerts not published (fleet)')],
      setPeriodToTimeRange: true,
      width: THIRD,
      height: HEIGHT,
    }),
    graph(`${name}: entries, per account`, [each(METRIC.allowlistEntries, 'Maximum', 'entries')]),
    new GraphWidget({
      title: `${name}: size headroom to the limit, the least of any account (characters)`,
      left: [across('MIN', METRIC.policySizeHeadroom, 'Minimum', 'least headroom')],
      leftAnnotations: [{ value: 0, label: 'the limit: a longer document is refused' }],
      width: THIRD,
      height: HEIGHT,
    }),
    graph(`${name}: sync duration, the longest of any account (ms)`, [across('MAX', METRIC.syncDuration, 'Maximum', 'maximum')]),
    graph(`${name}: alert failures`, [across('SUM', METRIC.alertPublishFailed, 'Sum', 'accounts'), own(METRIC.alertPublishFailed, 'Sum', 'the fleet (discovery, skipped)')]),
  ];
}
