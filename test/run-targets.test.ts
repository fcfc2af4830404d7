/**
 * Several targets in one deployment (ALLOWLIST_TARGETS): a managed policy, a role's trust policy and a role's
 * inline policy, each with its own sources, guards and alerts; one failing never blocks the others.
 */
import {
  AttachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListEntitiesForPolicyCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { StateStore } from '../lambda/ports';
import { memoryStateStore } from '../lambda/state/json-store';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ALLOWLIST_SID, parsePolicy, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { SyncError } from '../lambda/errors';
import { SyncRuntime, buildRuntimes } from '../lambda/compose';
import type { MetricsSink, RunLog } from '../lambda/ports';
import { runAll } from '../lambda/run';
import type { InlinePolicySpec, ManagedPolicySpec, TargetSpec, TrustPolicySpec } from '../lambda/kinds/kind';
import { FakeIam } from './helpers/fake-iam';
import { FakeOcmServer } from './helpers/ocm-server';

const POLICY_ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const ROSA = ['192.0.2.0/28', '198.51.100.7/32'];
const VPN = ['203.0.113.0/24'];
const VENDOR = ['100.130.1.0/24', '100.130.2.0/24'];
const BREAK_GLASS_ALLOW = { Sid: 'Admins', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' };

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const sns = new SNSClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const ssm = new SSMClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const snsMock = mockClient(sns);
const ssmMock = mockClient(ssm);
/** Shared by every container of a test, as the state table is. */
let state: StateStore = memoryStateStore();
const quiet: RunLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const TARGETS: [ManagedPolicySpec, TrustPolicySpec, InlinePolicySpec] = [
  { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: POLICY_ARN, sources: [`static:${ROSA.join(',')}`] },
  {
    name: 'break-glass-vpn',
    kind: 'trust-policy',
    roleName: 'BreakGlass',
    principals: ['arn:aws:iam::123456789012:root'],
    sources: ['ssm:/allowlists/office-vpn'],
  },
  { name: 'vendor', kind: 'inline-policy', roleName: 'VendorRole', policyName: 'deny-outside-vendor-ips', sources: [`static:${VENDOR.join(',')}`] },
];

let fakeIam: FakeIam;
let trust: string;
let inline: string | undefined;
let metricsByTarget: Map<string, [string, number][]>;

function metricsFor(name: string): MetricsSink {
  const list: [string, number][] = [];
  metricsByTarget.set(name, list);
  return { addMetric: (metric, _unit, value) => list.push([metric, value]) };
}

function runtimes(targets: TargetSpec[] = [...TARGETS], env: Record<string, string> = {}): SyncRuntime[] {
  // POLICY_CHECKS: the AWS engines' checks have their own tests (policy-checks*.test.ts); here they would call AWS.
  return buildRuntimes({ ALLOWLIST_TARGETS: JSON.stringify(targets), ALERT_TOPIC_ARN: TOPIC, POLICY_CHECKS: 'off', ...env }, quiet, metricsFor, { iam, sns, ssm, state }, { confirmDelaysMs: [1] });
}

beforeEach(() => {
  iamMock.reset();
  snsMock.reset();
  ssmMock.reset();
  state = memoryStateStore();
  fakeIam = new FakeIam({ arn: POLICY_ARN, document: serializePolicy(renderDenyPolicy(['192.0.2.0/28'])) });
  fakeIam.install(iamMock);
  trust = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [BREAK_GLASS_ALLOW] }));
  inline = undefined;
  iamMock.on(GetRoleCommand, { RoleName: 'BreakGlass' }).callsFake(() => ({ Role: { RoleName: 'BreakGlass', Arn: 'arn:aws:iam::123456789012:role/BreakGlass', Path: '/', RoleId: 'AROA1', CreateDate: new Date(), AssumeRolePolicyDocument: trust } }));
  iamMock.on(UpdateAssumeRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
    trust = input.PolicyDocument;
    return {};
  });
  iamMock.on(ListRolePoliciesCommand).callsFake(() => ({ PolicyNames: inline ? ['deny-outside-vendor-ips'] : [], IsTruncated: false }));
  iamMock.on(GetRolePolicyCommand).callsFake(() => {
    if (!inline) throw new NoSuchEntityException({ message: 'The role policy with name deny-outside-vendor-ips cannot be found.', $metadata: {} });
    return { RoleName: 'VendorRole', PolicyName: 'deny-outside-vendor-ips', PolicyDocument: encodeURIComponent(inline) };
  });
  iamMock.on(PutRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
    inline = input.PolicyDocument;
    return {};
  });
  iamMock.on(ListRoleTagsCommand).resolves({ Tags: [], IsTruncated: false });
  iamMock.on(TagRoleCommand).resolves({});
  ssmMock.on(GetParameterCommand, { Name: '/allowlists/office-vpn' }).resolves({ Parameter: { Name: '/allowlists/office-vpn', Type: 'StringList', Value: VPN.join(',') } });
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  metricsByTarget = new Map();
});

