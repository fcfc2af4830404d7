import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PolicyVersion,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { normalize, plan, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { loadSdkSettings } from '../../lambda/config';
import { SyncError } from '../../lambda/errors';
import {
  createIamClient,
  decodePolicyDocument,
  describeManagedPolicy,
  getPolicyVersionDocument,
  managedPolicyTarget,
  setDefaultPolicyVersion,
} from '../../lambda/targets/managed-policy';
import { TargetRefusedError } from '../../lambda/ports';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const ENTRIES = ['3.20.58.12/32', '52.15.23.0/26'];
const DOC = serializePolicy(renderDenyPolicy(ENTRIES));
const NEW_DOC = serializePolicy(renderDenyPolicy([...ENTRIES, '3.132.100.80/28']));
const VERSION_LIMIT = 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };

const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);

function version(id: string, day: number, isDefault = false): PolicyVersion {
  return { VersionId: id, IsDefaultVersion: isDefault, CreateDate: new Date(Date.UTC(2024, 0, day)) };
}

function desired(entries: readonly string[]) {
  return normalize(entries.map((value) => ({ value, source: 'test' })));
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

function sdkError<T extends IAMServiceException>(Ctor: new (opts: { message: string; $metadata: object }) => T, message: string): T {
  return new Ctor({ message, $metadata: { httpStatusCode: 409 } });
}

beforeEach(() => iamMock.reset());

describe('read', () => {
  test('adopts a hand-made policy: returns its document as IAM gives it, URL-encoded', async () => {
    const handMade = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['3.20.58.12/32'] } } }] });
    iamMock.on(GetPolicyCommand).resolves({ Policy: { Arn: ARN, DefaultVersionId: 'v1' } });
    iamMock.on(GetPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v1' }).resolves({ PolicyVersion: { VersionId: 'v1', Document: encodeURIComponent(handMade) } });

    const current = await managedPolicyTarget(iam, ARN).read();

    expect(current).toEqual({ document: encodeURIComponent(handMade), versionId: 'v1' });
    const p = plan(current, desired(ENTRIES));
    // Its deny-unless-SourceIp statement is taken over: entries kept, the rest is drift to be replaced.
    expect(p.currentEntries).toEqual(['3.20.58.12/32']);
    expect(p.drift).toBe(true);
    expect(p.added).toEqual(['52.15.23.0/26']);
    expect(p.status).toBe('changes');
    expect(p.baseVersionId).toBe('v1');
  });

  test('a policy already in sync plans as unchanged and nothing is written', async () => {
    iamMock.on(GetPolicyCommand).resolves({ Policy: { DefaultVersionId: 'v4' } });
    iamMock.on(GetPolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v4', Document: encodeURIComponent(DOC) } });

    const p = plan(await managedPolicyTarget(iam, ARN).read(), desired(ENTRIES));

    expect(p.status).toBe('unchanged');
    expect(iamMock).toHaveReceivedCommandWith(GetPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v4' });
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
  });

  test('a missing policy is policy-not-found, naming the ARN and what to do', async () => {
    iamMock.on(GetPolicyCommand).rejects(sdkError(NoSuchEntityException, `Policy ${ARN} was not found.`));

    const err = await rejection(managedPolicyTarget(iam, ARN).read());

    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'policy-not-found' });
    expect((err as Error).message).toContain(ARN);
    expect((err as SyncError).hint).toMatch(/policy ARN/);
  });

  test('access denied names the action and the ARN', async () => {
    const denied = new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: iam:GetPolicyVersion', $metadata: { httpStatusCode: 403 } });
    iamMock.on(GetPolicyCommand).resolves({ Policy: { DefaultVersionId: 'v1' } });
    iamMock.on(GetPolicyVersionCommand).rejects(denied);

    const err = await rejection(managedPolicyTarget(iam, ARN).read());

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect((err as Error).message).toContain('iam:GetPolicyVersion');
    expect((err as Error).message).toContain(ARN);
  });

  test('a malformed ARN is refused before any call', () => {
    expect(() => managedPolicyTarget(iam, 'rosa-trusted-ips')).toThrow(expect.objectContaining({ code: 'policy-arn-invalid' }));
    expect(() => managedPolicyTarget(iam, 'arn:aws:iam::aws:policy/AdministratorAccess')).toThrow(SyncError);
  });
});

