/**
 * The registry of target kinds (lambda/kinds/registry.ts), the CLI's spelling of them (kinds/cli.ts) and the
 * validation of ALLOWLIST_TARGETS (kinds/specs.ts): every error names the target (its index, and its name once it
 * has one) and the field. What the kinds themselves validate is in test/kinds/<kind>.test.ts (the contract);
 * duplicate names and one writer per document through the runtimes in test/run-targets.test.ts.
 */
import { SyncError } from '../../lambda/errors';
import { TARGET_FORMS, parseCliTarget } from '../../lambda/kinds/cli';
import type { TargetSpec } from '../../lambda/kinds/kind';
import { DEPLOYABLE_KINDS, KINDS, KIND_NAMES, documentKey, kindOf } from '../../lambda/kinds/registry';
import { parseTargetSpecs, validateTargetSpec } from '../../lambda/kinds/specs';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const MANAGED = { name: 'rosa-trusted-ips', kind: 'managed-policy', policyArn: ARN, sources: ['ocm'] };
const TRUST = { name: 'break-glass', kind: 'trust-policy', roleName: 'BreakGlass', principals: ['arn:aws:iam::123456789012:root'], sources: ['static:203.0.113.0/24'] };
const HINT = 'Fix the target list and run again.';

/** What parseTargetSpecs threw for a list. */
function refusal(list: unknown): SyncError {
  try {
    parseTargetSpecs(typeof list === 'string' ? list : JSON.stringify(list));
  } catch (err) {
    if (err instanceof SyncError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(list)} to be refused`);
}

describe('the registry', () => {
  test('every kind, in registry order; the function keeps all but the file', () => {
    expect(KIND_NAMES).toEqual(['managed-policy', 'trust-policy', 'inline-policy', 'file']);
    expect(DEPLOYABLE_KINDS).toEqual(['managed-policy', 'trust-policy', 'inline-policy']);
    expect(DEPLOYABLE_KINDS).not.toContain('file');
    expect(KIND_NAMES.filter((k) => KINDS[k].deployable)).toEqual(DEPLOYABLE_KINDS);
  });

  test('each kind is registered under its own name, with its own CLI prefix, every one of them in TARGET_FORMS', () => {
    for (const name of KIND_NAMES) expect(KINDS[name].kind).toBe(name);
    const prefixes = KIND_NAMES.map((k) => KINDS[k].prefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const prefix of prefixes) expect(TARGET_FORMS).toContain(`${prefix}:`);
  });

  test('kindOf and documentKey dispatch on the spec\'s kind', () => {
    const specs = parseTargetSpecs(JSON.stringify([MANAGED, TRUST]));
    expect(kindOf(specs[0])).toBe(KINDS['managed-policy']);
    expect(kindOf(specs[1])).toBe(KINDS['trust-policy']);
    expect(specs.map(documentKey)).toEqual([ARN, 'trust:breakglass']);
    const file: TargetSpec = { name: 'f', kind: 'file', path: 'p.json', sources: ['file:ips.json'] };
    expect(kindOf(file)).toBe(KINDS.file);
  });

  test('parseCliTarget finds the kind by its prefix, and refuses an unknown one naming every form', () => {
    const options = { principals: [], sources: ['ocm'], guards: {}, conditions: {} };
    expect(parseCliTarget(`iam:${ARN}`, options)).toMatchObject({ kind: 'managed-policy', policyArn: ARN, name: `iam:${ARN}` });
    for (const text of ['s3:bucket/key', 'iam', 'iam:', '']) expect(parseCliTarget(text, options)).toBe(`Unknown target "${text}": expected ${TARGET_FORMS}.`);
  });
});

describe('ALLOWLIST_TARGETS', () => {
  test('a valid list: every target as its kind\'s spec, the common fields kept', () => {
    const managed = { ...MANAGED, guards: { minEntries: 2, sizeLimit: 6000 }, conditions: { kmsViaServiceExemption: true }, dryRun: true };
    expect(parseTargetSpecs(JSON.stringify([managed, TRUST]))).toEqual([managed, TRUST]);
  });

  test.each<[string, string]>([
    ['not JSON', 'is not valid JSON'],
    ['{"name": "x"}', 'must be a non-empty JSON array of targets'],
    ['[]', 'must be a non-empty JSON array of targets'],
  ])('the list itself: %s', (text, problem) => {
    const err = refusal(text);
    expect(err.code).toBe('config');
    expect(err.hint).toBe(HINT);
    // Nothing to name but the variable.
    expect(err.message).toMatch(new RegExp(`^Configuration error: ALLOWLIST_TARGETS +${problem}\\. ${HINT}$`));
  });

  test.each<[string, unknown[], string]>([
    ['a target that is not an object', [MANAGED, 'rosa'], '[1] is not an object'],
    ['a target that is an array', [[MANAGED]], '[0] is not an object'],
    ['a target without a name (named by its index alone)', [{ ...MANAGED, name: undefined }], '[0] "name" must be 1 to 64 letters, digits, dots, dashes or underscores'],
    ['a name with a space', [{ ...MANAGED, name: 'rosa ips' }], '[0] (rosa ips) "name" must be 1 to 64 letters, digits, dots, dashes or underscores'],
    ['a name too long', [{ ...MANAGED, name: 'x'.repeat(65) }], `[0] (${'x'.repeat(65)}) "name" must be 1 to 64 letters, digits, dots, dashes or underscores`],
    ['an unknown kind', [MANAGED, { ...TRUST, kind: 'bucket-policy' }], '[1] (break-glass) "kind" must be managed-policy, trust-policy or inline-policy'],
    ['the file kind (the CLI\'s only)', [{ name: 'local', kind: 'file', path: 'p.json', sources: ['ocm'] }], '[0] (local) "kind" must be managed-policy, trust-policy or inline-policy'],
    ['a misspelt field', [{ ...MANAGED, policyArm: ARN }], '[0] (rosa-trusted-ips) "policyArm" is not a field of a managed policy target (did you mean policyArn?)'],
    ['another kind\'s field', [{ ...TRUST, policyArn: ARN }], '[0] (break-glass) "policyArn" is not a field of a trust policy target'],
    ['no sources', [{ ...MANAGED, sources: [] }], '[0] (rosa-trusted-ips) "sources" must be a non-empty list of "ocm", "static:CIDR,..." or "ssm:PARAMETER_NAME"'],
    ['sources as one string', [{ ...MANAGED, sources: 'ocm' }], '[0] (rosa-trusted-ips) "sources" must be a non-empty list of'],
    ['a source that is no source', [{ ...MANAGED, sources: ['ocm', 'https://example.com/ips'] }], '[0] (rosa-trusted-ips) "sources" must be a non-empty list of'],
    ['a file source (the CLI\'s only)', [{ ...MANAGED, sources: ['file:ips.json'] }], '[0] (rosa-trusted-ips) "sources" must be a non-empty list of'],
    ['guards not an object', [{ ...MANAGED, guards: [1] }], '[0] (rosa-trusted-ips) "guards" must be an object'],
    ['an unknown guard', [{ ...MANAGED, guards: { minEntry: 1 } }], '[0] (rosa-trusted-ips) "guards.minEntry" is not a guard'],
    ['a guard out of range', [{ ...MANAGED, guards: { minEntries: 0 } }], '[0] (rosa-trusted-ips) "guards.minEntries" must be a whole number from 1 to 100000, got 0'],
    ['a guard as a string', [{ ...MANAGED, guards: { maxRemovalFraction: '0.3' } }], '[0] (rosa-trusted-ips) "guards.maxRemovalFraction" must be a number from 0 to 1, got "0.3"'],
    ['conditions not an object', [{ ...MANAGED, conditions: true }], '[0] (rosa-trusted-ips) "conditions" must be an object'],
    ['an unknown condition', [{ ...MANAGED, conditions: { viaAwsService: false } }], '[0] (rosa-trusted-ips) "conditions.viaAwsService" is not a condition option'],
    ['a condition not a boolean', [{ ...MANAGED, conditions: { kmsViaServiceExemption: 'yes' } }], '[0] (rosa-trusted-ips) "conditions.kmsViaServiceExemption" must be true or false'],
    ['dryRun not a boolean', [{ ...MANAGED, dryRun: 'true' }], '[0] (rosa-trusted-ips) "dryRun" must be true or false'],
    ['a kind\'s own field wrong, in the second target', [MANAGED, { ...TRUST, roleName: 'Break Glass' }], '[1] (break-glass) "roleName" "Break Glass" is not an IAM role name'],
  ])('%s: names the index, the name and the field', (_what, list, where) => {
    const err = refusal(list);
    expect(err.code).toBe('config');
    expect(err.hint).toBe(HINT);
    expect(err.message.startsWith(`Configuration error: ALLOWLIST_TARGETS ${where}`)).toBe(true);
    expect(err.message.endsWith(`. ${HINT}`)).toBe(true);
  });

  test.each<[string, unknown[], string]>([
    ['dryRun a string', [{ ...MANAGED, dryRun: 'yes' }], '[0] (rosa-trusted-ips) "dryRun" must be true or false, got "yes".'],
    ['a condition a number', [{ ...MANAGED, conditions: { kmsViaServiceExemption: 1 } }], '[0] (rosa-trusted-ips) "conditions.kmsViaServiceExemption" must be true or false, got 1.'],
    ['guards a list', [{ ...MANAGED, guards: [1] }], '[0] (rosa-trusted-ips) "guards" must be an object, got [1].'],
    ['an unknown source', [{ ...MANAGED, sources: ['ocm', 'https://example.com/ips'] }], '[0] (rosa-trusted-ips) "sources" must be a non-empty list of "ocm", "static:CIDR,..." or "ssm:PARAMETER_NAME", got "https://example.com/ips".'],
    ['a kind not known', [{ ...MANAGED, kind: 'bucket-policy' }], '[0] (rosa-trusted-ips) "kind" must be managed-policy, trust-policy or inline-policy, got "bucket-policy".'],
    ['a nameless target', [{ ...MANAGED, name: 42 }], '[0] "name" must be 1 to 64 letters, digits, dots, dashes or underscores, got 42.'],
  ])('%s: the message names the field and the value given', (_what, list, problem) => {
    expect(refusal(list).message).toBe(`Configuration error: ALLOWLIST_TARGETS ${problem} ${HINT}`);
  });

  test('validateTargetSpec names the index it is given', () => {
    expect(() => validateTargetSpec({ ...MANAGED, policyArn: 'nope' }, 7)).toThrow('Configuration error: ALLOWLIST_TARGETS [7] (rosa-trusted-ips) "policyArn" "nope" is not an IAM policy ARN');
  });

  test('the first problem is the one told: a bad target before a duplicate name', () => {
    expect(refusal([MANAGED, MANAGED, { ...TRUST, kind: 'nope' }]).message).toContain('[2] (break-glass) "kind"');
  });

  test('one writer per document, across kinds: a trust target and an inline target of one role are two documents', () => {
    const inline = { name: 'break-glass-inline', kind: 'inline-policy', roleName: 'BreakGlass', policyName: 'deny', sources: ['ocm'] };
    expect(parseTargetSpecs(JSON.stringify([TRUST, inline])).map(documentKey)).toEqual(['trust:breakglass', 'inline:breakglass/deny']);
    expect(refusal([TRUST, { ...TRUST, name: 'again', roleName: 'BREAKGLASS' }]).message).toBe(
      `Configuration error: ALLOWLIST_TARGETS (again) writes the same document as target break-glass. ${HINT}`,
    );
  });
});

describe('lanes', () => {
  test('the policies of one role share a lane (written one after the other); managed policies have their own', () => {
    const trust = KINDS['trust-policy'].lane?.({ name: 't', kind: 'trust-policy', roleName: 'BreakGlass', principals: ['arn:aws:iam::123456789012:root'], sources: ['ocm'] });
    const inline = KINDS['inline-policy'].lane?.({ name: 'i', kind: 'inline-policy', roleName: 'breakglass', policyName: 'p', sources: ['ocm'] });
    const other = KINDS['inline-policy'].lane?.({ name: 'o', kind: 'inline-policy', roleName: 'Vendor', policyName: 'p', sources: ['ocm'] });
    expect(trust).toBe('role:breakglass');
    expect(inline).toBe(trust);
    expect(other).not.toBe(trust);
    expect(KINDS['managed-policy'].lane).toBeUndefined();
  });
});

describe('include, exclude and the VPC exemption in ALLOWLIST_TARGETS', () => {
  const base = { name: 'vpn', kind: 'managed-policy', policyArn: 'arn:aws:iam::123456789012:policy/vpn', sources: ['ocm'] };

  test('are read into the spec as given', () => {
    const [spec] = parseTargetSpecs(JSON.stringify([{ ...base, include: ['3.0.0.0/8'], exclude: ['3.1.0.0/16'], conditions: { vpcExemption: ['vpc-0123456789abcdef0'] } }]));
    expect(spec).toMatchObject({ include: ['3.0.0.0/8'], exclude: ['3.1.0.0/16'], conditions: { vpcExemption: ['vpc-0123456789abcdef0'] } });
  });

  test.each([
    [{ include: '3.0.0.0/8' }, '"include" must be a list of CIDR blocks'],
    [{ exclude: ['3.0.0.0/99'] }, '"exclude" "3.0.0.0/99" is not a CIDR'],
    [{ conditions: { vpcExemption: ['vpc-1'] } }, '"conditions.vpcExemption" "vpc-1" is not a VPC id'],
    [{ conditions: { vpcExemption: 'vpce-01234567' } }, '"conditions.vpcExemption" must be a list of VPC or VPC endpoint ids'],
    [{ inclde: ['3.0.0.0/8'] }, 'inclde'],
  ])('%j is refused naming the target and the field', (extra, problem) => {
    let message = '';
    try {
      parseTargetSpecs(JSON.stringify([{ ...base, ...extra }]));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('ALLOWLIST_TARGETS [0] (vpn)');
    expect(message).toContain(problem);
  });
});
