import {
  GetRolePolicyCommand,
  IAMClient,
  LimitExceededException,
  ListRolePoliciesCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { normalize } from '../../lambda/allowlist/cidr';
import { managedPolicyShape, plan } from '../../lambda/allowlist/plan';
import { PolicyDocument, policySize, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';
import { SyncError } from '../../lambda/errors';
import { staticSource } from '../../lambda/sources/static';
import { Log, sync } from '../../lambda/sync';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT, inlinePolicyTarget } from '../../lambda/targets/inline-policy';
import { TargetRefusedError } from '../../lambda/ports';

const ROLE = 'ManagedOpenShift-Support-Role';
const POLICY = 'allowlist';
const ENTRIES = ['3.20.58.12/32', '52.15.23.0/26'];
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);
const shape = managedPolicyShape();
const sources = [staticSource(ENTRIES)];

/** An unrelated inline policy, as people write them: pretty-printed. */
function otherPolicy(padding: number): PolicyDocument {
  return { Version: '2012-10-17', Statement: [{ Sid: 'Pad', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(padding)}/*` }] };
}
/** IAM's GetRolePolicy form: the document as written, URL-encoded. */
const iamEncoded = (document: PolicyDocument): string => encodeURIComponent(JSON.stringify(document, null, 4));
const sizeOf = (document: PolicyDocument): number => policySize(JSON.stringify(document, null, 4));

const noSuchPolicy = () => new NoSuchEntityException({ message: `The role policy with name ${POLICY} cannot be found.`, $metadata: {} });
const noSuchRole = () => new NoSuchEntityException({ message: `The role with name ${ROLE} cannot be found.`, $metadata: {} });

/** Mocks a role with these inline policies (name → document), listed in pages of two. */
function givenRole(policies: Record<string, PolicyDocument>): void {
  const names = Object.keys(policies);
  const pages = names.length === 0 ? [[]] : Array.from({ length: Math.ceil(names.length / 2) }, (_, i) => names.slice(i * 2, i * 2 + 2));
  pages.forEach((page, i) => {
    iamMock
      .on(ListRolePoliciesCommand, { RoleName: ROLE, Marker: i === 0 ? undefined : `m${i}` })
      .resolves({ PolicyNames: page, IsTruncated: i < pages.length - 1, ...(i < pages.length - 1 ? { Marker: `m${i + 1}` } : {}) });
  });
  // IAM's answer for any inline policy the role does not have.
  iamMock.on(GetRolePolicyCommand).rejects(noSuchPolicy());
  for (const [name, document] of Object.entries(policies)) {
    iamMock.on(GetRolePolicyCommand, { RoleName: ROLE, PolicyName: name }).resolves({ RoleName: ROLE, PolicyName: name, PolicyDocument: iamEncoded(document) });
  }
}


async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function recordingLog(): Log & { lines: { message: string; extra: Record<string, unknown>[] }[] } {
  const lines: { message: string; extra: Record<string, unknown>[] }[] = [];
  return { lines, info: (message, ...extra) => lines.push({ message, extra }), warn: (message, ...extra) => lines.push({ message, extra }) };
}

beforeEach(() => iamMock.reset());

describe('read', () => {
  test('a role without the policy: no document (adoption), the whole 10,240 as budget, no GetRolePolicy', async () => {
    givenRole({});
    const target = inlinePolicyTarget(iam, ROLE, POLICY);
    expect(target.name).toBe(`iam-inline:${ROLE}/${POLICY}`);
    await expect(target.read()).resolves.toEqual({ sizeLimit: ROLE_INLINE_POLICIES_SIZE_LIMIT });
    expect(iamMock).not.toHaveReceivedCommand(GetRolePolicyCommand);
  });

  test("the budget is what the role's other inline policies leave, over pages of names", async () => {
    const ours = renderDenyPolicy(ENTRIES);
    const a = otherPolicy(100);
    const b = otherPolicy(2000);
    const c = otherPolicy(10);
    givenRole({ a, [POLICY]: ours, b, c });
    const current = await inlinePolicyTarget(iam, ROLE, POLICY).read();
    expect(current).toEqual({ document: iamEncoded(ours), sizeLimit: 10240 - sizeOf(a) - sizeOf(b) - sizeOf(c) });
    expect(iamMock).toHaveReceivedCommandTimes(ListRolePoliciesCommand, 2);
  });

  test('an other policy deleted between listing and reading takes no room', async () => {
    givenRole({ a: otherPolicy(100) });
    iamMock.on(GetRolePolicyCommand, { RoleName: ROLE, PolicyName: 'a' }).rejects(new NoSuchEntityException({ message: 'gone', $metadata: {} }));
    await expect(inlinePolicyTarget(iam, ROLE, POLICY).read()).resolves.toEqual({ sizeLimit: 10240 });
  });

  test('a missing role is role-not-found, naming it', async () => {
    iamMock.on(ListRolePoliciesCommand).rejects(noSuchRole());
    const err = await rejection(inlinePolicyTarget(iam, ROLE, POLICY).read());
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'role-not-found', message: expect.stringContaining(ROLE) });
  });
});

describe('a full read → plan → write cycle through sync', () => {
  test('adoption: creates the inline policy with the managed deny document', async () => {
    givenRole({ other: otherPolicy(100) });
    iamMock.on(PutRolePolicyCommand).resolves({});
    const result = await sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY), plan: { shape } });
    expect(result).toMatchObject({ status: 'updated', plan: { adoption: true, added: ENTRIES, sizeLimit: 6144 } });
    expect(iamMock).toHaveReceivedCommandWith(PutRolePolicyCommand, { RoleName: ROLE, PolicyName: POLICY, PolicyDocument: serializePolicy(renderDenyPolicy(ENTRIES)) });
  });

  test('unchanged: nothing is written', async () => {
    givenRole({ [POLICY]: renderDenyPolicy(ENTRIES) });
    const result = await sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY), plan: { shape } });
    expect(result.status).toBe('unchanged');
    expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
  });

  test('change: writes the new document and logs the one it replaces', async () => {
    const before = renderDenyPolicy(['3.20.58.12/32']);
    givenRole({ [POLICY]: before });
    iamMock.on(PutRolePolicyCommand).resolves({});
    const log = recordingLog();
    const result = await sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY, { log }), plan: { shape }, log });
    expect(result).toMatchObject({ status: 'updated', plan: { added: ['52.15.23.0/26'], removed: [] } });
    expect(result).not.toHaveProperty('versionId');
    const replaced = log.lines.find((l) => l.message.startsWith('replacing an inline policy'));
    expect(replaced?.extra[0]).toMatchObject({ roleName: ROLE, policyName: POLICY, previousDocument: JSON.stringify(before, null, 4) });
  });

  test("the plan refuses a document over what the role's other inline policies leave; nothing is written", async () => {
    const big = otherPolicy(9900);
    givenRole({ big });
    const result = await sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY), plan: { shape } });
    expect(result.status).toBe('refused');
    expect(result.plan.sizeLimit).toBe(10240 - sizeOf(big));
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['size-limit']);
    expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
  });

  test("IAM's LimitExceeded (another inline policy grew meanwhile) is a refusal, not a crash", async () => {
    givenRole({});
    iamMock.on(PutRolePolicyCommand).rejects(new LimitExceededException({ message: `Maximum policy size of 10240 bytes exceeded for role ${ROLE}`, $metadata: {} }));
    const result = await sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY), plan: { shape } });
    expect(result.status).toBe('refused');
    expect(result.plan.refusals).toEqual([expect.objectContaining({ code: 'target-refused', message: expect.stringContaining('Maximum policy size of 10240 bytes') })]);
  });

  test.each([
    ['created', undefined, renderDenyPolicy(['192.0.2.0/24'])],
    ['changed', renderDenyPolicy(['3.20.58.12/32']), renderDenyPolicy(['192.0.2.0/24'])],
    ['deleted', renderDenyPolicy(['3.20.58.12/32']), undefined],
  ])('a concurrent writer: the policy was %s between read and write; nothing is overwritten', async (change, first, meanwhile) => {
    givenRole(first ? { [POLICY]: first } : {});
    const get = iamMock.on(GetRolePolicyCommand, { RoleName: ROLE, PolicyName: POLICY });
    if (first) get.resolvesOnce({ RoleName: ROLE, PolicyName: POLICY, PolicyDocument: iamEncoded(first) });
    if (meanwhile) get.resolves({ RoleName: ROLE, PolicyName: POLICY, PolicyDocument: iamEncoded(meanwhile) });
    else get.rejects(noSuchPolicy());
    const err = await rejection(sync({ sources, target: inlinePolicyTarget(iam, ROLE, POLICY), plan: { shape } }));
    expect(err).toMatchObject({ code: 'concurrent-writer', message: expect.stringContaining(`${change} since it was read`) });
    expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
  });
});

