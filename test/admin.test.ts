import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  GetPolicyCommand,
  GetRoleCommand,
  ListRolePoliciesCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  SetDefaultPolicyVersionCommand,
  CreatePolicyVersionCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../bin/allowlist-sync';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RollbackOptions, policyStatus, rollback } from '../lambda/admin';
import { PLACEHOLDER_POLICY_DOCUMENT, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { SyncError } from '../lambda/errors';
import { memoryStateStore } from '../lambda/state/json-store';
import { managedPolicyTarget } from '../lambda/targets/managed-policy';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const encoded = (entries: string[]): string => encodeURIComponent(JSON.stringify(renderDenyPolicy(entries), null, 4));
const day = (d: number): Date => new Date(Date.UTC(2026, 10, d));

const iamMock = mockClient(IAMClient);
const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
/** The CLI keeps local state for iam: targets without a table: in a temporary directory here, never the home directory. */
// POLICY_CHECKS: the AWS engines' checks have their own tests (policy-checks*.test.ts); here they would call AWS.
const CLI_ENV = { ALLOWLIST_SYNC_STATE_DIR: mkdtempSync(join(tmpdir(), 'allowlist-sync-state-')), POLICY_CHECKS: 'off' };
const managedRollback = (options: Partial<RollbackOptions> = {}) =>
  rollback({ target: managedPolicyTarget(iam, ARN), iam, policyArn: ARN, state: memoryStateStore(), leaseWaitsMs: [], ...options });

/** A policy with versions v1..v3 (v3 default) holding these documents. */
function givenPolicy(documents: Record<string, string>, defaultVersion = 'v3', tags: Record<string, string> = {}): void {
  iamMock.reset();
  iamMock.on(GetPolicyCommand).resolves({ Policy: { Arn: ARN, PolicyName: 'rosa-trusted-ips', DefaultVersionId: defaultVersion, AttachmentCount: 2 } });
  iamMock.on(ListPolicyVersionsCommand).resolves({
    Versions: Object.keys(documents).map((id, i) => ({ VersionId: id, IsDefaultVersion: id === defaultVersion, CreateDate: day(i + 1) })),
  });
  for (const [id, document] of Object.entries(documents)) {
    iamMock.on(GetPolicyVersionCommand, { PolicyArn: ARN, VersionId: id }).resolves({ PolicyVersion: { VersionId: id, Document: document } });
  }
  iamMock.on(ListPolicyTagsCommand).resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
  iamMock.on(SetDefaultPolicyVersionCommand).resolves({});
}

const V1 = ['20.0.0.0/24', '20.0.2.0/24', '20.0.4.0/24'];
const V2 = [...V1, '20.0.6.0/24'];
const V3 = [...V2, '192.0.2.1/32'];

describe('status', () => {
  it('reports the default version, its entries, its date, the versions kept and the alert state from the state store', async () => {
    // Tags are no longer the alert state: a hand-made one is ignored.
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) }, 'v3', { 'allowlist-sync:alert-state': 'ok' });
    const state = memoryStateStore();
    await state.update(ARN, { alert: { status: 'refused', key: '0123456789abcdef', at: '2026-11-20T10:00:00.000Z' } });
    const status = await policyStatus(iam, ARN, undefined, state);
    expect(status).toMatchObject({
      arn: ARN,
      name: 'rosa-trusted-ips',
      defaultVersionId: 'v3',
      defaultCreatedAt: day(3).toISOString(),
      attachmentCount: 2,
      entries: V3,
      alertState: { status: 'refused', key: '0123456789abcdef', at: '2026-11-20T10:00:00.000Z' },
    });
    expect(status.versions.map((v) => v.versionId)).toEqual(['v3', 'v2', 'v1']);
  });

  it('prints it through the CLI, as text and as JSON', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    expect(await main(['status', '--target', `iam:${ARN}`], { ...CLI_ENV, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }, io)).toBe(0);
    expect(out.join('\n')).toContain('Default:  v3, created 2026-11-03T00:00:00.000Z');
    expect(out.join('\n')).toContain('Alerts:   no alert state recorded');
    expect(out.join('\n')).toContain('  192.0.2.1/32');
    out.length = 0;
    expect(await main(['status', '--target', `iam:${ARN}`, '--json'], CLI_ENV, io)).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ defaultVersionId: 'v3', entries: V3 });
  });

  it('shows a file target too: its entries and what the state store keeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allowlist-sync-'));
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    expect(await main(['status', '--target', `file:${join(dir, 'policy.json')}`], {}, io)).toBe(0);
    expect(out.join('\n')).toContain(`Target:   file:${join(dir, 'policy.json')}`);
    expect(out.join('\n')).toContain('History:  nothing kept yet');
  });
});

