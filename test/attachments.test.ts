import { IAMClient, AttachGroupPolicyCommand, AttachRolePolicyCommand, AttachUserPolicyCommand, ListEntitiesForPolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { AttachmentRule, keepAttached } from '../lambda/attachments';
import type { AttachOutcome, AttachedPrincipal, AttachmentOps, TargetRecord } from '../lambda/ports';
import { attachPolicy, attachmentOps, policyEntities } from '../lambda/targets/attachments';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const NOW = new Date('2026-12-01T10:00:00Z');
const ROLE: AttachedPrincipal = { kind: 'role', name: 'ManagedOpenShift-Support-Role' };
const USER: AttachedPrincipal = { kind: 'user', name: 'ci-runner' };
const rule = (reattach = true): AttachmentRule => ({ policyArn: ARN, principals: [ROLE, USER], reattach });

/** Ops over an in-memory attachment set; `absent` principals do not exist. */
function fakeOps(attached: AttachedPrincipal[], absent: string[] = []): AttachmentOps & { attaches: string[] } {
  const attaches: string[] = [];
  return {
    attaches,
    list: async () => [...attached],
    attach: async (p): Promise<AttachOutcome> => {
      attaches.push(`${p.kind}/${p.name}`);
      if (absent.includes(p.name)) return { ok: false, gone: true };
      attached.push(p);
      return { ok: true };
    },
  };
}

describe('keepAttached', () => {
  test('attached everywhere: nothing to do, nothing to tell', async () => {
    const ops = fakeOps([ROLE, { kind: 'user', name: 'CI-RUNNER' }]);
    const report = await keepAttached(ops, rule(), { dryRun: false, record: {}, now: NOW });
    expect(report).toEqual({ news: [], back: [], missing: {}, changed: false });
    expect(ops.attaches).toEqual([]);
  });

  test('detached from one: attached again and told (each detachment is news)', async () => {
    const ops = fakeOps([USER]);
    const report = await keepAttached(ops, rule(), { dryRun: false, record: {}, now: NOW });
    expect(ops.attaches).toEqual(['role/ManagedOpenShift-Support-Role']);
    expect(report.news).toEqual([{ principal: 'role/ManagedOpenShift-Support-Role', outcome: 'reattached' }]);
    expect(report.changed).toBe(false);
  });

  test('a dry run or reattach off: left detached, told once, remembered until it is attached again', async () => {
    const ops = fakeOps([USER]);
    const first = await keepAttached(ops, rule(false), { dryRun: false, record: {}, now: NOW });
    expect(ops.attaches).toEqual([]);
    expect(first.news).toEqual([{ principal: 'role/ManagedOpenShift-Support-Role', outcome: 'left detached' }]);
    expect(first.missing).toEqual({ 'role/ManagedOpenShift-Support-Role': { since: NOW.toISOString(), gone: false } });
    const record: TargetRecord = { attachments: { missing: first.missing } };
    const again = await keepAttached(ops, rule(), { dryRun: true, record, now: new Date(NOW.getTime() + 60_000) });
    expect(again.news).toEqual([]);
    expect(again.changed).toBe(false);

    const back = await keepAttached(fakeOps([ROLE, USER]), rule(), { dryRun: false, record, now: NOW });
    expect(back).toMatchObject({ news: [], back: ['role/ManagedOpenShift-Support-Role'], missing: {}, changed: true });
  });

  test('a principal that no longer exists: told once, tried again once a day, not every run', async () => {
    const ops = fakeOps([ROLE], ['ci-runner']);
    const first = await keepAttached(ops, rule(), { dryRun: false, record: {}, now: NOW });
    expect(first.news).toEqual([{ principal: 'user/ci-runner', outcome: 'gone' }]);
    const record: TargetRecord = { attachments: { missing: first.missing } };
    const hourLater = await keepAttached(ops, rule(), { dryRun: false, record, now: new Date(NOW.getTime() + 3600_000) });
    expect(hourLater.news).toEqual([]);
    expect(ops.attaches).toEqual(['user/ci-runner']);
    const dayLater = await keepAttached(ops, rule(), { dryRun: false, record, now: new Date(NOW.getTime() + 25 * 3600_000) });
    expect(ops.attaches).toEqual(['user/ci-runner', 'user/ci-runner']);
    expect(dayLater.news).toEqual([]);
    expect(dayLater.missing['user/ci-runner']).toMatchObject({ since: NOW.toISOString(), gone: true });
  });

  test('attaching again failing for another reason: told once, with the error', async () => {
    const ops: AttachmentOps = { list: async () => [], attach: async () => ({ ok: false, gone: false, error: new Error('IAM denied iam:AttachRolePolicy') }) };
    const report = await keepAttached(ops, { ...rule(), principals: [ROLE] }, { dryRun: false, record: {}, now: NOW });
    expect(report.news).toEqual([{ principal: 'role/ManagedOpenShift-Support-Role', outcome: 'failed', error: 'IAM denied iam:AttachRolePolicy' }]);
  });
});

describe('the attachment adapter', () => {
  const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' } });
  const iamMock = mockClient(iam);
  beforeEach(() => iamMock.reset());

  test('lists every page of ListEntitiesForPolicy as roles, users and groups', async () => {
    iamMock
      .on(ListEntitiesForPolicyCommand, { PolicyArn: ARN, Marker: undefined })
      .resolves({ PolicyRoles: [{ RoleName: 'A' }], IsTruncated: true, Marker: 'm1' })
      .on(ListEntitiesForPolicyCommand, { PolicyArn: ARN, Marker: 'm1' })
      .resolves({ PolicyUsers: [{ UserName: 'u' }], PolicyGroups: [{ GroupName: 'g' }], IsTruncated: false });
    await expect(policyEntities(iam, ARN)).resolves.toEqual([
      { kind: 'role', name: 'A' },
      { kind: 'user', name: 'u' },
      { kind: 'group', name: 'g' },
    ]);
  });

  test('attaches with the kind\'s own call; NoSuchEntity is a principal that is gone; a denial is an error naming it', async () => {
    iamMock.on(AttachRolePolicyCommand).resolves({});
    iamMock.on(AttachUserPolicyCommand).rejects(Object.assign(new Error('The user with name ci-runner cannot be found.'), { name: 'NoSuchEntity' }));
    iamMock.on(AttachGroupPolicyCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    await expect(attachPolicy(iam, ROLE, ARN)).resolves.toEqual({ ok: true });
    expect(iamMock.commandCalls(AttachRolePolicyCommand)[0].args[0].input).toEqual({ RoleName: ROLE.name, PolicyArn: ARN });
    await expect(attachPolicy(iam, USER, ARN)).resolves.toEqual({ ok: false, gone: true });
    const denied = await attachPolicy(iam, { kind: 'group', name: 'admins' }, ARN);
    expect(denied).toMatchObject({ ok: false, gone: false });
    expect((denied as { error: Error }).error.message).toContain('iam:AttachGroupPolicy');
    // The port builds its client on first use.
    let built = 0;
    const ops = attachmentOps(() => (built++, iam), ARN);
    expect(built).toBe(0);
    await ops.attach(ROLE);
    expect(built).toBe(1);
  });
});
