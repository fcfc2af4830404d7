/**
 * The AWS policy checks inside a run: sync.ts asks them only for a document about to be written (a dry run too, which
 * shows the same refusal), a disagreement refuses the write (nothing written, not approvable, alerted like any
 * refusal), and compose.ts wires them from POLICY_CHECKS for the kinds they apply to. IAM is FakeIam with IAM's
 * simulator played by the evaluator (test/helpers/fake-policy-engines.ts); Access Analyzer and SNS are mocked.
 */
import { AccessAnalyzerClient, ValidatePolicyCommand } from '@aws-sdk/client-accessanalyzer';
import { CreatePolicyVersionCommand, GetRoleCommand, IAMClient, SimulateCustomPolicyCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { isApprovable, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { trustPolicyShape } from '../lambda/allowlist/trust-policy';
import { Shared, buildRuntime, buildRuntimes } from '../lambda/compose';
import { loadSdkSettings } from '../lambda/config';
import type { MetricsSink, PolicyChecksMode, PolicyVerifier, RunLog, StateStore } from '../lambda/ports';
import { runSync } from '../lambda/run';
import { staticSource } from '../lambda/sources/static';
import { memoryStateStore } from '../lambda/state/json-store';
import { sync } from '../lambda/sync';
import { managedPolicyTarget } from '../lambda/targets/managed-policy';
import { trustPolicyTarget } from '../lambda/targets/trust-policy';
import { awsPolicyChecks } from '../lambda/targets/policy-checks';
import { FakeIam } from './helpers/fake-iam';
import { simulatorAgrees } from './helpers/fake-policy-engines';

const ARN = 'arn:aws:iam::123456789012:policy/corp-vpn';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:allowlist-sync-alerts';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const CURRENT = ['192.0.2.0/28', '198.51.100.7/32', '2001:db8::/32'];
const DESIRED = ['192.0.2.0/28', '198.51.100.7/32', '203.0.113.0/24', '2001:db8::/32'];

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const analyzer = new AccessAnalyzerClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const sns = new SNSClient({ region: 'eu-west-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const aaMock = mockClient(analyzer);
const snsMock = mockClient(sns);

let fakeIam: FakeIam;
let state: StateStore;
let logged: [string, string][];
const log: RunLog = {
  debug: (m) => logged.push(['debug', m]),
  info: (m) => logged.push(['info', m]),
  warn: (m) => logged.push(['warn', m]),
  error: (m) => logged.push(['error', m]),
};
const metrics: MetricsSink = { addMetric: () => undefined };

beforeEach(() => {
  iamMock.reset();
  aaMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  fakeIam = new FakeIam({ arn: ARN, document: serializePolicy(renderDenyPolicy(CURRENT)) });
  fakeIam.install(iamMock);
  aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
  state = memoryStateStore();
  logged = [];
});

/** The simulator, disagreeing about the address outside every entry when `disagree` is set. */
function simulator(disagree = false): void {
  simulatorAgrees(iamMock, (request, decision) => (disagree && request.sourceIp === '198.51.100.1' && !request.viaAwsService ? 'implicitDeny' : decision));
}

const checks = (mode: PolicyChecksMode = 'auto'): PolicyVerifier => awsPolicyChecks({ mode, iam: () => iam, accessAnalyzer: () => analyzer, customEndpoint: { iam: false, accessAnalyzer: false }, log });
const target = () => managedPolicyTarget(iam, ARN, { confirmDelaysMs: [1] });
const engineCalls = () => iamMock.commandCalls(SimulateCustomPolicyCommand).length + aaMock.commandCalls(ValidatePolicyCommand).length;

function run(options: { entries?: string[]; dryRun?: boolean; verifier?: PolicyVerifier; approve?: string } = {}) {
  return sync({
    sources: [staticSource(options.entries ?? DESIRED)],
    target: target(),
    state,
    dryRun: options.dryRun,
    ...(options.approve ? { approve: options.approve } : {}),
    policyChecks: { verifier: options.verifier ?? checks(), policyType: 'identity' },
  });
}

describe('sync with the AWS policy checks', () => {
  test('agreeing engines: the plan is written, after one validation and a bounded simulation', async () => {
    simulator();
    const result = await run();
    expect(result.status).toBe('updated');
    expect(fakeIam.defaultDocument).toBe(serializePolicy(renderDenyPolicy(DESIRED)));
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 1);
    expect(aaMock).toHaveReceivedCommandWith(ValidatePolicyCommand, { policyDocument: result.plan.document, policyType: 'IDENTITY_POLICY' });
    const simulations = iamMock.commandCalls(SimulateCustomPolicyCommand).length;
    expect(simulations).toBeGreaterThan(0);
    expect(simulations).toBeLessThanOrEqual(12);
  });

  test('a simulator that disagrees: refused, nothing written, not approvable, the probe in the reasons', async () => {
    simulator(true);
    const result = await run();
    expect(result.status).toBe('refused');
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
    expect(fakeIam.defaultDocument).toBe(serializePolicy(renderDenyPolicy(CURRENT)));
    expect(result.plan.refusals).toEqual([expect.objectContaining({ code: 'policy-simulation-disagrees', approvable: false })]);
    expect(isApprovable(result.plan)).toBe(false);
    expect(result.plan.reasons[0]).toContain('198.51.100.1, an address in no entry must be denied, and the simulator says implicitDeny');
  });

  test('the dry run shows the same refusal; approving its plan id does not get past it', async () => {
    simulator(true);
    const dry = await run({ dryRun: true });
    expect(dry.status).toBe('refused');
    const applied = await run();
    expect(applied.plan.reasons).toEqual(dry.plan.reasons);
    const approved = await run({ approve: dry.plan.planId });
    expect(approved.status).toBe('refused');
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });

  test('an Access Analyzer ERROR refuses the write; a WARNING does not', async () => {
    simulator();
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [{ findingType: 'ERROR', issueCode: 'INVALID_ACTION', findingDetails: 'bad action', learnMoreLink: 'x', locations: [] }] });
    const refused = await run();
    expect(refused.status).toBe('refused');
    expect(refused.plan.reasons[0]).toContain('ERROR INVALID_ACTION: bad action');
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [{ findingType: 'WARNING', issueCode: 'W', findingDetails: 'meh', learnMoreLink: 'x', locations: [] }] });
    await expect(run()).resolves.toMatchObject({ status: 'updated' });
  });

  test('an unchanged run asks no engine; neither does a refusal of the plan itself', async () => {
    simulator();
    await expect(run({ entries: CURRENT })).resolves.toMatchObject({ status: 'unchanged' });
    await expect(run({ entries: ['0.0.0.0/0'] })).resolves.toMatchObject({ status: 'refused' });
    expect(engineCalls()).toBe(0);
  });

  test('five accounts rendering the same document, at once: one ValidatePolicy and at most 12 simulations in all', async () => {
    simulator();
    const verifier = checks();
    // Five targets, each its own IAM (a fleet's accounts); the hub's IAM simulates.
    const accounts = Array.from({ length: 5 }, (_, i) => {
      const client = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
      const arn = `arn:aws:iam::12345678901${i}:policy/corp-vpn`;
      const fake = new FakeIam({ arn, document: serializePolicy(renderDenyPolicy(CURRENT)) });
      fake.install(mockClient(client));
      return { fake, target: managedPolicyTarget(client, arn, { confirmDelaysMs: [1] }) };
    });
    const results = await Promise.all(
      accounts.map(({ target: t }) => sync({ sources: [staticSource(DESIRED)], target: t, state, policyChecks: { verifier, policyType: 'identity' } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('updated'));
    for (const { fake } of accounts) expect(fake.defaultDocument).toBe(serializePolicy(renderDenyPolicy(DESIRED)));
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 1);
    const simulations = iamMock.commandCalls(SimulateCustomPolicyCommand).length;
    expect(simulations).toBeGreaterThan(0);
    expect(simulations).toBeLessThanOrEqual(12);
  });

  test('a trust policy with a foreign statement Access Analyzer warns about: ours is written, the finding told, not refused', async () => {
    const allow = { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' };
    let trust = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [allow] }));
    iamMock.on(GetRoleCommand, { RoleName: 'BreakGlass' }).callsFake(() => ({ Role: { RoleName: 'BreakGlass', Arn: 'arn:aws:iam::123456789012:role/BreakGlass', Path: '/', RoleId: 'AROA1', CreateDate: new Date(), AssumeRolePolicyDocument: trust } }));
    iamMock.on(UpdateAssumeRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
      trust = input.PolicyDocument;
      return {};
    });
    const span = { start: { line: 1, column: 1, offset: 1 }, end: { line: 1, column: 2, offset: 2 } };
    const warning = (index: number) => ({ findingType: 'SECURITY_WARNING' as const, issueCode: 'TRUST_ANYONE', findingDetails: 'anyone may assume', learnMoreLink: 'x', locations: [{ path: [{ value: 'Statement' }, { index }], span }] });
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [warning(0)] });
    const runTrust = () =>
      sync({
        sources: [staticSource(DESIRED)],
        target: trustPolicyTarget(iam, 'BreakGlass'),
        state,
        plan: { shape: trustPolicyShape(['arn:aws:iam::123456789012:root']) },
        policyChecks: { verifier: checks(), policyType: 'trust' },
      });
    await expect(runTrust()).resolves.toMatchObject({ status: 'updated' });
    expect(JSON.parse(decodeURIComponent(trust)).Statement).toEqual([allow, expect.objectContaining({ Sid: 'AllowlistSyncDenyOutsideTrustedIps' })]);
    expect(logged).toContainEqual(['warn', expect.stringContaining('finding TRUST_ANYONE on a statement allowlist-sync does not own (Statement[0])')]);
    // The same finding on our statement (index 1) refuses.
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [warning(1)] });
    await expect(runTrust()).resolves.toMatchObject({ status: 'unchanged' });
    const refused = await sync({ sources: [staticSource([...DESIRED, '198.51.100.200/32'])], target: trustPolicyTarget(iam, 'BreakGlass'), state, plan: { shape: trustPolicyShape(['arn:aws:iam::123456789012:root']) }, policyChecks: { verifier: checks(), policyType: 'trust' } });
    expect(refused).toMatchObject({ status: 'refused', plan: { refusals: [expect.objectContaining({ code: 'policy-validation-findings' })] } });
  });

  test('required and unsupported: the run fails, nothing written', async () => {
    iamMock.on(SimulateCustomPolicyCommand).rejects(Object.assign(new Error('Could not find operation'), { name: 'InvalidAction', $metadata: { httpStatusCode: 400 } }));
    await expect(run({ verifier: checks('required') })).rejects.toMatchObject({ code: 'policy-check-unavailable' });
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });
});

