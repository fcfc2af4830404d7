import { IAMServiceException, NoSuchEntityException } from '@aws-sdk/client-iam';
import { SyncError } from '../../lambda/errors';
import { roleFailure } from '../../lambda/targets/role';

const ROLE = 'ManagedOpenShift-Support-Role';

describe('roleFailure', () => {
  test('a missing role is role-not-found, naming the role and the action; a denial names the role', () => {
    const missing = new NoSuchEntityException({ message: `The role with name ${ROLE} cannot be found.`, $metadata: {} });
    expect(roleFailure(missing, 'iam:GetRole', ROLE)).toMatchObject({ code: 'role-not-found', message: expect.stringContaining(`role ${ROLE} does not exist`) });
    const denied = new IAMServiceException({ name: 'AccessDenied', $fault: 'client', message: 'not authorized', $metadata: {} });
    expect(roleFailure(denied, 'iam:UpdateAssumeRolePolicy', ROLE)).toMatchObject({ code: 'iam-access-denied', message: expect.stringContaining(`iam:UpdateAssumeRolePolicy on role ${ROLE}`) });
  });

  test('passes SyncErrors through and leaves other errors to iamFailure', () => {
    const own = new SyncError('x', 'y');
    expect(roleFailure(own, 'iam:GetRole', ROLE)).toBe(own);
    const throttled = new IAMServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: {} });
    expect(roleFailure(throttled, 'iam:GetRole', ROLE)).toMatchObject({ code: 'iam-throttled', message: expect.stringContaining(`role ${ROLE}`) });
  });
});
