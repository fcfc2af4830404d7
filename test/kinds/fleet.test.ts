/**
 * The fleet fields of a managed-policy entry of ALLOWLIST_TARGETS (lambda/kinds/fleet.ts through kinds/specs.ts):
 * what is accepted, exactly as given, and every refusal naming the target and the field.
 */
import { SyncError } from '../../lambda/errors';
import { isFleetSpec } from '../../lambda/kinds/kind';
import { parseTargetEntries, parseTargetSpecs, validateTargetSpec } from '../../lambda/kinds/specs';

const FLEET = { name: 'fleet', kind: 'managed-policy', policyName: 'rosa-trusted-ips', accounts: 'stackset:AllowlistSyncSpoke', assumeRoleName: 'AllowlistSyncSpoke', sources: ['ocm'] };
const SINGLE = { name: 'hub', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/rosa-trusted-ips', sources: ['ocm'] };

function refusal(entries: unknown[]): string {
  try {
    parseTargetEntries(JSON.stringify(entries));
  } catch (err) {
    if (err instanceof SyncError) return err.message;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(entries)} to be refused`);
}

describe('a fleet entry', () => {
  test('the contract\'s example is read as given, beside a single target', () => {
    const entries = parseTargetEntries(JSON.stringify([SINGLE, FLEET]));
    expect(entries).toEqual([SINGLE, FLEET]);
    expect(entries.map(isFleetSpec)).toEqual([false, true]);
  });

  test('every optional field, and a list of accounts', () => {
    const full = {
      ...FLEET,
      accounts: ['111111111111', '222222222222'],
      policyPath: '/allowlists/',
      excludeAccounts: ['222222222222'],
      attachToRoles: ['ManagedOpenShift-Support-Role'],
      reattach: false,
      guards: { minEntries: 2 },
      dryRun: true,
    };
    expect(parseTargetEntries(JSON.stringify([full]))).toEqual([full]);
    expect(parseTargetEntries(JSON.stringify([{ ...FLEET, callAs: 'DELEGATED_ADMIN', excludeAccounts: [] }]))[0]).toMatchObject({ callAs: 'DELEGATED_ADMIN', excludeAccounts: [] });
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['policyArn and accounts together', { policyArn: SINGLE.policyArn }, '"policyArn" and "accounts" exclude each other'],
    ['no policyName', { policyName: undefined }, '"policyName" is required'],
    ['a policyName IAM refuses', { policyName: 'rosa trusted' }, '"policyName" "rosa trusted" is not a valid IAM policy name'],
    ['a policyPath without slashes', { policyPath: 'allowlists' }, '"policyPath" "allowlists" is not an IAM path'],
    ['an assumeRoleName that is an ARN', { assumeRoleName: 'arn:aws:iam::111111111111:role/X' }, '"assumeRoleName" "arn:aws:iam::111111111111:role/X" is not an IAM role name'],
    ['an empty list', { accounts: [] }, '"accounts" must be a non-empty list of 12-digit AWS account ids or "stackset:NAME", got []'],
    ['an 11-digit account', { accounts: ['11111111111'] }, '"accounts" "11111111111" is not an AWS account id (12 digits)'],
    ['an account as a number', { accounts: [111111111111] }, '"accounts" must be a non-empty list of 12-digit AWS account ids'],
    ['an account twice', { accounts: ['111111111111', '111111111111'] }, '"accounts" lists account 111111111111 twice'],
    ['a bare StackSet name', { accounts: 'AllowlistSyncSpoke' }, '"accounts" must be a list of 12-digit AWS account ids or "stackset:NAME", got "AllowlistSyncSpoke"'],
    ['an empty StackSet name', { accounts: 'stackset:' }, '"accounts" "stackset:" does not name a StackSet'],
    ['a StackSet name CloudFormation refuses', { accounts: 'stackset:1-spoke' }, '"accounts" "stackset:1-spoke" does not name a StackSet'],
    ['a StackSet name with a slash', { accounts: 'stackset:a/b' }, '"accounts" "stackset:a/b" does not name a StackSet'],
    ['callAs with a list', { accounts: ['111111111111'], callAs: 'SELF' }, '"callAs" is only for "accounts": "stackset:NAME"'],
    ['callAs in lower case', { callAs: 'self' }, '"callAs" must be "SELF" or "DELEGATED_ADMIN", got "self"'],
    ['excludeAccounts with a bad id', { excludeAccounts: ['x'] }, '"excludeAccounts" "x" is not an AWS account id'],
    ['excludeAccounts twice the same', { excludeAccounts: ['111111111111', '111111111111'] }, '"excludeAccounts" lists account 111111111111 twice'],
    ['excludeAccounts removing the whole list', { accounts: ['111111111111'], excludeAccounts: ['111111111111'] }, '"excludeAccounts" leaves no account of "accounts" to keep'],
    ['attachToRoles by ARN', { attachToRoles: ['arn:aws:iam::111111111111:role/Support'] }, '"attachToRoles" "arn:aws:iam::111111111111:role/Support" is an ARN; a fleet names its roles by name'],
    ['attachToRoles not a list', { attachToRoles: 'Support' }, '"attachToRoles" must be a list of IAM role names'],
    ['attachToUsers', { attachToUsers: ['alice'] }, '"attachToUsers" is not available to a fleet: the spoke role may attach the policy to roles only'],
    ['reattach as a string', { reattach: 'no' }, '"reattach" must be true or false'],
    ['a misspelt fleet field', { excludeAccount: ['111111111111'] }, '"excludeAccount" is not a field of a managed policy target (did you mean excludeAccounts?)'],
    ['a misspelt assumeRoleName', { asumeRoleName: 'X' }, '"asumeRoleName" is not a field of a managed policy target (did you mean assumeRoleName?)'],
  ])('%s is refused, naming the target and the field', (_what, change, problem) => {
    const message = refusal([{ ...FLEET, ...change }]);
    expect(message.startsWith(`Configuration error: ALLOWLIST_TARGETS [0] (fleet) ${problem}`) ? problem : message).toBe(problem);
    expect(message.endsWith('. Fix the target list and run again.')).toBe(true);
  });

  test('the fleet fields without accounts are refused: a single policy is named by policyArn', () => {
    expect(refusal([{ ...SINGLE, policyName: 'x' }])).toContain('[0] (hub) "policyName" belongs to a fleet entry (one with "accounts"); a single managed policy is named by "policyArn"');
    expect(refusal([{ ...SINGLE, excludeAccounts: [] }])).toContain('(hub) "excludeAccounts" belongs to a fleet entry');
    expect(refusal([{ ...SINGLE, policyArn: undefined }])).toContain('(hub) "policyArn" is required');
  });

  test('other kinds know no fleet', () => {
    const trust = { name: 'bg', kind: 'trust-policy', roleName: 'BreakGlass', principals: ['arn:aws:iam::123456789012:root'], sources: ['ocm'], accounts: ['111111111111'] };
    expect(refusal([trust])).toContain('(bg) "accounts" is not a field of a trust policy target');
  });

  test('names stay unique across targets and fleets', () => {
    expect(refusal([{ ...SINGLE, name: 'fleet' }, FLEET])).toContain('(fleet) has a duplicate name');
  });

  test('a fleet is many targets: refused where one target is expected', () => {
    expect(() => validateTargetSpec(FLEET, 3)).toThrow('ALLOWLIST_TARGETS [3] (fleet) "accounts" makes a fleet of targets');
    expect(() => parseTargetSpecs(JSON.stringify([SINGLE, FLEET]))).toThrow('ALLOWLIST_TARGETS [1] (fleet) "accounts" makes a fleet of targets');
  });
});