describe('rollback', () => {
  it('makes the newest older version the default again', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback();
    expect(result).toMatchObject({ status: 'rolled-back', fromVersionId: 'v3', toVersionId: 'v2', forced: false });
    expect(result.plan.removed).toEqual(['192.0.2.1/32']);
    expect(iamMock).toHaveReceivedCommandWith(SetDefaultPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v2' });
  });

  it('refuses a version that fails the guards, and writes nothing', async () => {
    // v1 drops 2 of 5 entries (40%), more than the 30% allowed.
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback({ to: 'v1' });
    expect(result.status).toBe('refused');
    expect(result.plan.reasons).toEqual(['2 of 5 current entries would be removed (40%), more than the 30% allowed']);
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
  });

  it('rolls back anyway with force when every refusal is approvable', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback({ to: 'v1', force: true });
    expect(result).toMatchObject({ status: 'rolled-back', forced: true, toVersionId: 'v1' });
    expect(iamMock).toHaveReceivedCommandWith(SetDefaultPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v1' });
  });

  it('never rolls back to a catch-all, an empty list or a private range, even with force', async () => {
    givenPolicy({ v1: encoded(['0.0.0.0/0']), v2: encoded([]), v3: encoded(V3), v4: encoded(['10.0.0.0/8']) }, 'v3');
    for (const to of ['v1', 'v2', 'v4']) {
      const result = await managedRollback({ to, force: true });
      expect(result.status).toBe('refused');
      expect(result.plan.refusals.some((r) => !r.approvable)).toBe(true);
    }
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
  });

  it('judges the whole document: a version carrying Allow * needs --force, and says it restores it', async () => {
    const backdoor = { ...renderDenyPolicy(V3), Statement: [...renderDenyPolicy(V3).Statement, { Sid: 'Backdoor', Effect: 'Allow', Action: '*', Resource: '*' }] };
    givenPolicy({ v1: encodeURIComponent(serializePolicy(backdoor)), v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback({ to: 'v1' });
    expect(result.status).toBe('refused');
    expect(result.plan.refusals).toEqual([
      {
        code: 'foreign-statements',
        approvable: true,
        message: 'v1 holds 1 statement allowlist-sync did not write and the current document does not have: an ALLOW statement, Sid "Backdoor" (Allow *); restoring it brings it back',
      },
    ]);
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    expect(await main(['rollback', '--target', `iam:${ARN}`, '--to', 'v1'], CLI_ENV, io)).toBe(3);
    expect(out.join('\n')).toContain('!! v1 holds an Allow statement');
    expect(out.join('\n')).toContain('ALLOW STATEMENT brought back: Sid "Backdoor" (Allow *)');
  });

  it("says exactly what rolling back to the stack's placeholder does: it denies nothing (not 'the allowlist is empty')", async () => {
    givenPolicy({ v1: encodeURIComponent(JSON.stringify(PLACEHOLDER_POLICY_DOCUMENT)), v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback({ to: 'v1' });
    expect(result.plan.reasons).toEqual(["v1 is the stack's placeholder: it denies nothing, so restoring it lifts the IP restriction entirely (a pause, not an allowlist)"]);
    expect(result.plan.reasons.join()).not.toContain('empty');
    const forced = await managedRollback({ to: 'v1', force: true });
    expect(forced).toMatchObject({ status: 'rolled-back', forced: true });
  });

  it('a version without any aws:SourceIp statement needs --force, and says it lifts the restriction', async () => {
    const allowOnly = encodeURIComponent(serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    givenPolicy({ v1: allowOnly, v2: encoded(V2), v3: encoded(V3) });
    const result = await managedRollback({ to: 'v1' });
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['no-allowlist', 'foreign-statements']);
    expect(result.plan.reasons[0]).toBe('v1 holds no aws:SourceIp statement: restoring it lifts the IP restriction entirely');
  });

  it('names the versions IAM keeps when asked for one that is gone', async () => {
    givenPolicy({ v2: encoded(V2), v3: encoded(V3) });
    await expect(managedRollback({ to: 'v1' })).rejects.toThrow(
      new SyncError('policy-version-not-found', `Version v1 of ${ARN} does not exist; IAM keeps v3, v2.`, 'Pick one of those with --to.'),
    );
  });

  it('exits 3 through the CLI when refused, 0 when rolled back', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    expect(await main(['rollback', '--target', `iam:${ARN}`, '--to', 'v1'], CLI_ENV, io)).toBe(3);
    expect(out.join('\n')).toContain('Add --force to roll back anyway.');
    expect(await main(['rollback', '--target', `iam:${ARN}`, '--to', 'v1', '--force', '--json'], CLI_ENV, io)).toBe(0);
    expect(JSON.parse(out[out.length - 1])).toMatchObject({ status: 'rolled-back', forced: true, fromVersionId: 'v3', toVersionId: 'v1' });
  });
});

describe('CLI: the guards as the function applies them', () => {
  const io = (out: string[]) => ({ out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) });

  it("a trust policy: someone else's IP deny stays byte-identical, ours is added; then rollback restores the kept document", async () => {
    const allow = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' };
    const contractor = { Sid: 'ContractorFromOffice', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:role/Contractor' }, Action: 'sts:AssumeRole', Condition: { NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } } };
    let document = JSON.stringify({ Version: '2012-10-17', Statement: [allow, contractor] });
    iamMock.reset();
    iamMock.on(GetRoleCommand).callsFake(() => ({
      Role: { RoleName: 'BreakGlass', Arn: 'arn:aws:iam::123456789012:role/BreakGlass', Path: '/', RoleId: 'AROA1', CreateDate: day(1), AssumeRolePolicyDocument: encodeURIComponent(document) },
    }));
    iamMock.on(UpdateAssumeRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
      document = input.PolicyDocument;
      return {};
    });
    const env = { ...CLI_ENV, ALLOWLIST_SYNC_STATE_DIR: mkdtempSync(join(tmpdir(), 'allowlist-sync-state-')) };
    const args = ['--target', 'iam-trust:BreakGlass', '--principal', 'arn:aws:iam::123456789012:root'];
    const out: string[] = [];
    expect(await main(['apply', '--source', 'static:203.0.113.0/24', ...args, '--json'], env, io(out))).toBe(0);
    const written = JSON.parse(document) as { Statement: unknown[] };
    expect(written.Statement.slice(0, 2)).toEqual([allow, contractor]);
    expect(JSON.stringify(written.Statement[1])).toBe(JSON.stringify(contractor));
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'updated', adoption: true, previousVersionId: 'r1' });

    out.length = 0;
    // r1 is the trust policy before allowlist-sync: restoring it lifts our deny, so it needs --force.
    expect(await main(['rollback', ...args, '--json'], env, io(out))).toBe(3);
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'refused', reasons: ['r1 holds no aws:SourceIp statement: restoring it lifts the IP restriction entirely'] });
    out.length = 0;
    expect(await main(['rollback', ...args, '--force', '--json'], env, io(out))).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'rolled-back', toVersionId: 'r1', forced: true });
    expect(JSON.parse(document)).toEqual({ Version: '2012-10-17', Statement: [allow, contractor] });
  });

  it('a private range and a widening are refused, exit 3, naming the entry and its source; nothing written', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const out: string[] = [];
    expect(await main(['apply', '--source', `static:${[...V3, '10.1.0.0/16'].join(',')}`, '--target', `iam:${ARN}`], CLI_ENV, io(out))).toBe(3);
    expect(out.join('\n')).toContain(`"10.1.0.0/16" from static:${[...V3, '10.1.0.0/16'].join(',')} (private (RFC 1918), inside 10.0.0.0/8)`);
    out.length = 0;
    expect(await main(['apply', '--source', `static:${[...V3, '52.0.0.0/9'].join(',')}`, '--target', `iam:${ARN}`], CLI_ENV, io(out))).toBe(3);
    expect(out.join('\n')).toContain('the change would newly allow 2^23 addresses of IPv4 (at most 65,536 addresses) in one step');
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });
});

