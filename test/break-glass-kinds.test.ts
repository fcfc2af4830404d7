/**
 * Break-glass per target kind: a role's trust policy (only the tool's statement goes, every other stays
 * byte-identical) and a role's inline policy through the handler with several targets (ALLOWLIST_TARGETS), and a
 * policy file through pause()/resume()/sync() directly (the function never keeps a file).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as iamSdk from '@aws-sdk/client-iam';
import { ALLOWLIST_SID, isPlaceholder, managedPolicyShape, parsePolicy, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { pause, resume } from '../lambda/break-glass';
import { SyncError } from '../lambda/errors';
import type { TargetRecord } from '../lambda/ports';
import { dynamoStateStore } from '../lambda/state/dynamodb-store';
import { memoryStateStore } from '../lambda/state/json-store';
import { staticSource } from '../lambda/sources/static';
import { sync } from '../lambda/sync';
import { fileTarget } from '../lambda/targets/file';
import { FUNCTION, alertEvents, alerts, coldStart, dynamo, iamMock, installLambdaHarness, snsMock } from './helpers/lambda-harness';

installLambdaHarness();

const ROOT = 'arn:aws:iam::123456789012:root';
/** Who may assume the role: written by the customer, never touched by allowlist-sync. */
const ADMINS = { Sid: 'Admins', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } };
const CONTRACTOR_DENY = { Sid: 'NoContractors', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:user/contractor' }, Action: 'sts:AssumeRole' };
const VPN = ['203.0.113.0/24'];
const VENDOR = ['192.0.2.0/28', '198.51.100.0/24'];
const TARGETS = JSON.stringify([
  { name: 'break-glass-vpn', kind: 'trust-policy', roleName: 'BreakGlass', principals: [ROOT], sources: [`static:${VPN.join(',')}`] },
  { name: 'vendor', kind: 'inline-policy', roleName: 'VendorRole', policyName: 'deny-outside-vendor-ips', sources: [`static:${VENDOR.join(',')}`] },
]);

let trust: string;
let inline: string | undefined;

beforeEach(() => {
  trust = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [ADMINS, CONTRACTOR_DENY] }));
  inline = undefined;
  iamMock.on(iamSdk.GetRoleCommand).callsFake((input: { RoleName: string }) => ({ Role: { RoleName: input.RoleName, Arn: `arn:aws:iam::123456789012:role/${input.RoleName}`, Path: '/', RoleId: 'AROA1', CreateDate: new Date(), AssumeRolePolicyDocument: trust } }));
  iamMock.on(iamSdk.UpdateAssumeRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
    trust = input.PolicyDocument;
    return {};
  });
  iamMock.on(iamSdk.ListRolePoliciesCommand).callsFake(() => ({ PolicyNames: inline ? ['deny-outside-vendor-ips'] : [], IsTruncated: false }));
  iamMock.on(iamSdk.GetRolePolicyCommand).callsFake(() => {
    if (!inline) throw new iamSdk.NoSuchEntityException({ message: 'The role policy with name deny-outside-vendor-ips cannot be found.', $metadata: {} });
    return { RoleName: 'VendorRole', PolicyName: 'deny-outside-vendor-ips', PolicyDocument: encodeURIComponent(inline) };
  });
  iamMock.on(iamSdk.PutRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
    inline = input.PolicyDocument;
    return {};
  });
});

async function record(key: string): Promise<TargetRecord> {
  const client = dynamo.client();
  try {
    return await dynamoStateStore(client, dynamo.table).load(key);
  } finally {
    client.destroy();
  }
}

const statements = (): string[] => parsePolicy(trust).Statement.map((s) => JSON.stringify(s));
type Multi = { status: string; targets: { target: string; status: string }[] };