describe('write', () => {
  async function readAndPlan(target = inlinePolicyTarget(iam, ROLE, POLICY)) {
    const p = plan(await target.read(), normalize(ENTRIES.map((value) => ({ value, source: 'test' }))), { shape });
    return { target, p };
  }

  test('a role deleted between read and write: role-not-found', async () => {
    givenRole({});
    iamMock.on(PutRolePolicyCommand).rejects(noSuchRole());
    const { target, p } = await readAndPlan();
    await expect(target.write({ document: p.document, planId: p.planId })).rejects.toMatchObject({ code: 'role-not-found' });
  });

  test("MalformedPolicyDocument is iam-malformed with IAM's message", async () => {
    givenRole({});
    iamMock.on(PutRolePolicyCommand).rejects(new MalformedPolicyDocumentException({ message: 'Syntax errors in policy.', $metadata: {} }));
    const { target, p } = await readAndPlan();
    await expect(target.write({ document: p.document, planId: p.planId })).rejects.toMatchObject({ code: 'iam-malformed', message: expect.stringContaining('Syntax errors in policy.') });
  });

  test('refuses a document over the budget without calling PutRolePolicy, naming what uses the rest', async () => {
    givenRole({ big: otherPolicy(9900) });
    const { target } = await readAndPlan();
    const err = await rejection(target.write({ document: serializePolicy(renderDenyPolicy(Array.from({ length: 40 }, (_, i) => `20.${i}.0.0/24`))), planId: 'p' }));
    expect(err).toBeInstanceOf(TargetRefusedError);
    expect((err as Error).message).toMatch(/has room for \d+ of IAM's 10240: its other inline policies use the rest: big \(\d+\)/);
    expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
  });

  test('refuses to write without a read first', async () => {
    const err = await rejection(inlinePolicyTarget(iam, ROLE, POLICY).write({ document: serializePolicy(renderDenyPolicy(ENTRIES)), planId: 'p' }));
    expect(err).toMatchObject({ code: 'write-without-read' });
    expect(iamMock).not.toHaveReceivedAnyCommand();
  });
});