describe('CLI targets beyond the managed policy', () => {
  it('plans a trust policy change, keeping foreign statements, and requires --principal', async () => {
    const allow = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' };
    iamMock.reset();
    iamMock.on(GetRoleCommand).resolves({
      Role: { RoleName: 'BreakGlass', Arn: 'arn:aws:iam::123456789012:role/BreakGlass', Path: '/', RoleId: 'AROA1', CreateDate: day(1), AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [allow] })) },
    });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    expect(await main(['plan', '--source', 'static:203.0.113.0/24', '--target', 'iam-trust:BreakGlass'], CLI_ENV, io)).toBe(1);
    expect(out.join('\n')).toContain('A trust policy target needs --principal ARN');
    out.length = 0;
    const code = await main(['plan', '--source', 'static:203.0.113.0/24', '--target', 'iam-trust:BreakGlass', '--principal', 'arn:aws:iam::123456789012:root', '--json'], CLI_ENV, io);
    expect(code).toBe(2);
    const result = JSON.parse(out.join('')) as { status: string; added: string[]; sizeLimit: number; target: string };
    expect(result).toMatchObject({ status: 'changes', added: ['203.0.113.0/24'], sizeLimit: 2048, target: 'iam-trust:BreakGlass' });
  });

  it('reads an ssm: source and an iam-inline: target', async () => {
    iamMock.reset();
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    const ssmMock = mockClient(SSMClient);
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: '/vendor/ips', Type: 'StringList', Value: '198.51.100.0/25,203.0.113.0/24' } });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => (t.includes('no state table') ? undefined : out.push(t)) };
    const code = await main(['plan', '--source', 'ssm:/vendor/ips', '--target', 'iam-inline:VendorRole/deny-outside-vendor-ips', '--json'], CLI_ENV, io);
    expect(code).toBe(2);
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'changes', adoption: true, entries: ['198.51.100.0/25', '203.0.113.0/24'], sizeLimit: 10240 });
    ssmMock.restore();
  });
});
