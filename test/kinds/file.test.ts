/**
 * The file kind (lambda/kinds/file.ts): the TargetKind contract, then what is its own.
 */
import { resolve } from 'node:path';
import { MANAGED_POLICY_SIZE_LIMIT } from '../../lambda/allowlist';
import { parseCliTarget } from '../../lambda/kinds/cli';
import { fileKind } from '../../lambda/kinds/file';
import type { SpecOf } from '../../lambda/kinds/kind';
import { validateTargetSpec } from '../../lambda/kinds/specs';
import { describeKindContract, failureOf, specOf } from './contract';

const RAW = { name: 'local', kind: 'file', path: 'policies/deny.json', sources: ['file:ips.json'] };
const OTHER = { name: 'elsewhere', kind: 'file', path: '/var/lib/allowlist/other-policy.json', sources: ['static:192.0.2.0/24'] };

describeKindContract(fileKind, {
  raw: RAW,
  other: OTHER,
  invalid: [
    { what: 'a blank path', raw: { ...RAW, path: '   ' }, field: 'path' },
    { what: 'an empty path', raw: { ...RAW, path: '' }, field: 'path' },
    { what: 'a path that is a number', raw: { ...RAW, path: 42 }, field: 'path' },
  ],
});

describe('file', () => {
  const spec = (): SpecOf<'file'> => specOf(fileKind, RAW);

  test('is not deployable: ALLOWLIST_TARGETS refuses it as a kind (a file on the function\'s disk would vanish)', () => {
    expect(fileKind.deployable).toBe(false);
    expect(() => validateTargetSpec(RAW, 0)).toThrow('ALLOWLIST_TARGETS [0] (local) "kind" must be managed-policy, trust-policy or inline-policy, got "file".');
  });

  test('the key is the absolute path: two spellings of one file are one document', () => {
    expect(fileKind.documentKey(spec())).toBe(`file:${resolve('policies/deny.json')}`);
    expect(fileKind.documentKey({ ...spec(), path: './policies/../policies/deny.json' })).toBe(fileKind.documentKey(spec()));
    expect(fileKind.target(spec(), { iam: () => { throw new Error('a file target needs no IAM client'); } }).key).toBe(fileKind.documentKey(spec()));
  });

  test('the CLI spelling is file:PATH, as given (relative paths stay relative)', () => {
    expect(fileKind.formatCli(spec())).toBe('file:policies/deny.json');
    expect(fileKind.parseCli('', { principals: [] })).toBe('expected file:PATH');
    expect(parseCliTarget('file:', { principals: [], sources: [], guards: {}, conditions: {} })).toEqual(expect.stringContaining('Unknown target "file:"'));
    expect(fileKind.resource(spec())).toBe('file policies/deny.json');
  });

  test('a missing path says it is required, a blank one that it must be a path', () => {
    expect(failureOf(fileKind, { ...RAW, path: undefined })).toMatchObject({ field: 'path', problem: 'is required' });
    expect(failureOf(fileKind, { ...RAW, path: ' ' })).toMatchObject({ field: 'path', problem: 'must be a file path' });
  });

  test("keeps a managed policy's document (and its limit), with no versions of its own", () => {
    expect(fileKind.sizeLimit).toEqual({ default: MANAGED_POLICY_SIZE_LIMIT, max: MANAGED_POLICY_SIZE_LIMIT });
    const target = fileKind.target(spec(), { iam: () => { throw new Error('a file target needs no IAM client'); } });
    expect(target.versioned).toBe(false);
    expect(target.name).toBe('file:policies/deny.json');
  });
});
