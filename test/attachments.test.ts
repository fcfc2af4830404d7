import { IAMClient, AttachGroupPolicyCommand, AttachRolePolicyCommand, AttachUserPolicyCommand, ListEntitiesForPolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { AttachmentRule, FULL_CHECK_INTERVAL_MS, keepAttached } from '../lambda/attachments';
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
    expect(report).toEqual({ news: [], back: [], missing: {}, changed: false, fullCheck: 'no full check recorded', record: { checkedAt: NOW.toISOString(), attachmentCount: 2 } });
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

describe('when the attachments are listed (a full check) and when AttachmentCount vouches for the last one', () => {
  /** Ops that count their listings. */
  function countingOps(attached: AttachedPrincipal[]): AttachmentOps & { lists: number; attaches: string[] } {
    const ops = { ...fakeOps(attached), lists: 0 };
    const list = ops.list;
    ops.list = async () => (ops.lists++, list());
    return ops;
  }
  const checked = (minutesAgo: number, attachmentCount = 2, extra: object = {}): TargetRecord => ({
    attachments: { checkedAt: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString(), attachmentCount, ...extra },
  });

  test('checked minutes ago and the count unchanged: nothing listed, nothing to keep', async () => {
    const ops = countingOps([ROLE, USER]);
    const report = await keepAttached(ops, rule(), { dryRun: false, record: checked(10), now: NOW, attachmentCount: 2 });
    expect(ops.lists).toBe(0);
    expect(report).toEqual({ news: [], back: [], missing: {}, changed: false });
  });

  test('no record of a full check (the first run of the target ever): listed, and the check recorded', async () => {
    const ops = countingOps([ROLE, USER]);
    const report = await keepAttached(ops, rule(), { dryRun: false, record: {}, now: NOW, attachmentCount: 2 });
    expect(ops.lists).toBe(1);
    expect(report.fullCheck).toBe('no full check recorded');
    expect(report.record).toEqual({ checkedAt: NOW.toISOString(), attachmentCount: 2 });
  });

  test('the last full check an interval old: listed again, even with the count unchanged', async () => {
    const ops = countingOps([ROLE, USER]);
    const justUnder = await keepAttached(ops, rule(), { dryRun: false, record: checked(FULL_CHECK_INTERVAL_MS / 60_000 - 1), now: NOW, attachmentCount: 2 });
    expect(justUnder.fullCheck).toBeUndefined();
    const report = await keepAttached(ops, rule(), { dryRun: false, record: checked(FULL_CHECK_INTERVAL_MS / 60_000), now: NOW, attachmentCount: 2 });
    expect(ops.lists).toBe(1);
    expect(report.fullCheck).toBe('the last full check is 60 minutes old');
  });

  test('the count lower than at the last full check (a detachment): listed at once, attached again, told', async () => {
    const ops = countingOps([USER]);
    const report = await keepAttached(ops, rule(), { dryRun: false, record: checked(5), now: NOW, attachmentCount: 1 });
    expect(ops.lists).toBe(1);
    expect(report.fullCheck).toBe('AttachmentCount fell from 2 to 1');
    expect(report.news).toEqual([{ principal: 'role/ManagedOpenShift-Support-Role', outcome: 'reattached' }]);
    // Ours again: what AttachmentCount says next run, so that run lists nothing.
    expect(report.record).toEqual({ checkedAt: NOW.toISOString(), attachmentCount: 2 });
  });

  test('the count higher (attached elsewhere since, which would hide a later detachment), or unknown: listed', async () => {
    const ops = countingOps([ROLE, USER, { kind: 'role', name: 'Other' }]);
    const higher = await keepAttached(ops, rule(), { dryRun: false, record: checked(5), now: NOW, attachmentCount: 3 });
    expect(higher.fullCheck).toBe('AttachmentCount rose from 2 to 3');
    expect(higher.record?.attachmentCount).toBe(3);
    const unknown = await keepAttached(ops, rule(), { dryRun: false, record: checked(5), now: NOW });
    expect(unknown.fullCheck).toBe('IAM gave no AttachmentCount');
    expect(ops.lists).toBe(2);
  });

  test('a principal left detached by a dry run is attached by the next run at once; a gone one only when its day is over', async () => {
    const left = checked(5, 1, { missing: { 'role/ManagedOpenShift-Support-Role': { since: NOW.toISOString(), gone: false } } });
    const ops = countingOps([USER]);
    expect((await keepAttached(ops, rule(), { dryRun: true, record: left, now: NOW, attachmentCount: 1 })).fullCheck).toBeUndefined();
    expect((await keepAttached(ops, rule(false), { dryRun: false, record: left, now: NOW, attachmentCount: 1 })).fullCheck).toBeUndefined();
    const report = await keepAttached(ops, rule(), { dryRun: false, record: left, now: NOW, attachmentCount: 1 });
    expect(report.fullCheck).toBe('a missing principal is to be attached again');
    expect(ops.attaches).toEqual(['role/ManagedOpenShift-Support-Role']);

    const gone = (hoursAgo: number) => checked(5, 1, { missing: { 'user/ci-runner': { since: NOW.toISOString(), gone: true, triedAt: new Date(NOW.getTime() - hoursAgo * 3600_000).toISOString() } } });
    expect((await keepAttached(countingOps([ROLE]), rule(), { dryRun: false, record: gone(2), now: NOW, attachmentCount: 1 })).fullCheck).toBeUndefined();
    expect((await keepAttached(countingOps([ROLE]), rule(), { dryRun: false, record: gone(25), now: NOW, attachmentCount: 1 })).fullCheck).toBe('a missing principal is to be attached again');
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