describe('composed from the environment', () => {
  const env = { POLICY_ARN: ARN, ALERT_TOPIC_ARN: TOPIC, ALLOWLIST_NAME: 'corp-vpn', OCM_ENABLED: 'false', EXTRA_CIDRS: DESIRED.join(',') };
  const clients = () => ({ iam, sns, accessAnalyzer: analyzer, state });

  test('by default (auto) the function refuses a write the simulator disagrees with, and alerts the refusal', async () => {
    simulator(true);
    const result = await runSync({ dryRun: false }, buildRuntime(env, log, metrics, clients(), { confirmDelaysMs: [1] }));
    expect(result).toMatchObject({ status: 'refused' });
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
    const alert = snsMock.commandCalls(PublishCommand)[0].args[0].input;
    expect(alert.MessageAttributes?.event?.StringValue).toBe('refused');
    expect(alert.Message).toContain("IAM's policy simulator disagrees with the proof");
  });

  test('POLICY_CHECKS=off: no engine is asked, the write happens', async () => {
    simulator(true);
    await expect(runSync({ dryRun: false }, buildRuntime({ ...env, POLICY_CHECKS: 'off' }, log, metrics, clients(), { confirmDelaysMs: [1] }))).resolves.toMatchObject({ status: 'updated' });
    expect(engineCalls()).toBe(0);
  });

  test('a wrong POLICY_CHECKS is a configuration error naming the variable and the accepted values', () => {
    expect(() => buildRuntime({ ...env, POLICY_CHECKS: 'yes' }, log, metrics, clients())).toThrow('Configuration error: POLICY_CHECKS must be one of auto, off, required, got "yes".');
  });

  test('targets of several kinds share one verifier (so a skip is told once per container); a file target gets none', () => {
    const targets = [
      { name: 'a', kind: 'managed-policy', policyArn: ARN, sources: ['static:192.0.2.0/24'] },
      { name: 'b', kind: 'trust-policy', roleName: 'BreakGlass', principals: ['arn:aws:iam::123456789012:root'], sources: ['static:192.0.2.0/24'] },
      { name: 'c', kind: 'inline-policy', roleName: 'Vendor', policyName: 'deny', sources: ['static:192.0.2.0/24'] },
    ];
    const runtimes = buildRuntimes({ ALLOWLIST_TARGETS: JSON.stringify(targets) }, log, () => metrics, clients());
    expect(runtimes.map((r) => r.policyChecks?.policyType)).toEqual(['identity', 'trust', 'identity']);
    expect(new Set(runtimes.map((r) => r.policyChecks?.verifier)).size).toBe(1);
    // The CLI's local file is never shown to AWS (the offline demo stays offline).
    const shared = new Shared({ env: {}, clients: clients(), tuning: {}, sdk: loadSdkSettings({}) });
    expect(shared.policyChecksFor({ name: 'f', kind: 'file', path: '/tmp/policy.json', sources: [] })).toEqual({});
  });
});
