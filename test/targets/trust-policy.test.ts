import {
  GetRoleCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  UnmodifiableEntityException,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { plan } from '../../lambda/allowlist/plan';
import { PolicyDocument, Statement, parsePolicy, serializePolicy } from '../../lambda/allowlist/policy';
import { findTrustAllowlistStatement, renderTrustStatement, trustPolicyShape } from '../../lambda/allowlist/trust-policy';
import { normalize } from '../../lambda/allowlist/cidr';
import { SyncError } from '../../lambda/errors';
import { staticSource } from '../../lambda/sources/static';
import { Log, sync } from '../../lambda/sync';
import { TargetRefusedError } from '../../lambda/ports';
import { trustPolicyTarget } from '../../lambda/targets/trust-policy';

const ROLE = 'ManagedOpenShift-Support-Role';
const SUPPORT = 'arn:aws:iam::710019948333:role/RH-Technical-Support-Access';
const ENTRIES = ['3.20.58.12/32', '52.15.23.0/26'];
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const shape = trustPolicyShape([SUPPORT]);

const allowSupport: Statement = {
  Effect: 'Allow',
  Principal: { AWS: SUPPORT },
  Action: ['sts:AssumeRole', 'sts:TagSession'],
  Condition: { StringEquals: { 'sts:ExternalId': 'f4c1a2b3' } },
};
const allowOcm: Statement = { Sid: 'OcmInstaller', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::710019948333:role/RH-Managed-OpenShift-Installer'] }, Action: 'sts:AssumeRole' };
const denyGuests: Statement = { Sid: 'NoGuests', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Condition: { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/guest-*' } } };

/** IAM's GetRole form: the document as it was written, URL-encoded. */
const iamEncoded = (document: PolicyDocument, indent?: number): string => encodeURIComponent(JSON.stringify(document, null, indent));

function role(document: PolicyDocument, tags?: Record<string, string>) {
  return {
    Role: {
      RoleName: ROLE,
      RoleId: 'AROAEXAMPLE',
      Arn: `arn:aws:iam::123456789012:role/${ROLE}`,
      Path: '/',
      CreateDate: new Date(Date.UTC(2024, 0, 1)),
      AssumeRolePolicyDocument: iamEncoded(document, 4),
      ...(tags ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    },
  };
}

function desired(entries: readonly string[]) {
  return normalize(entries.map((value) => ({ value, source: 'test' })));
}

/** The documents written with UpdateAssumeRolePolicy, parsed. */
function written(): PolicyDocument[] {
  return iamMock.commandCalls(UpdateAssumeRolePolicyCommand).map((call) => parsePolicy(call.args[0].input.PolicyDocument ?? ''));
}

/** The statements other than the allowlist's, exactly as JSON.stringify writes them (key order included). */
function foreign(document: PolicyDocument): string[] {
  const index = findTrustAllowlistStatement(document);
  return document.Statement.filter((_, i) => i !== index).map((s) => JSON.stringify(s));
}

/** Fails the test if the promise resolves; returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function recordingLog(): Log & { lines: { level: string; message: string; extra: Record<string, unknown>[] }[] } {
  const lines: { level: string; message: string; extra: Record<string, unknown>[] }[] = [];
  return {
    lines,
    info: (message, ...extra) => lines.push({ level: 'info', message, extra }),
    warn: (message, ...extra) => lines.push({ level: 'warn', message, extra }),
  };
}

beforeEach(() => iamMock.reset());

describe('read', () => {
  test('returns the trust policy as IAM gives it, no version, the default size limit of 2,048', async () => {
    const document: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport] };
    iamMock.on(GetRoleCommand, { RoleName: ROLE }).resolves(role(document));
    const target = trustPolicyTarget(iam, ROLE);
    expect(target.name).toBe(`iam-trust:${ROLE}`);
    await expect(target.read()).resolves.toEqual({ document: iamEncoded(document, 4), sizeLimit: 2048 });
  });

  test('takes a raised quota as its size limit', async () => {
    iamMock.on(GetRoleCommand).resolves(role({ Statement: [allowSupport] }));
    await expect(trustPolicyTarget(iam, ROLE, { sizeLimit: 4096 }).read()).resolves.toMatchObject({ sizeLimit: 4096 });
  });

  test('names a missing role: role-not-found', async () => {
    iamMock.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: `The role with name ${ROLE} cannot be found.`, $metadata: {} }));
    const err = await rejection(trustPolicyTarget(iam, ROLE).read());
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'role-not-found', message: expect.stringContaining(ROLE) });
    expect((err as Error).message).toContain('roleName');
  });

  test('names the role and the action when IAM denies the read', async () => {
    iamMock.on(GetRoleCommand).rejects(new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not authorized to perform: iam:GetRole', $metadata: { httpStatusCode: 403 } }));
    const err = await rejection(trustPolicyTarget(iam, ROLE).read());
    expect(err).toMatchObject({ code: 'iam-access-denied', message: expect.stringContaining(`iam:GetRole on role ${ROLE}`) });
  });
});

describe('a full read → plan → write cycle through sync', () => {
  const sources = [staticSource(ENTRIES)];

  test('adoption: our statement is appended, every foreign statement written back byte for byte', async () => {
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, allowOcm, denyGuests] };
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});

    const result = await sync({ sources, target: trustPolicyTarget(iam, ROLE), plan: { shape } });

    expect(result).toMatchObject({ status: 'updated', target: `iam-trust:${ROLE}` });
    expect(result.plan).toMatchObject({ adoption: true, added: ENTRIES, removed: [], sizeLimit: 2048 });
    expect(result).not.toHaveProperty('versionId');
    expect(iamMock).toHaveReceivedCommandWith(UpdateAssumeRolePolicyCommand, { RoleName: ROLE });
    const [document] = written();
    expect(foreign(document)).toEqual([allowSupport, allowOcm, denyGuests].map((s) => JSON.stringify(s)));
    expect(document.Statement[3]).toEqual(renderTrustStatement([SUPPORT], ENTRIES));
    expect(document.Version).toBe('2012-10-17');
  });

  test("someone else's IP deny (a contractor's) is never taken over: it stays byte-identical and ours is added", async () => {
    const contractor: Statement = { Sid: 'ContractorFromOffice', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:role/Contractor' }, Action: ['sts:AssumeRole'], Condition: { NotIpAddress: { 'aws:SourceIp': '3.20.58.12/32' } } };
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, contractor, denyGuests] };
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});

    const result = await sync({ sources, target: trustPolicyTarget(iam, ROLE), plan: { shape } });

    expect(result.plan).toMatchObject({ adoption: true, drift: false, currentEntries: [], statementChanges: [] });
    const [document] = written();
    expect(document.Statement).toEqual([allowSupport, contractor, denyGuests, renderTrustStatement([SUPPORT], ENTRIES)]);
    expect(JSON.stringify(document.Statement[1])).toBe(JSON.stringify(contractor));
  });

  test('change: only our statement changes, in place, and the previous document is logged', async () => {
    const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ['3.20.58.12/32']), allowOcm, denyGuests] };
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});
    const log = recordingLog();

    const result = await sync({ sources, target: trustPolicyTarget(iam, ROLE, { log }), plan: { shape }, log });

    expect(result).toMatchObject({ status: 'updated', plan: { added: ['52.15.23.0/26'], removed: [], adoption: false, drift: false } });
    const [document] = written();
    expect(document.Statement.map((s) => s.Sid)).toEqual([undefined, 'AllowlistSyncDenyOutsideTrustedIps', 'OcmInstaller', 'NoGuests']);
    expect(foreign(document)).toEqual(foreign(current));
    const replaced = log.lines.find((l) => l.message.startsWith('replacing the trust policy'));
    expect(replaced?.level).toBe('info');
    expect(replaced?.extra[0]).toMatchObject({ roleName: ROLE, planId: result.plan.planId, previousDocument: JSON.stringify(current, null, 4) });
  });

  test('unchanged: nothing is written when our statement already holds the list', async () => {
    iamMock.on(GetRoleCommand).resolves(role({ Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES)] }));
    const result = await sync({ sources, target: trustPolicyTarget(iam, ROLE), plan: { shape } });
    expect(result.status).toBe('unchanged');
    expect(iamMock).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
  });

  test("the plan refuses a document over the target's 2,048, even with a higher size guard; nothing is written", async () => {
    iamMock.on(GetRoleCommand).resolves(role({ Version: '2012-10-17', Statement: [allowSupport] }));
    const many = Array.from({ length: 150 }, (_, i) => `20.${i}.0.0/24`);
    const result = await sync({ sources: [staticSource(many)], target: trustPolicyTarget(iam, ROLE), plan: { shape, guards: { sizeLimit: 6144 } } });
    expect(result.status).toBe('refused');
    expect(result.plan.sizeLimit).toBe(2048);
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['size-limit']);
    expect(iamMock).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
  });

  test("IAM's LimitExceeded (the account's quota is lower than configured) is a refusal, not a crash", async () => {
    iamMock.on(GetRoleCommand).resolves(role({ Version: '2012-10-17', Statement: [allowSupport] }));
    iamMock.on(UpdateAssumeRolePolicyCommand).rejects(new LimitExceededException({ message: 'Cannot exceed quota for ACLSizePerRole: 2048', $metadata: {} }));
    const many = Array.from({ length: 150 }, (_, i) => `20.${i}.0.0/24`);
    const result = await sync({ sources: [staticSource(many)], target: trustPolicyTarget(iam, ROLE, { sizeLimit: 4096 }), plan: { shape } });
    expect(result.status).toBe('refused');
    expect(result.plan.refusals).toEqual([expect.objectContaining({ code: 'target-refused', message: expect.stringContaining('ACLSizePerRole: 2048') })]);
  });

  test('a concurrent writer between read and write: nothing is overwritten', async () => {
    const first: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport] };
    const meanwhile: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport, allowOcm] };
    iamMock.on(GetRoleCommand).resolvesOnce(role(first)).resolves(role(meanwhile));
    const err = await rejection(sync({ sources, target: trustPolicyTarget(iam, ROLE), plan: { shape } }));
    expect(err).toMatchObject({ code: 'concurrent-writer', message: expect.stringContaining(ROLE) });
    expect(iamMock).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
  });
});

describe('write', () => {
  const current: PolicyDocument = { Version: '2012-10-17', Statement: [allowSupport] };

  async function readThenWrite(document: string) {
    const target = trustPolicyTarget(iam, ROLE);
    const p = plan(await target.read(), desired(ENTRIES), { shape });
    return target.write({ document: document || p.document, planId: p.planId });
  }

  test('returns no version ids (a trust policy has none) but the document it replaced, for the history', async () => {
    const next = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES)] });
    iamMock.on(GetRoleCommand).resolvesOnce(role(current)).resolvesOnce(role(current)).resolves({ Role: { ...role(current).Role, AssumeRolePolicyDocument: encodeURIComponent(next) } });
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});
    const result = await readThenWrite(next);
    expect(result).toEqual({ previousDocument: JSON.stringify(current, null, 4) });
  });

  test('reads back after the write: a different document there is another writer, reported', async () => {
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});
    const next = serializePolicy({ Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES)] });
    const result = await readThenWrite(next);
    expect(result.otherWriters).toEqual([`the trust policy of role ${ROLE} read back different from what was just written: another writer`]);
  });

  test('MalformedPolicyDocument is iam-malformed with IAM\'s message (e.g. a principal that does not exist)', async () => {
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).rejects(new MalformedPolicyDocumentException({ message: 'Invalid principal in policy: "AWS":"arn:aws:iam::710019948333:role/Gone"', $metadata: {} }));
    const err = await rejection(readThenWrite(''));
    expect(err).toMatchObject({ code: 'iam-malformed', message: expect.stringContaining('Invalid principal in policy') });
  });

  test('a service-linked role cannot carry an allowlist: role-unmodifiable', async () => {
    iamMock.on(GetRoleCommand).resolves(role(current));
    iamMock.on(UpdateAssumeRolePolicyCommand).rejects(new UnmodifiableEntityException({ message: 'Cannot perform the operation on the protected role', $metadata: {} }));
    expect(await rejection(readThenWrite(''))).toMatchObject({ code: 'role-unmodifiable' });
  });

  test('a role deleted between read and write: role-not-found', async () => {
    iamMock.on(GetRoleCommand).resolvesOnce(role(current)).rejects(new NoSuchEntityException({ message: `The role with name ${ROLE} cannot be found.`, $metadata: {} }));
    expect(await rejection(readThenWrite(''))).toMatchObject({ code: 'role-not-found' });
    expect(iamMock).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
  });

  test('refuses a document over its size limit without calling IAM', async () => {
    iamMock.on(GetRoleCommand).resolves(role(current));
    const huge = serializePolicy({ Version: '2012-10-17', Statement: [{ ...allowSupport, Sid: 'x'.repeat(2100) }] });
    const err = await rejection(readThenWrite(huge));
    expect(err).toBeInstanceOf(TargetRefusedError);
    expect((err as Error).message).toMatch(/over its limit of 2048/);
    expect(iamMock).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
  });

  test('refuses to write without a read first: there is nothing to guard against', async () => {
    const err = await rejection(trustPolicyTarget(iam, ROLE).write({ document: serializePolicy(current), planId: 'p' }));
    expect(err).toMatchObject({ code: 'write-without-read' });
    expect(iamMock).not.toHaveReceivedAnyCommand();
  });

  test('a second write after its own first one is not mistaken for a concurrent writer', async () => {
    const target = trustPolicyTarget(iam, ROLE);
    const ours = { Version: '2012-10-17', Statement: [allowSupport, renderTrustStatement([SUPPORT], ENTRIES)] };
    iamMock.on(GetRoleCommand).resolvesOnce(role(current)).resolvesOnce(role(current)).resolves({ Role: { ...role(current).Role, AssumeRolePolicyDocument: encodeURIComponent(serializePolicy(ours)) } });
    iamMock.on(UpdateAssumeRolePolicyCommand).resolves({});
    await target.read();
    await target.write({ document: serializePolicy(ours), planId: 'p1' });
    await expect(target.write({ document: serializePolicy(ours), planId: 'p2' })).resolves.toEqual({ previousDocument: serializePolicy(ours) });
  });
});
