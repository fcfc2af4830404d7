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
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../bin/allowlist-sync';
import { policyStatus, rollback } from '../lambda/admin';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { SyncError } from '../lambda/errors';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const encoded = (entries: string[]): string => encodeURIComponent(JSON.stringify(renderDenyPolicy(entries), null, 4));
const day = (d: number): Date => new Date(Date.UTC(2026, 10, d));

const iamMock = mockClient(IAMClient);
const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });

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

const V1 = ['10.0.0.0/24', '10.0.2.0/24', '10.0.4.0/24'];
const V2 = [...V1, '10.0.6.0/24'];
const V3 = [...V2, '192.0.2.1/32'];

describe('status', () => {
  it('reports the default version, its entries, its date, the versions kept and the alert state', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) }, 'v3', {
      'allowlist-sync:alert-state': 'refused',
      'allowlist-sync:alert-key': '0123456789abcdef',
      'allowlist-sync:alert-at': '2026-11-20T10:00:00.000Z',
    });
    const status = await policyStatus(iam, ARN);
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
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(await main(['status', '--target', `iam:${ARN}`], { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }, io)).toBe(0);
    expect(out.join('\n')).toContain('Default:  v3, created 2026-11-03T00:00:00.000Z');
    expect(out.join('\n')).toContain('Alerts:   no alert state recorded');
    expect(out.join('\n')).toContain('  192.0.2.1/32');
    out.length = 0;
    expect(await main(['status', '--target', `iam:${ARN}`, '--json'], {}, io)).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ defaultVersionId: 'v3', entries: V3 });
  });

  it('refuses a file target with a clear usage error', async () => {
    const err: string[] = [];
    const code = await main(['status', '--target', 'file:/tmp/x.json'], {}, { out: () => undefined, err: (t) => err.push(t) });
    expect(code).toBe(1);
    expect(err.join('')).toContain('This command needs --target iam:POLICY_ARN, got "file:/tmp/x.json".');
  });
});

describe('rollback', () => {
  it('makes the newest older version the default again', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await rollback(iam, ARN);
    expect(result).toMatchObject({ status: 'rolled-back', fromVersionId: 'v3', toVersionId: 'v2', forced: false });
    expect(result.plan.removed).toEqual(['192.0.2.1/32']);
    expect(iamMock).toHaveReceivedCommandWith(SetDefaultPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v2' });
  });

  it('refuses a version that fails the guards, and writes nothing', async () => {
    // v1 drops 2 of 5 entries (40%), more than the 30% allowed.
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await rollback(iam, ARN, { to: 'v1' });
    expect(result.status).toBe('refused');
    expect(result.plan.reasons).toEqual(['2 of 5 current entries would be removed (40%), more than the 30% allowed']);
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
  });

  it('rolls back anyway with force when every refusal is approvable', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const result = await rollback(iam, ARN, { to: 'v1', force: true });
    expect(result).toMatchObject({ status: 'rolled-back', forced: true, toVersionId: 'v1' });
    expect(iamMock).toHaveReceivedCommandWith(SetDefaultPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v1' });
  });

  it('never rolls back to a catch-all or an empty version, even with force', async () => {
    const empty = encodeURIComponent(serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    givenPolicy({ v1: encoded(['0.0.0.0/0']), v2: empty, v3: encoded(V3) });
    for (const to of ['v1', 'v2']) {
      const result = await rollback(iam, ARN, { to, force: true });
      expect(result.status).toBe('refused');
      expect(result.plan.refusals.some((r) => !r.approvable)).toBe(true);
    }
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
  });

  it('names the versions IAM keeps when asked for one that is gone', async () => {
    givenPolicy({ v2: encoded(V2), v3: encoded(V3) });
    await expect(rollback(iam, ARN, { to: 'v1' })).rejects.toThrow(
      new SyncError('policy-version-not-found', `Version v1 of ${ARN} does not exist; IAM keeps v3, v2.`, 'Pick one of those with --to.'),
    );
  });

  it('exits 3 through the CLI when refused, 0 when rolled back', async () => {
    givenPolicy({ v1: encoded(V1), v2: encoded(V2), v3: encoded(V3) });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(await main(['rollback', '--target', `iam:${ARN}`, '--to', 'v1'], {}, io)).toBe(3);
    expect(out.join('\n')).toContain('Add --force to roll back anyway.');
    expect(await main(['rollback', '--target', `iam:${ARN}`, '--to', 'v1', '--force', '--json'], {}, io)).toBe(0);
    expect(JSON.parse(out[out.length - 1])).toMatchObject({ status: 'rolled-back', forced: true, fromVersionId: 'v3', toVersionId: 'v1' });
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
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(await main(['plan', '--source', 'static:203.0.113.0/24', '--target', 'iam-trust:BreakGlass'], {}, io)).toBe(1);
    expect(out.join('\n')).toContain('A trust policy target needs --principal ARN');
    out.length = 0;
    const code = await main(['plan', '--source', 'static:203.0.113.0/24', '--target', 'iam-trust:BreakGlass', '--principal', 'arn:aws:iam::123456789012:root', '--json'], {}, io);
    expect(code).toBe(2);
    const result = JSON.parse(out.join('')) as { status: string; added: string[]; sizeLimit: number; target: string };
    expect(result).toMatchObject({ status: 'changes', added: ['203.0.113.0/24'], sizeLimit: 2048, target: 'iam-trust:BreakGlass' });
  });

  it('reads an ssm: source and an iam-inline: target', async () => {
    iamMock.reset();
    iamMock.on(ListRolePoliciesCommand).resolves({ PolicyNames: [], IsTruncated: false });
    const ssmMock = mockClient(SSMClient);
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: '/vendor/ips', Type: 'StringList', Value: '100.64.1.0/24,100.64.2.0/24' } });
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const code = await main(['plan', '--source', 'ssm:/vendor/ips', '--target', 'iam-inline:VendorRole/deny-outside-vendor-ips', '--json'], {}, io);
    expect(code).toBe(2);
    expect(JSON.parse(out.join(''))).toMatchObject({ status: 'changes', adoption: true, entries: ['100.64.1.0/24', '100.64.2.0/24'], sizeLimit: 10240 });
    ssmMock.restore();
  });
});
