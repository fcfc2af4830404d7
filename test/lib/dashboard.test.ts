import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { CfnDashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { AllowlistSyncStack } from '../../lib/allowlist-sync-stack';
import { parseContext } from '../../lib/context';
import { METRIC, METRIC_NAMES } from '../../lambda/metric-names';
import { SyncDashboard, fleetAccountsQuery } from '../../lib/sync-dashboard';
import { logicalId, only, resourcesOfType, synth } from './support';
import type { Synth } from './support';

/**
 * The dashboard: its body, read back from the template (a Fn::Join of text and tokens), widget by widget, metric by
 * metric. Every metric of ours on it must be one the function emits, with the `service` dimension of a real target.
 */

type Json = unknown;
/** A widget of the body, as CloudWatch reads it. */
interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: Json[][]; alarms?: string[]; annotations?: { horizontal?: Array<{ value: number }> } };
}
/** One metric row of a widget: namespace, name, dimensions and options; or a math expression. */
interface Row {
  namespace?: string;
  name?: string;
  dimensions: Record<string, string>;
  options: { stat?: string; expression?: string; id?: string; visible?: boolean; label?: string };
}

/** Joins the DashboardBody's Fn::Join, tokens as `{Ref:Id}` / `{GetAtt:Id.Attr}` / `{Region}`, and parses it. */
function body(s: Synth): { widgets: Widget[]; start?: string; periodOverride?: string } {
  const [, dash] = only(s, 'AWS::CloudWatch::Dashboard');
  const raw = dash.Properties?.DashboardBody as string | { 'Fn::Join': [string, Json[]] };
  const text =
    typeof raw === 'string'
      ? raw
      : raw['Fn::Join'][1]
          .map((part) => {
            if (typeof part === 'string') return part;
            const p = part as Record<string, Json>;
            if (p.Ref === 'AWS::Region') return '{Region}';
            if (typeof p.Ref === 'string') return `{Ref:${p.Ref}}`;
            if (Array.isArray(p['Fn::GetAtt'])) return `{GetAtt:${(p['Fn::GetAtt'] as string[]).join('.')}}`;
            throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(part)}`);
          })
          .join(raw['Fn::Join'][0]);
  return JSON.parse(text);
}

/** A metric row: [namespace, name, dimName, dimValue, ..., {options}], with "." for "same as the row before". */
function rows(widget: Widget): Row[] {
  const out: Row[] = [];
  for (const row of widget.properties.metrics ?? []) {
    const last = row[row.length - 1];
    const options = (typeof last === 'object' && last !== null ? last : {}) as Row['options'];
    const parts = (options === last ? row.slice(0, -1) : row) as string[];
    if (parts.length === 0) {
      out.push({ dimensions: {}, options });
      continue;
    }
    const dimensions: Record<string, string> = {};
    for (let i = 2; i < parts.length; i += 2) dimensions[parts[i]] = parts[i + 1];
    out.push({ namespace: parts[0], name: parts[1], dimensions, options });
  }
  return out;
}

/** Our metrics on the dashboard: `service` -> metric names (with statistics), and every row of our namespace. */
function ours(s: Synth, namespace = 'AllowlistSync'): { byService: Map<string, Set<string>>; all: Row[] } {
  const all = body(s).widgets.flatMap(rows).filter((r) => r.namespace === namespace);
  const byService = new Map<string, Set<string>>();
  for (const r of all) {
    const service = r.dimensions.service;
    if (!byService.has(service)) byService.set(service, new Set());
    byService.get(service)!.add(r.name as string);
  }
  return { byService, all };
}

const titles = (s: Synth) => body(s).widgets.map((w) => w.properties.title ?? w.properties.markdown ?? '');

// Every metric a target always has on the dashboard (the attachment ones only when it keeps attachments).
const TARGET_METRICS = [
  METRIC.syncSucceeded,
  METRIC.refused,
  METRIC.policyUpdated,
  METRIC.busy,
  METRIC.concurrentWriter,
  METRIC.allowlistEntries,
  METRIC.entriesAdded,
  METRIC.entriesRemoved,
  METRIC.policySizeHeadroom,
  METRIC.policySizeChars,
  METRIC.alertPublishFailed,
  METRIC.syncDuration,
].sort();
const ATTACHMENT_METRICS = [METRIC.detached, METRIC.attachmentCheckFailed];

describe('the dashboard, one target', () => {
  const s = synth();

  test('one dashboard, named after the deployment and the region (dashboards are global to the account)', () => {
    const [, dash] = only(s, 'AWS::CloudWatch::Dashboard');
    const role = s.json.Resources[logicalId(s, s.stack.sync.role)];
    // The same unique prefix as the function's role, whose name is `<prefix>-<region>` too.
    expect(dash.Properties?.DashboardName).toEqual(role.Properties?.RoleName);
    expect(JSON.stringify(dash.Properties?.DashboardName)).toContain('AWS::Region');
  });

  test("the main allowlist's metrics: every one the function emits for a target without attachments", () => {
    const { byService, all } = ours(s);
    expect([...byService.keys()]).toEqual(['rosa-trusted-ips']);
    expect([...byService.get('rosa-trusted-ips')!].sort()).toEqual(TARGET_METRICS);
    // No other dimension: the function's EMF carries `service` only.
    for (const r of all) expect(Object.keys(r.dimensions)).toEqual(['service']);
  });

  test('outcomes: the failures are runs that neither succeeded nor were refused', () => {
    const outcome = body(s).widgets.find((w) => w.properties.title === 'rosa-trusted-ips: sync outcomes')!;
    const r = rows(outcome);
    const math = r.find((x) => x.options.expression)!;
    expect(math.options.label).toBe('failed');
    expect(math.options.expression).toBe('FILL(runs, 0) - FILL(ok, 0) - FILL(refused, 0)');
    const byId = Object.fromEntries(r.filter((x) => x.options.id).map((x) => [x.options.id, `${x.name}/${x.options.stat}`]));
    expect(byId).toMatchObject({ runs: `${METRIC.syncSucceeded}/SampleCount`, ok: `${METRIC.syncSucceeded}/Sum`, refused: `${METRIC.refused}/Sum` });
  });

  test('size headroom has the limit (0) drawn; statistics fit what each metric means', () => {
    const headroom = body(s).widgets.find((w) => w.properties.title?.includes('size headroom'))!;
    expect(headroom.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([0]);
    const stat = (name: string) => [...new Set(ours(s).all.filter((r) => r.name === name).map((r) => r.options.stat))];
    expect(stat(METRIC.policySizeHeadroom)).toEqual(['Minimum']);
    expect(stat(METRIC.allowlistEntries)).toEqual(['Maximum']);
    expect(stat(METRIC.refused)).toEqual(['Sum']);
  });

  test('the deployment rows: every alarm, the function and the dead-letter queue', () => {
    const widgets = body(s).widgets;
    const alarms = widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
    const alarmIds = Object.keys(resourcesOfType(s, 'AWS::CloudWatch::Alarm'));
    expect(alarmIds).toHaveLength(4);
    expect(alarms.sort()).toEqual(alarmIds.map((id) => `{GetAtt:${id}.Arn}`).sort());
    const fn = logicalId(s, s.stack.sync.function);
    const lambdaRows = widgets.flatMap(rows).filter((r) => r.namespace === 'AWS/Lambda');
    expect(new Set(lambdaRows.map((r) => r.name))).toEqual(new Set(['Invocations', 'Errors', 'Throttles', 'Duration']));
    for (const r of lambdaRows) expect(r.dimensions).toEqual({ FunctionName: `{Ref:${fn}}` });
    const sqsRows = widgets.flatMap(rows).filter((r) => r.namespace === 'AWS/SQS');
    expect(sqsRows.map((r) => [r.name, r.dimensions.QueueName])).toEqual([
      ['ApproximateNumberOfMessagesVisible', `{GetAtt:${logicalId(s, s.stack.sync.deadLetterQueue)}.QueueName}`],
    ]);
  });

  test("graph periods are the schedule's", () => {
    const hourly = ours(synth({ schedule: 'rate(1 hour)' })).all.filter((r) => !r.options.expression);
    expect(hourly.length).toBeGreaterThan(0);
    // CloudWatch's body carries the period (seconds) in each row's options.
    for (const r of hourly) expect((r.options as { period?: number }).period).toBe(3600);
  });
});

describe('the dashboard, several targets', () => {
  const s = synth({
    attachToRoles: ['ManagedOpenShift-Support-Role'],
    metricsNamespace: 'Security/Allowlists',
    additionalTargets: [
      { name: 'office-vpn', kind: 'trust-policy', roleName: 'BreakGlass', principals: ['arn:aws:iam::123456789012:role/Ops'], cidrs: ['203.0.113.0/24'] },
      { name: 'partner-ips', kind: 'managed-policy', cidrs: ['198.51.100.0/24'], attachToUsers: ['partner-bot'] },
      { name: 'inline', kind: 'inline-policy', roleName: 'Vendor', policyName: 'vendor-allowlist', cidrs: ['192.0.2.0/24'] },
    ],
  });

  test('one section per target, each on its own `service` dimension, in the targets\' order', () => {
    const { byService } = ours(s, 'Security/Allowlists');
    expect([...byService.keys()]).toEqual(['rosa-trusted-ips', 'office-vpn', 'partner-ips', 'inline']);
    const headers = titles(s).filter((t) => t.startsWith('## Target'));
    expect(headers).toEqual(['## Target `rosa-trusted-ips`', '## Target `office-vpn`', '## Target `partner-ips`', '## Target `inline`']);
  });

  test('attachment metrics only for the targets that keep attachments (the only ones that emit them)', () => {
    const { byService } = ours(s, 'Security/Allowlists');
    expect([...byService.get('rosa-trusted-ips')!].sort()).toEqual([...TARGET_METRICS, ...ATTACHMENT_METRICS].sort());
    expect([...byService.get('partner-ips')!].sort()).toEqual([...TARGET_METRICS, ...ATTACHMENT_METRICS].sort());
    expect([...byService.get('office-vpn')!].sort()).toEqual(TARGET_METRICS);
    expect([...byService.get('inline')!].sort()).toEqual(TARGET_METRICS);
  });

  test("every alarm of every target is on the alarm widget", () => {
    const alarms = body(s).widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
    const alarmIds = Object.keys(resourcesOfType(s, 'AWS::CloudWatch::Alarm'));
    // 4 for the deployment, refused and stale for each of the 3 targets.
    expect(alarmIds).toHaveLength(10);
    expect(alarms.sort()).toEqual(alarmIds.map((id) => `{GetAtt:${id}.Arn}`).sort());
  });
});

describe('the dashboard switch and its name', () => {
  test('dashboard: false creates none; the rest of the stack is unchanged', () => {
    const on = synth();
    const off = synth({ dashboard: false });
    expect(resourcesOfType(off, 'AWS::CloudWatch::Dashboard')).toEqual({});
    expect(off.stack.sync.dashboard).toBeUndefined();
    const others = (x: Synth) => Object.keys(x.json.Resources).filter((id) => x.json.Resources[id].Type !== 'AWS::CloudWatch::Dashboard');
    expect(others(off)).toEqual(others(on));
  });

  test('the context key: -c dashboard=false turns it off; a value that is not a boolean is refused, named', () => {
    expect(parseContext((k) => ({ dashboard: 'false' })[k]).sync.dashboard).toBe(false);
    expect(parseContext((k) => ({ dashboard: true })[k]).sync.dashboard).toBe(true);
    expect(() => parseContext((k) => ({ dashboard: 'off' })[k])).toThrow(/dashboard.*"off"/);
  });

  test('a non-boolean prop (JavaScript, parsed JSON) is refused rather than read as true', () => {
    expect(() => synth({ dashboard: 'false' as unknown as boolean })).toThrow(/invalid dashboard: expected a boolean, got "false"/);
  });

  test('two deployments in one app, and one stack in two regions, get different names', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const resolvedName = (stack: AllowlistSyncStack) => stack.resolve((stack.sync.dashboard!.dashboard.node.defaultChild as CfnDashboard).dashboardName) as string;
    const a = new AllowlistSyncStack(app, 'TeamA', { env: { account: '123456789012', region: 'eu-west-1' } });
    const b = new AllowlistSyncStack(app, 'TeamB', { env: { account: '123456789012', region: 'eu-west-1' } });
    const a2 = new AllowlistSyncStack(app, 'TeamAUs', { stackName: 'TeamA', env: { account: '123456789012', region: 'us-east-1' } });
    const names = [a, b, a2].map(resolvedName);
    expect(new Set(names).size).toBe(3);
    expect(names[0]).toMatch(/^TeamA-.*-eu-west-1$/);
    expect(names[2]).toMatch(/^TeamA-.*-us-east-1$/);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
  });
});

describe('the dashboard reads the names the function emits', () => {
  const source = (file: string) => readFileSync(path.join(__dirname, '..', '..', file), 'utf8');

  test('lib/sync-dashboard.ts never spells a metric name: every one comes from METRIC', () => {
    const text = source('lib/sync-dashboard.ts');
    const literals = [...text.matchAll(/'([^'\n]*)'|"([^"\n]*)"|`([^`\n]*)`/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    for (const name of METRIC_NAMES) expect(literals.filter((l) => l.includes(name))).toEqual([]);
  });

  test('every METRIC on the dashboard is emitted by the function (run.ts, handler.ts, or for a fleet deployment.ts and fleet-skipped.ts)', () => {
    const emitters = ['lambda/run.ts', 'lambda/handler.ts', 'lambda/deployment.ts', 'lambda/fleet-skipped.ts'].map(source).join('\n');
    const used = [...source('lib/sync-dashboard.ts').matchAll(/METRIC\.(\w+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(10);
    for (const key of new Set(used)) {
      expect(Object.keys(METRIC)).toContain(key);
      // Emitted through count(metrics, METRIC.x, ...) or metrics.addMetric(METRIC.x, ...).
      expect(emitters).toMatch(new RegExp(`(count\\(metrics, |addMetric\\()METRIC\\.${key}\\b`));
    }
  });
});

describe('the dashboard, a fleet (accounts known only at run time)', () => {
  const OU = 'ou-abcd-12345678';
  // A target whose name holds the fleet's: SEARCH's partial match would find it, so it is taken out by name.
  const s = synth({ fleet: { organizationalUnitIds: [OU] }, additionalTargets: [{ name: 'fleet-legacy', kind: 'managed-policy', cidrs: ['198.51.100.0/24'] }] });
  const fleetWidgets = () => {
    const widgets = body(s).widgets;
    return widgets.slice(widgets.findIndex((w) => w.properties.markdown?.startsWith('## Fleet `fleet`')));
  };
  const expressions = () => fleetWidgets().flatMap(rows).map((r) => r.options.expression).filter((e): e is string => e !== undefined);
  const searched = (e: string) => /MetricName="(\w+)"/.exec(e)?.[1];

  test('a section after the targets\', every account\'s metrics found by SEARCH on the `service` values holding the fleet\'s name', () => {
    expect(fleetWidgets().length).toBeGreaterThan(5);
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(8);
    for (const e of exprs) {
      expect(e).toMatch(/SEARCH\('\{"AllowlistSync",service\} MetricName="\w+" service=fleet NOT service="fleet" NOT service="fleet-legacy"', '(Sum|Minimum|Maximum)', 900\)/);
      // Only the names that could match are taken out: the main allowlist's cannot.
      expect(e).not.toContain('rosa-trusted-ips');
    }
    expect(new Set(exprs.map(searched))).toEqual(
      new Set([METRIC.syncSucceeded, METRIC.policyUpdated, METRIC.refused, METRIC.alertPublishFailed, METRIC.allowlistEntries, METRIC.policySizeHeadroom, METRIC.syncDuration]),
    );
  });

  test('headroom is the least of any account, duration the longest, refusals and alert failures summed', () => {
    const exprs = expressions();
    const of = (name: string) => exprs.filter((e) => searched(e) === name);
    expect(of(METRIC.policySizeHeadroom)).toEqual([expect.stringMatching(/^MIN\(SEARCH\(.*'Minimum', 900\)\)$/)]);
    expect(of(METRIC.syncDuration)).toEqual([expect.stringMatching(/^MAX\(SEARCH\(.*'Maximum', 900\)\)$/)]);
    expect(of(METRIC.refused)).toEqual(expect.arrayContaining([expect.stringMatching(/^SUM\(SEARCH\(.*'Sum', 900\)\)$/), expect.stringMatching(/^SEARCH\(/)]));
    const headroom = fleetWidgets().find((w) => w.properties.title?.includes('size headroom'))!;
    expect(headroom.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([0]);
  });

  test("the fleet's own counts on its dimension: refused, failed, skipped accounts, discovery and its alert failures", () => {
    const own = fleetWidgets().flatMap(rows).filter((r) => r.namespace === 'AllowlistSync' && r.dimensions.service === 'fleet');
    expect(new Set(own.map((r) => r.name))).toEqual(
      new Set([METRIC.fleetAccountsRefused, METRIC.fleetAccountsFailed, METRIC.fleetAccountsSkipped, METRIC.syncSucceeded, METRIC.alertPublishFailed]),
    );
    expect(titles(s)[0]).toContain('fleet `fleet`');
  });

  test('every alarm, the fleet\'s three included, is on the alarm widget', () => {
    const alarms = body(s).widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
    const alarmIds = Object.keys(resourcesOfType(s, 'AWS::CloudWatch::Alarm'));
    // 4 for the deployment, 2 for fleet-legacy, 3 for the fleet.
    expect(alarmIds).toHaveLength(9);
    expect(alarms.sort()).toEqual(alarmIds.map((id) => `{GetAtt:${id}.Arn}`).sort());
  });

  test('without a fleet, no SEARCH at all', () => {
    expect(JSON.stringify(body(synth()))).not.toContain('SEARCH');
  });

  test('the query: a namespace quoted, names taken out exactly, only those that hold the fleet\'s name (any case)', () => {
    expect(fleetAccountsQuery('Security/Allowlists', 'rosa-fleet', ['rosa-trusted-ips', 'Rosa-Fleet-old', 'rosa-fleet'], METRIC.refused)).toBe(
      '{"Security/Allowlists",service} MetricName="Refused" service=rosa-fleet NOT service="rosa-fleet" NOT service="Rosa-Fleet-old"',
    );
  });

  test('a query over CloudWatch\'s 1,024 characters, or a fleet name SEARCH cannot find, is refused at synthesis, named', () => {
    // The construct on its own (the function's environment bounds the targets' names before this in AllowlistSync).
    const dashboard = (fleetName: string, names: string[]) => {
      const stack = new Stack(new App(), 'Alone');
      const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>0') });
      const targets = names.map((name) => ({ name, keepsAttachments: false }));
      return new SyncDashboard(stack, 'Dash', { dashboardName: 'd', namespace: 'AllowlistSync', targets, function: fn, deadLetterQueue: new Queue(stack, 'Dlq'), alarms: [], period: Duration.minutes(15), fleet: { name: fleetName } });
    };
    const long = Array.from({ length: 14 }, (_, i) => `fleet-${String(i).padStart(58, 'x')}`);
    expect(() => dashboard('fleet', ['main', ...long.slice(0, 10)])).not.toThrow();
    expect(() => dashboard('fleet', ['main', ...long])).toThrow(/Alone\/Dash: the fleet's SEARCH query for \w+ is \d+ characters, over CloudWatch's 1024: .*fleet's name "fleet"/);
    expect(() => dashboard('._-', ['main'])).toThrow(/fleet name "\._-" has no letter or digit/);
  });
});