describe('documents: URL-encoded and plain', () => {
  test('decodes an encoded document once and leaves a plain one alone, even with % in it', () => {
    const plain = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Up to 100%25 sure', Effect: 'Deny', Action: '*', Resource: '*' }] });
    expect(decodePolicyDocument(plain)).toBe(plain);
    expect(decodePolicyDocument(encodeURIComponent(plain))).toBe(plain);
    expect(decodePolicyDocument(encodeURIComponent(DOC))).toBe(DOC);
    expect(decodePolicyDocument('%E0%A4%A')).toBe('%E0%A4%A');
  });

  test('getPolicyVersionDocument returns the decoded text, plain or encoded', async () => {
    iamMock
      .on(GetPolicyVersionCommand, { VersionId: 'v1' })
      .resolves({ PolicyVersion: { Document: encodeURIComponent(DOC) } })
      .on(GetPolicyVersionCommand, { VersionId: 'v2' })
      .resolves({ PolicyVersion: { Document: DOC } });

    await expect(getPolicyVersionDocument(iam, ARN, 'v1')).resolves.toBe(DOC);
    await expect(getPolicyVersionDocument(iam, ARN, 'v2')).resolves.toBe(DOC);
  });

  test('both forms plan the same', async () => {
    const encoded = plan({ document: encodeURIComponent(DOC), versionId: 'v1' }, desired(ENTRIES));
    const plain = plan({ document: DOC, versionId: 'v1' }, desired(ENTRIES));
    expect(encoded.status).toBe('unchanged');
    expect(plain.planId).toBe(encoded.planId);
  });
});

