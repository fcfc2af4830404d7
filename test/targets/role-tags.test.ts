import { IAMClient, IAMServiceException, ListRoleTagsCommand, NoSuchEntityException, TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ALERT_STATE_TAGS } from '../../lambda/alerts/state';
import { SyncError } from '../../lambda/errors';
import { listRoleTags, roleAlertStateTags, roleFailure, roleTagAlertStateStore } from '../../lambda/targets/role-tags';

const ROLE = 'ManagedOpenShift-Support-Role';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const iam = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const iamMock = mockClient(iam);

beforeEach(() => iamMock.reset());

describe('roleAlertStateTags', () => {
  test("namespaces the policy tags' names by target", () => {
    expect(roleAlertStateTags('support-trust')).toEqual({
      status: 'allowlist-sync:support-trust:alert-state',
      key: 'allowlist-sync:support-trust:alert-key',
      at: 'allowlist-sync:support-trust:alert-at',
    });
    expect(ALERT_STATE_TAGS.status).toBe('allowlist-sync:alert-state');
  });

  test('fits IAM: the longest valid target name (64) makes keys of at most 128 characters', () => {
    const keys = Object.values(roleAlertStateTags('t'.repeat(64)));
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThanOrEqual(128);
  });

  test('refuses a target name that cannot be part of a tag key', () => {
    expect(() => roleAlertStateTags('t'.repeat(120))).toThrow(SyncError);
    expect(() => roleAlertStateTags('a,b')).toThrow(/cannot be part of an IAM tag key/);
  });
});

describe('roleTagAlertStateStore', () => {
  const names = roleAlertStateTags('support-trust');

  test('loads nothing from a role without state, and ignores other targets on the same role', async () => {
    iamMock.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: 'team', Value: 'sre' }, { Key: 'allowlist-sync:other:alert-state', Value: 'failed' }], IsTruncated: false });
    await expect(roleTagAlertStateStore(iam, ROLE, 'support-trust').load()).resolves.toBeUndefined();
    expect(iamMock).toHaveReceivedCommandWith(ListRoleTagsCommand, { RoleName: ROLE });
  });

  test('loads the state across pages of tags', async () => {
    iamMock
      .on(ListRoleTagsCommand, { RoleName: ROLE, Marker: undefined })
      .resolves({ Tags: [{ Key: names.status, Value: 'refused' }], IsTruncated: true, Marker: 'm1' })
      .on(ListRoleTagsCommand, { RoleName: ROLE, Marker: 'm1' })
      .resolves({ Tags: [{ Key: names.key, Value: 'abc123' }, { Key: names.at, Value: '2024-05-01T10:00:00.000Z' }], IsTruncated: false });
    await expect(roleTagAlertStateStore(iam, ROLE, 'support-trust').load()).resolves.toEqual({ status: 'refused', key: 'abc123', at: '2024-05-01T10:00:00.000Z' });
  });

  test('uses the prefetched tags (from GetRole) without calling ListRoleTags', async () => {
    const store = roleTagAlertStateStore(iam, ROLE, 'support-trust', { prefetched: () => ({ [names.status]: 'ok', [names.at]: '2024-05-01T10:00:00.000Z' }) });
    await expect(store.load()).resolves.toEqual({ status: 'ok', at: '2024-05-01T10:00:00.000Z' });
    expect(iamMock).not.toHaveReceivedAnyCommand();
  });

  test('counts a hand-edited, unknown status as no state', async () => {
    const store = roleTagAlertStateStore(iam, ROLE, 'support-trust', { prefetched: () => ({ [names.status]: 'fine' }) });
    await expect(store.load()).resolves.toBeUndefined();
  });

  test('saves a state with a key as tag values IAM accepts', async () => {
    iamMock.on(TagRoleCommand).resolves({});
    await roleTagAlertStateStore(iam, ROLE, 'support-trust').save({ status: 'failed', key: 'ocm-auth:"bad" token', at: '2024-05-01T10:00:00.000Z' });
    expect(iamMock).toHaveReceivedCommandWith(TagRoleCommand, {
      RoleName: ROLE,
      Tags: [
        { Key: names.status, Value: 'failed' },
        { Key: names.at, Value: '2024-05-01T10:00:00.000Z' },
        { Key: names.key, Value: 'ocm-auth:_bad_ token' },
      ],
    });
    expect(iamMock).not.toHaveReceivedCommand(UntagRoleCommand);
  });

  test('saves a state without a key and removes the old key tag', async () => {
    iamMock.on(TagRoleCommand).resolves({});
    iamMock.on(UntagRoleCommand).resolves({});
    await roleTagAlertStateStore(iam, ROLE, 'support-trust').save({ status: 'ok', at: '2024-05-01T10:00:00.000Z' });
    expect(iamMock).toHaveReceivedCommandWith(UntagRoleCommand, { RoleName: ROLE, TagKeys: [names.key] });
  });

  test('a missing role is role-not-found; a denial names the action', async () => {
    iamMock.on(ListRoleTagsCommand).rejects(new NoSuchEntityException({ message: `The role with name ${ROLE} cannot be found.`, $metadata: {} }));
    await expect(roleTagAlertStateStore(iam, ROLE, 'support-trust').load()).rejects.toMatchObject({ code: 'role-not-found' });
    iamMock.on(TagRoleCommand).rejects(new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not authorized to perform: iam:TagRole', $metadata: { httpStatusCode: 403 } }));
    await expect(roleTagAlertStateStore(iam, ROLE, 'support-trust').save({ status: 'ok', at: 'now' })).rejects.toMatchObject({
      code: 'iam-access-denied',
      message: expect.stringContaining(`iam:TagRole on role ${ROLE}`),
    });
  });
});

describe('listRoleTags and roleFailure', () => {
  test('a role without tags has an empty record', async () => {
    iamMock.on(ListRoleTagsCommand).resolves({ IsTruncated: false });
    await expect(listRoleTags(iam, ROLE)).resolves.toEqual({});
  });

  test('passes SyncErrors through and leaves other errors to iamFailure', () => {
    const own = new SyncError('x', 'y');
    expect(roleFailure(own, 'iam:GetRole', ROLE)).toBe(own);
    const throttled = new IAMServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: {} });
    expect(roleFailure(throttled, 'iam:GetRole', ROLE)).toMatchObject({ code: 'iam-throttled', message: expect.stringContaining(`role ${ROLE}`) });
  });
});