describe('several targets', () => {
  it('syncs each target with its own sources, keeping the trust policy\'s other statements, and is idempotent', async () => {
    const rts = runtimes();
    const first = await runAll({ dryRun: false }, rts);
    expect(first.status).toBe('updated');
    expect(first.targets.map((t) => [t.target, t.status, t.policyArn])).toEqual([
      ['rosa-trusted-ips', 'updated', POLICY_ARN],
      ['break-glass-vpn', 'updated', 'role/BreakGlass (trust policy)'],
      ['vendor', 'updated', 'role/VendorRole inline policy deny-outside-vendor-ips'],
    ]);
    expect(parsePolicy(fakeIam.defaultDocument).Statement[0]).toMatchObject({ Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/28', '198.51.100.7'] } } });

    const trustDoc = parsePolicy(trust);
    expect(trustDoc.Statement[0]).toEqual(BREAK_GLASS_ALLOW);
    expect(trustDoc.Statement[1]).toEqual({
      Sid: ALLOWLIST_SID,
      Effect: 'Deny',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: 'sts:AssumeRole',
      Condition: { NotIpAddress: { 'aws:SourceIp': VPN }, Bool: { 'aws:ViaAWSService': 'false' } },
    });
    expect(JSON.parse(inline as string)).toEqual(renderDenyPolicy(VENDOR));

    // Each target alerts on its own, with its own name.
    // Targets run at once (a bounded pool), so alerts arrive in the order the targets finish.
    const subjects = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);
    expect(subjects).toHaveLength(3);
    expect(subjects).toEqual(expect.arrayContaining([
      'allowlist-sync: rosa-trusted-ips updated (+1 -0)',
      'allowlist-sync: break-glass-vpn updated (+1 -0)',
      'allowlist-sync: vendor updated (+2 -0)',
    ]));
    // Each target's metrics go to its own sink (its own `service` dimension in the handler).
    expect(metricsByTarget.get('vendor')).toContainEqual(['AllowlistEntries', 2]);
    expect(metricsByTarget.get('break-glass-vpn')).toContainEqual(['AllowlistEntries', 1]);

    const second = await runAll({ dryRun: false }, rts);
    expect(second.status).toBe('unchanged');
    expect(second.targets.map((t) => t.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(iamMock.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(1);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(1);
  });

  it('a failing target never blocks the others; the invocation then throws naming it', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('Parameter /allowlists/office-vpn not found.'), { name: 'ParameterNotFound' }));
    const err = await runAll({ dryRun: false }, runtimes()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect((err as SyncError).code).toBe('targets-failed');
    expect((err as Error).message).toMatch(/^1 of 3 targets failed: break-glass-vpn: .*\/allowlists\/office-vpn.*\(the others: rosa-trusted-ips updated, vendor updated\)\.$/);
    expect(iamMock.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(1);
    const events = snsMock.commandCalls(PublishCommand).map((c) => [c.args[0].input.Subject?.split(' ')[1], c.args[0].input.MessageAttributes?.event?.StringValue]);
    // In the order the targets finish (they run at once).
    expect(events).toHaveLength(3);
    expect(events).toEqual(
      expect.arrayContaining([
        ['rosa-trusted-ips', 'updated'],
        ['break-glass-vpn', 'failed'],
        ['vendor', 'updated'],
      ]),
    );
  });

  it('a target\'s include/exclude keeps its subset of a shared list, named in the result and the alert; leaving nothing is refused', async () => {
    const targets: TargetSpec[] = TARGETS.map((t) => (t.name === 'vendor' ? { ...t, exclude: [VENDOR[0]] } : t));
    const result = await runAll({ dryRun: false }, runtimes(targets));
    const vendor = result.targets.find((t) => t.target === 'vendor');
    expect(vendor?.status).toBe('updated');
    expect(vendor?.entries).not.toContain(VENDOR[0]);
    expect(vendor?.filtered).toEqual([expect.objectContaining({ reason: 'inside exclude' })]);
    expect(inline).not.toContain(VENDOR[0].replace(/\/32$/, ''));
    const body = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.Message ?? '').find((m) => m.includes('vendor')) ?? '';
    expect(body).toContain('filtered (include/exclude) excluded:');

    const none = TARGETS.map((t) => (t.name === 'vendor' ? { ...t, include: ['198.51.100.0/24'] } : t));
    const refused = await runAll({ dryRun: false }, runtimes(none));
    const vendorRefused = refused.targets.find((t) => t.target === 'vendor');
    expect(vendorRefused).toMatchObject({ status: 'refused', approvable: false });
    expect(vendorRefused?.reasons.join()).toContain("include/exclude filters leave nothing");
  });

  it('keeps a managed policy attached where it must be: attached again, alerted once per detachment, counted', async () => {
    let attached: { RoleName: string }[] = [];
    iamMock.on(ListEntitiesForPolicyCommand, { PolicyArn: POLICY_ARN }).callsFake(() => ({ PolicyRoles: attached, IsTruncated: false }));
    iamMock.on(AttachRolePolicyCommand).callsFake((input: { RoleName: string; PolicyArn: string }) => {
      attached = [...attached, { RoleName: input.RoleName }];
      return {};
    });
    const targets: TargetSpec[] = [{ ...TARGETS[0], attachToRoles: ['ManagedOpenShift-Support-Role'] }];

    await runAll({ dryRun: false }, runtimes(targets));
    expect(iamMock.commandCalls(AttachRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'ManagedOpenShift-Support-Role', PolicyArn: POLICY_ARN }]);
    const detached = snsMock.commandCalls(PublishCommand).filter((c) => c.args[0].input.MessageAttributes?.event?.StringValue === 'detached');
    expect(detached.map((c) => c.args[0].input.Subject)).toEqual(['allowlist-sync: rosa-trusted-ips detached from role/ManagedOpenShift-Support-Role, re-attached']);
    expect(detached[0].args[0].input.Message).toContain('CloudTrail');
    expect(metricsByTarget.get('rosa-trusted-ips')).toEqual(expect.arrayContaining([['Detached', 1]]));

    // Attached now: the next run attaches nothing and tells nothing.
    snsMock.resetHistory();
    await runAll({ dryRun: false }, runtimes(targets));
    expect(iamMock.commandCalls(AttachRolePolicyCommand)).toHaveLength(1);
    expect(snsMock.commandCalls(PublishCommand).filter((c) => c.args[0].input.MessageAttributes?.event?.StringValue === 'detached')).toEqual([]);
  });

  it('a failing attachment check is logged and counted, never the document sync\'s failure', async () => {
    iamMock.on(ListEntitiesForPolicyCommand).rejects(Object.assign(new Error('not authorized to perform iam:ListEntitiesForPolicy'), { name: 'AccessDenied' }));
    const result = await runAll({ dryRun: false }, runtimes([{ ...TARGETS[0], attachToRoles: ['ManagedOpenShift-Support-Role'] }]));
    expect(result.targets[0].status).toBe('updated');
    expect(metricsByTarget.get('rosa-trusted-ips')).toEqual(expect.arrayContaining([['AttachmentCheckFailed', 1]]));
  });

  it('refuses per target: a catch-all in one list leaves the others applied', async () => {
    const targets = TARGETS.map((t) => (t.name === 'vendor' ? { ...t, sources: ['static:0.0.0.0/0'] } : t));
    const result = await runAll({ dryRun: false }, runtimes(targets));
    expect(result.status).toBe('refused');
    expect(result.targets.map((t) => t.status)).toEqual(['updated', 'updated', 'refused']);
    expect(inline).toBeUndefined();
  });

  it('guards the trust policy with its own size limit (2,048 by default)', async () => {
    const many = Array.from({ length: 200 }, (_, i) => `20.${i}.0.0/24`).join(',');
    const targets = TARGETS.map((t) => (t.name === 'break-glass-vpn' ? { ...t, sources: [`static:${many}`] } : t));
    const result = await runAll({ dryRun: false }, runtimes(targets));
    const breakGlass = result.targets.find((t) => t.target === 'break-glass-vpn');
    expect(breakGlass?.status).toBe('refused');
    expect(breakGlass?.reasons.join()).toMatch(/over the limit of 2048/);
  });

  it('fetches OCM once per invocation however many targets use it (and once more, also shared, when a plan removes entries)', async () => {
    const server = await FakeOcmServer.start({ clientId: 'svc', clientSecret: 'shh', items: ROSA.map((id) => ({ kind: 'TrustedIp', id, enabled: true })) });
    try {
      const env = { OCM_API_URL: server.apiUrl, OCM_TOKEN_URL: server.tokenUrl, OCM_CLIENT_ID: 'svc', OCM_CLIENT_SECRET: 'shh' };
      // Only the managed policy, holding exactly OCM's list: nothing to remove, one read per invocation.
      const same = runtimes([{ ...TARGETS[0], sources: ['ocm'] }], env);
      await runAll({ dryRun: true }, same);
      expect(server.requestsTo('api')).toHaveLength(1);
      await runAll({ dryRun: true }, same);
      expect(server.requestsTo('api')).toHaveLength(2);
      // Three targets, some of which would lose entries: the second read is shared too.
      const rts = runtimes(TARGETS.map((t) => ({ ...t, sources: ['ocm'] })), env);
      await runAll({ dryRun: true }, rts);
      expect(server.requestsTo('api').length - 2).toBeLessThanOrEqual(2);
      expect(server.requestsTo('token').length).toBeLessThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it('runs only the target an event names, and requires a target with an approval', async () => {
    const rts = runtimes();
    const only = await runAll({ dryRun: false, target: 'vendor' }, rts);
    expect(only.targets.map((t) => t.target)).toEqual(['vendor']);
    await expect(runAll({ dryRun: false, target: 'nope' }, rts)).rejects.toThrow('The event names target "nope", but the targets are rosa-trusted-ips, break-glass-vpn, vendor.');
    await expect(runAll({ dryRun: false, approve: '0123456789abcdef' }, rts)).rejects.toThrow(/An approval must name its target/);
  });

  it('tells, in a refusal alert, how to approve for exactly that target', async () => {
    const targets = TARGETS.map((t) => (t.name === 'vendor' ? { ...t, sources: ['static:100.64.0.0/7'] } : t));
    const result = await runAll({ dryRun: false }, runtimes(targets, { AWS_LAMBDA_FUNCTION_NAME: 'sync-fn' }));
    const vendor = result.targets.find((t) => t.target === 'vendor');
    expect(vendor?.status).toBe('refused');
    const body = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.Message ?? '').find((m) => m.includes('REFUSED')) ?? '';
    expect(body).toContain(`--payload '{"approve":"${vendor?.planId}","target":"vendor"}'`);
    expect(body).toContain(`--target iam-inline:VendorRole/deny-outside-vendor-ips --approve ${vendor?.planId}`);

    const approved = await runAll({ dryRun: false, approve: vendor?.planId, target: 'vendor' }, runtimes(targets));
    expect(approved.targets).toEqual([expect.objectContaining({ target: 'vendor', status: 'updated' })]);
  });

  it('rejects a bad target list naming the target and field', () => {
    expect(() => runtimes([{ ...TARGETS[1], principals: [] }])).toThrow(
      'Configuration error: ALLOWLIST_TARGETS [0] (break-glass-vpn) "principals" must be a non-empty list of IAM principal ARNs (the deny must name who it applies to), got [].',
    );
    expect(() => runtimes([TARGETS[0], TARGETS[0]])).toThrow('ALLOWLIST_TARGETS (rosa-trusted-ips) has a duplicate name');
  });
});

describe('one writer per document', () => {
  it('refuses two targets on the same document', () => {
    const twin = { ...TARGETS[2], name: 'vendor-2' };
    expect(() => runtimes([TARGETS[2], twin])).toThrow('ALLOWLIST_TARGETS (vendor-2) writes the same document as target vendor.');
    expect(() => runtimes([TARGETS[0], { ...TARGETS[0], name: 'again' }])).toThrow('writes the same document as target rosa-trusted-ips');
  });
});