describe('write: prune after a successful create, keep at most four', () => {
  /** The policy before the create (`before`), and after it (`before` + ours as the new default). */
  function iamWith(before: PolicyVersion[], created: string, defaultId: string): void {
    iamMock.on(GetPolicyCommand).resolves({ Policy: { DefaultVersionId: defaultId } });
    const listed = before.map((v) => ({ ...v, IsDefaultVersion: v.VersionId === defaultId }));
    const after = [...before.map((v) => ({ ...v, IsDefaultVersion: false })), version(created, 30, true)];
    iamMock.on(ListPolicyVersionsCommand).resolvesOnce({ Versions: listed, IsTruncated: false }).resolves({ Versions: after, IsTruncated: false });
    iamMock.on(CreatePolicyVersionCommand).resolves({ PolicyVersion: { VersionId: created, IsDefaultVersion: true } });
  }
  const order = (): string[] => iamMock.calls().map((c) => c.args[0].constructor.name.replace(/Command$/, ''));

  test('with room: creates the new default, confirms it with one listing, deletes nothing', async () => {
    iamWith([version('v1', 1), version('v2', 2, true)], 'v3', 'v2');

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v2' });

    expect(result).toEqual({ versionId: 'v3', previousVersionId: 'v2' });
    expect(iamMock).toHaveReceivedCommandWith(CreatePolicyVersionCommand, { PolicyArn: ARN, PolicyDocument: NEW_DOC, SetAsDefault: true });
    expect(order()).toEqual(['ListPolicyVersions', 'CreatePolicyVersion', 'ListPolicyVersions']);
  });

  test('reaching five: the oldest non-default version is deleted AFTER the create, leaving four and a free slot', async () => {
    // Listed out of order on purpose: age is CreateDate, not list position.
    iamWith([version('v7', 7, true), version('v4', 4), version('v6', 6), version('v5', 5)], 'v8', 'v7');

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v7' });

    expect(result).toEqual({ versionId: 'v8', previousVersionId: 'v7', deleted: ['v4'] });
    expect(order()).toEqual(['ListPolicyVersions', 'CreatePolicyVersion', 'ListPolicyVersions', 'DeletePolicyVersion']);
    expect(iamMock).toHaveReceivedCommandWith(DeletePolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v4' });
  });

  test('a failed create deletes nothing', async () => {
    iamWith([version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4, true)], 'v5', 'v4');
    iamMock.on(CreatePolicyVersionCommand).rejects(sdkError(MalformedPolicyDocumentException, 'Syntax errors in policy.'));

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v4' }));

    expect(err).toMatchObject({ code: 'iam-malformed', changed: [] });
    expect((err as Error).message).toContain('Syntax errors in policy.');
    expect(iamMock).not.toHaveReceivedCommand(DeletePolicyVersionCommand);
  });

  test('never prunes the previous default, the versions the request protects (baseline, owed announcements), or ours', async () => {
    iamWith([version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4, true)], 'v5', 'v4');

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v4', protect: ['v1'] });

    expect(result.deleted).toEqual(['v2']);
    for (const kept of ['v1', 'v4', 'v5']) expect(iamMock).not.toHaveReceivedCommandWith(DeletePolicyVersionCommand, { VersionId: kept });
  });

  test('found at five (someone else filled it): one version deleted first, and named', async () => {
    const full = [version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4), version('v5', 5, true)];
    iamMock
      .on(ListPolicyVersionsCommand)
      .resolvesOnce({ Versions: full })
      .resolves({ Versions: [...full.slice(1).map((v) => ({ ...v, IsDefaultVersion: false })), version('v6', 6, true)] });
    iamMock.on(CreatePolicyVersionCommand).rejectsOnce(sdkError(LimitExceededException, VERSION_LIMIT)).resolves({ PolicyVersion: { VersionId: 'v6' } });

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v5', protect: ['v2'] });

    expect(result).toMatchObject({ versionId: 'v6', previousVersionId: 'v5', deleted: ['v1', 'v3'] });
    expect(iamMock).toHaveReceivedCommandTimes(CreatePolicyVersionCommand, 2);
    expect(order().indexOf('DeletePolicyVersion')).toBeLessThan(order().lastIndexOf('CreatePolicyVersion'));
  });

  test('found at five with every version protected: a clear failure, nothing deleted', async () => {
    iamMock.on(ListPolicyVersionsCommand).resolves({ Versions: [version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4), version('v5', 5, true)] });
    iamMock.on(CreatePolicyVersionCommand).rejects(sdkError(LimitExceededException, VERSION_LIMIT));

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v5', protect: ['v1', 'v2', 'v3', 'v4'] }));

    expect(err).toMatchObject({ code: 'policy-versions-full' });
    expect(iamMock).not.toHaveReceivedCommand(DeletePolicyVersionCommand);
  });

  test('a failure after a deletion says what was deleted (never "nothing was written")', async () => {
    iamMock.on(ListPolicyVersionsCommand).resolves({ Versions: [version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4), version('v5', 5, true)] });
    iamMock
      .on(CreatePolicyVersionCommand)
      .rejectsOnce(sdkError(LimitExceededException, VERSION_LIMIT))
      .rejects(new IAMServiceException({ name: 'ServiceFailure', $fault: 'server', message: 'internal', $metadata: {} }));

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v5' }));

    expect(err).toMatchObject({ code: 'iam-unavailable', changed: [expect.stringContaining('CreatePolicyVersion on'), 'deleted version v1'] });
    expect((err as SyncError).changed[0]).toContain('failed midway: it may have been applied');
  });

  test('a version someone else already deleted (NoSuchEntity) is passed over', async () => {
    iamWith([version('v1', 1), version('v2', 2), version('v3', 3), version('v4', 4, true)], 'v5', 'v4');
    iamMock.on(DeletePolicyVersionCommand, { VersionId: 'v1' }).rejects(sdkError(NoSuchEntityException, 'Policy version v1 does not exist.'));

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v4' });

    expect(result).toEqual({ versionId: 'v5', previousVersionId: 'v4' });
  });

  test('another writer between our listing and our create: named, never deleted, never silently demoted', async () => {
    iamMock.on(CreatePolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v6' } });
    iamMock
      .on(ListPolicyVersionsCommand)
      .resolvesOnce({ Versions: [version('v2', 2), version('v3', 3), version('v4', 4, true)] })
      .resolves({ Versions: [version('v2', 2), version('v3', 3), version('v4', 4), version('v5', 5), version('v6', 6, true)] });

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v4' });

    expect(result.otherWriters).toEqual([`version v5 of ${ARN}, created by someone else while v6 was being written (plan against v4)`]);
    expect(result.deleted).toEqual(['v2']);
    expect(iamMock).not.toHaveReceivedCommandWith(DeletePolicyVersionCommand, { VersionId: 'v5' });
  });

  test("IAM's size LimitExceeded is a TargetRefusedError with IAM's reason, and nothing else is written", async () => {
    iamWith([version('v1', 1, true)], 'v2', 'v1');
    iamMock.on(CreatePolicyVersionCommand).rejects(sdkError(LimitExceededException, 'Cannot exceed quota for PolicySize: 6144'));

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v1' }));

    expect(err).toBeInstanceOf(TargetRefusedError);
    expect((err as Error).message).toContain('Cannot exceed quota for PolicySize: 6144');
    expect(iamMock).toHaveReceivedCommandTimes(CreatePolicyVersionCommand, 1);
    expect(iamMock).not.toHaveReceivedCommand(DeletePolicyVersionCommand);
    expect(iamMock).not.toHaveReceivedCommand(SetDefaultPolicyVersionCommand);
  });

  test('a document over 6,144 characters is refused before any call', async () => {
    const huge = serializePolicy(renderDenyPolicy(Array.from({ length: 500 }, (_, i) => `20.${i >> 8}.${i & 255}.0/24`)));

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: huge, planId: 'p1', baseVersionId: 'v1' }));

    expect(err).toBeInstanceOf(TargetRefusedError);
    expect(iamMock.calls()).toHaveLength(0);
  });

  test('the base version is no longer the default: concurrent-writer, nothing pruned or created', async () => {
    iamWith([version('v4', 4), version('v5', 5)], 'v6', 'v5');

    const err = await rejection(managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v4' }));

    expect(err).toMatchObject({ code: 'concurrent-writer' });
    expect((err as Error).message).toMatch(/v4.*v5/);
    expect(iamMock).not.toHaveReceivedCommand(CreatePolicyVersionCommand);
    expect(iamMock).not.toHaveReceivedCommand(DeletePolicyVersionCommand);
  });

  test('older versions above the base (a rollback set the default back) are not taken for another writer', async () => {
    iamWith([version('v1', 1), version('v2', 2), version('v3', 3)], 'v4', 'v1');

    const result = await managedPolicyTarget(iam, ARN).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v1' });

    expect(result).toEqual({ versionId: 'v4', previousVersionId: 'v1' });
  });

  test('the default reads back stale for a moment (eventual consistency): listed again, then confirmed', async () => {
    iamMock.on(CreatePolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v2' } });
    iamMock
      .on(ListPolicyVersionsCommand)
      .resolvesOnce({ Versions: [version('v1', 1, true)] })
      .resolvesOnce({ Versions: [version('v1', 1, true), version('v2', 2)] })
      .resolves({ Versions: [version('v1', 1), version('v2', 2, true)] });

    const result = await managedPolicyTarget(iam, ARN, { confirmDelaysMs: [0, 0] }).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v1' });

    expect(result).toEqual({ versionId: 'v2', previousVersionId: 'v1' });
    expect(iamMock).toHaveReceivedCommandTimes(ListPolicyVersionsCommand, 3);
    expect(iamMock).not.toHaveReceivedCommand(GetPolicyCommand);
  });

  test('another version became the default right after the write: concurrent-writer, saying ours was created', async () => {
    iamMock.on(CreatePolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v2' } });
    iamMock.on(ListPolicyVersionsCommand).resolvesOnce({ Versions: [version('v1', 1, true)] }).resolves({ Versions: [version('v1', 1), version('v2', 2), version('v3', 3, true)] });

    const err = await rejection(managedPolicyTarget(iam, ARN, { confirmDelaysMs: [0] }).write({ document: NEW_DOC, planId: 'p1', baseVersionId: 'v1' }));

    expect(err).toMatchObject({ code: 'concurrent-writer', changed: ['created version v2 (not the default now)'] });
    expect((err as Error).message).toMatch(/created v2.*default is now v3/);
  });
});

describe('CLI helpers', () => {
  test('describeManagedPolicy: name, default, attachments, versions newest first, tags (paged)', async () => {
    iamMock.on(GetPolicyCommand).resolves({ Policy: { Arn: ARN, PolicyName: 'rosa-trusted-ips', DefaultVersionId: 'v2', AttachmentCount: 3 } });
    iamMock.on(ListPolicyVersionsCommand).resolves({ Versions: [version('v1', 1), version('v2', 2, true)] });
    iamMock
      .on(ListPolicyTagsCommand)
      .resolvesOnce({ Tags: [{ Key: 'team', Value: 'sre' }], IsTruncated: true, Marker: 'm1' })
      .resolves({ Tags: [{ Key: 'allowlist-sync:alert-state', Value: 'ok' }], IsTruncated: false });

    await expect(describeManagedPolicy(iam, ARN)).resolves.toEqual({
      arn: ARN,
      name: 'rosa-trusted-ips',
      defaultVersionId: 'v2',
      attachmentCount: 3,
      versions: [
        { versionId: 'v2', isDefault: true, createDate: '2024-01-02T00:00:00.000Z' },
        { versionId: 'v1', isDefault: false, createDate: '2024-01-01T00:00:00.000Z' },
      ],
      tags: { team: 'sre', 'allowlist-sync:alert-state': 'ok' },
    });
    expect(iamMock).toHaveReceivedCommandWith(ListPolicyTagsCommand, { PolicyArn: ARN, Marker: 'm1' });
  });

  test('setDefaultPolicyVersion sets it; an unknown version says so', async () => {
    iamMock.on(SetDefaultPolicyVersionCommand, { VersionId: 'v2' }).resolves({});
    iamMock.on(SetDefaultPolicyVersionCommand, { VersionId: 'v9' }).rejects(sdkError(NoSuchEntityException, 'Policy version v9 does not exist.'));

    await setDefaultPolicyVersion(iam, ARN, 'v2');
    expect(iamMock).toHaveReceivedCommandWith(SetDefaultPolicyVersionCommand, { PolicyArn: ARN, VersionId: 'v2' });
    await expect(setDefaultPolicyVersion(iam, ARN, 'v9')).rejects.toMatchObject({ code: 'policy-version-not-found' });
  });
});

describe('the real SDK client', () => {
  const saved = { ...process.env };
  afterEach(() => {
    // Restored in place: process.env is a special object and must stay one.
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    jest.useRealTimers();
  });

  function isolateFromHost(): void {
    const dir = mkdtempSync(join(tmpdir(), 'allowlist-sync-'));
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  }

  test('createIamClient: adaptive retries, 6 attempts, us-east-1 only when no region is configured', async () => {
    isolateFromHost();
    const client = createIamClient({}, loadSdkSettings(process.env));
    expect(((await client.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(await client.config.maxAttempts()).toBe(6);
    expect(await client.config.region()).toBe('us-east-1');
    // Never an endpoint of our own: the SDK resolves it (and honours AWS_ENDPOINT_URL).
    expect(client.config.endpoint).toBeUndefined();

    process.env.AWS_REGION = 'eu-west-1';
    expect(await createIamClient({}, loadSdkSettings(process.env)).config.region()).toBe('eu-west-1');
  });

  test('createIamClient: a region from the shared config profile wins over the fallback (GovCloud stays GovCloud)', async () => {
    isolateFromHost();
    writeFileSync(process.env.AWS_CONFIG_FILE as string, '[default]\nregion = us-gov-west-1\n');
    expect(await createIamClient({}, loadSdkSettings(process.env)).config.region()).toBe('us-gov-west-1');
  });

  test('Throttling is retried by the client itself (adaptive strategy, simulated clock)', async () => {
    isolateFromHost();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const client = createIamClient({ credentials: CREDENTIALS }, loadSdkSettings(process.env));
    const seen: string[] = [];
    // Sits where the response deserializer would be, so the retry middleware above it sees what IAM would give.
    client.middlewareStack.add(
      () => async () => {
        seen.push('call');
        if (seen.length === 1) {
          throw new IAMServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400, requestId: 'r-1' } });
        }
        return { response: {}, output: { $metadata: { httpStatusCode: 200 }, Policy: { DefaultVersionId: 'v3' }, PolicyVersion: { VersionId: 'v3', Document: encodeURIComponent(DOC) } } };
      },
      { step: 'deserialize', priority: 'high', name: 'fakeIamWithThrottling' },
    );

    const reading = managedPolicyTarget(client, ARN).read();
    let settled = false;
    reading.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) await jest.advanceTimersByTimeAsync(100);

    await expect(reading).resolves.toEqual({ document: encodeURIComponent(DOC), versionId: 'v3' });
    expect(seen).toHaveLength(3); // GetPolicy throttled, GetPolicy again, GetPolicyVersion
  });

  test('honours AWS_ENDPOINT_URL: a real IAMClient talks to a local IAM stand-in', async () => {
    isolateFromHost();
    const requests: URLSearchParams[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        requests.push(params);
        res.setHeader('content-type', 'text/xml');
        if (params.get('Action') === 'GetPolicy') {
          res.end(`<GetPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetPolicyResult><Policy>
<PolicyName>rosa-trusted-ips</PolicyName><DefaultVersionId>v3</DefaultVersionId><PolicyId>ANPAEXAMPLE</PolicyId><Path>/</Path>
<Arn>${ARN}</Arn><AttachmentCount>1</AttachmentCount><CreateDate>2024-01-01T00:00:00Z</CreateDate><UpdateDate>2024-01-03T00:00:00Z</UpdateDate>
</Policy></GetPolicyResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetPolicyResponse>`);
        } else {
          res.end(`<GetPolicyVersionResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetPolicyVersionResult><PolicyVersion>
<Document>${encodeURIComponent(DOC)}</Document><VersionId>v3</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>2024-01-03T00:00:00Z</CreateDate>
</PolicyVersion></GetPolicyVersionResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></GetPolicyVersionResponse>`);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      process.env.AWS_ENDPOINT_URL_IAM = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createIamClient({ credentials: CREDENTIALS }, loadSdkSettings(process.env));

      const current = await managedPolicyTarget(client, ARN).read();
      client.destroy();

      // AttachmentCount comes with GetPolicy: the attachment check's cheap half.
      expect(current).toEqual({ document: encodeURIComponent(DOC), versionId: 'v3', attachmentCount: 1 });
      expect(requests.map((r) => [r.get('Action'), r.get('PolicyArn'), r.get('VersionId')])).toEqual([
        ['GetPolicy', ARN, null],
        ['GetPolicyVersion', ARN, 'v3'],
      ]);

      delete process.env.AWS_ENDPOINT_URL_IAM;
      process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const generic = createIamClient({ credentials: CREDENTIALS }, loadSdkSettings(process.env));
      const answer = await generic.send(new GetPolicyCommand({ PolicyArn: ARN }));
      generic.destroy();
      expect(answer.Policy).toMatchObject({ PolicyName: 'rosa-trusted-ips', DefaultVersionId: 'v3', AttachmentCount: 1 });
      expect(requests).toHaveLength(3);
    } finally {
      server.close();
    }
  });
});