describe('a trust policy', () => {
  test('pause removes only the tool\'s statement (every other byte-identical); paused runs write nothing; resume restores', async () => {
    const fn = coldStart({ ALLOWLIST_TARGETS: TARGETS, POLICY_ARN: undefined });
    expect(((await fn.invoke()) as unknown as Multi).status).toBe('updated');
    const others = statements().slice(0, 2);
    expect(parsePolicy(trust).Statement[2]).toMatchObject({ Sid: ALLOWLIST_SID, Effect: 'Deny' });
    snsMock.resetHistory();

    const paused = await fn.invoke({ action: 'pause', target: 'break-glass-vpn', reason: 'VPN moved, nobody can assume BreakGlass', by: 'ana' });

    expect(paused).toMatchObject({ status: 'paused', written: true, lifted: VPN, previousVersionId: expect.stringMatching(/^r\d+$/) });
    expect(statements()).toEqual(others);
    expect((await record('trust:breakglass')).pause).toMatchObject({ by: 'ana', entries: VPN, replacedVersionId: expect.stringMatching(/^r\d+$/) });
    expect(alertEvents()).toEqual(['paused']);
    // Several targets: the commands name this one.
    expect(alerts()[0].body).toContain(`--function-name ${FUNCTION} --cli-binary-format raw-in-base64-out --payload '{"action":"resume","target":"break-glass-vpn","by":"<your name>"}'`);
    expect(alerts()[0].body).toContain('node bin/allowlist-sync.js resume --target iam-trust:BreakGlass --principal');

    const updates = iamMock.commandCalls(iamSdk.UpdateAssumeRolePolicyCommand).length;
    const scheduled = (await fn.invoke()) as unknown as Multi;
    expect(scheduled.targets.map((t) => [t.target, t.status])).toEqual([['break-glass-vpn', 'paused'], ['vendor', 'unchanged']]);
    expect(iamMock.commandCalls(iamSdk.UpdateAssumeRolePolicyCommand)).toHaveLength(updates);

    const resumed = await fn.invoke({ action: 'resume', target: 'break-glass-vpn', by: 'bob' });
    expect(resumed).toMatchObject({ status: 'resumed', sync: { status: 'updated', entries: VPN } });
    expect(statements().slice(0, 2)).toEqual(others);
    expect(parsePolicy(trust).Statement[2]).toMatchObject({ Sid: ALLOWLIST_SID, Condition: { NotIpAddress: { 'aws:SourceIp': VPN } } });
  });

  test('a trust policy that holds only the tool\'s statement cannot be paused: said, nothing written or recorded', async () => {
    const fn = coldStart({ ALLOWLIST_TARGETS: TARGETS, POLICY_ARN: undefined });
    await fn.invoke();
    trust = JSON.stringify({ Version: '2012-10-17', Statement: [parsePolicy(trust).Statement[2]] });
    const updates = iamMock.commandCalls(iamSdk.UpdateAssumeRolePolicyCommand).length;

    const err = await fn.fail({ action: 'pause', target: 'break-glass-vpn', reason: 'x' });

    expect(err).toMatchObject({ code: 'pause-impossible' });
    expect(err.message).toContain("holds only allowlist-sync's statement");
    expect(iamMock.commandCalls(iamSdk.UpdateAssumeRolePolicyCommand)).toHaveLength(updates);
    expect((await record('trust:breakglass')).pause).toBeUndefined();
  });

  test('with several targets, an action must name one', async () => {
    const err = await coldStart({ ALLOWLIST_TARGETS: TARGETS, POLICY_ARN: undefined }).fail({ action: 'pause', reason: 'x' });
    expect(err).toMatchObject({ code: 'bad-event', message: 'The "pause" event must name its "target" when the function keeps several: break-glass-vpn, vendor.' });
    expect(iamMock.send.callCount).toBe(0);
  });
});

describe('an inline policy', () => {
  test('pause writes the placeholder; resume without a sync leaves the restore to the next run', async () => {
    const fn = coldStart({ ALLOWLIST_TARGETS: TARGETS, POLICY_ARN: undefined });
    await fn.invoke();
    expect(JSON.parse(inline as string)).toEqual(renderDenyPolicy(VENDOR));

    expect(await fn.invoke({ action: 'pause', target: 'vendor', reason: 'vendor outage', by: 'ana' })).toMatchObject({ status: 'paused', lifted: VENDOR });
    expect(isPlaceholder(parsePolicy(inline as string))).toBe(true);

    expect(await fn.invoke({ action: 'resume', target: 'vendor', sync: false })).toMatchObject({ status: 'resumed', resumed: { by: 'unknown' } });
    expect(isPlaceholder(parsePolicy(inline as string))).toBe(true);
    const next = (await fn.invoke()) as unknown as Multi;
    expect(next.targets.find((t) => t.target === 'vendor')?.status).toBe('updated');
    expect(JSON.parse(inline as string)).toEqual(renderDenyPolicy(VENDOR));
    expect(alerts().map((a) => a.subject)).toContain('allowlist-sync: vendor updated (+2 -0, restored after pause)');
  });
});

describe('a policy file', () => {
  test('pause writes the placeholder and keeps the replaced document for rollback; sync reports paused; resume restores', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'allowlist-pause-')), 'policy.json');
    const doc = serializePolicy(renderDenyPolicy(VENDOR));
    writeFileSync(path, doc);
    const target = fileTarget(path);
    const state = memoryStateStore();
    const sources = [staticSource(VENDOR, 'static:test')];
    expect((await sync({ sources, target, state })).status).toBe('unchanged');

    const paused = await pause({ target, state, shape: managedPolicyShape(), reason: 'testing the runbook', by: 'ana', writer: 'cli:ana@laptop' });

    expect(paused).toMatchObject({ status: 'paused', previousVersionId: 'r1', lifted: VENDOR, written: true });
    expect(isPlaceholder(parsePolicy(readFileSync(path, 'utf8')))).toBe(true);
    expect((await state.history(target.key))[0]).toMatchObject({ revision: 'r1', document: doc });
    expect((await sync({ sources, target, state })).status).toBe('paused');
    expect(isPlaceholder(parsePolicy(readFileSync(path, 'utf8')))).toBe(true);

    expect(await resume({ target, state, by: 'bob' })).toMatchObject({ status: 'resumed', resumed: { by: 'bob', pause: { by: 'ana', replacedVersionId: 'r1' } } });
    expect((await sync({ sources, target, state })).status).toBe('updated');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(renderDenyPolicy(VENDOR));
    expect((await state.load(target.key)).resumed).toBeUndefined();
  });

  test('a reason is required and bounded; `by` must be text', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'allowlist-pause-')), 'policy.json');
    writeFileSync(path, serializePolicy(renderDenyPolicy(VENDOR)));
    const target = fileTarget(path);
    const state = memoryStateStore();
    await expect(pause({ target, state, reason: '' })).rejects.toThrow(new SyncError('bad-pause', `Cannot pause file:${path}: "reason" must say why the IP restriction is lifted (non-empty text), got "".`));
    await expect(pause({ target, state, reason: 'y'.repeat(501) })).rejects.toMatchObject({ code: 'bad-pause', message: expect.stringContaining('at most 500 characters, got 501') });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(renderDenyPolicy(VENDOR));
    expect((await state.load(target.key)).pause).toBeUndefined();
  });
});
