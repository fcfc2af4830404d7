/**
 * The contract every target kind (lambda/kinds/kind.ts) keeps, as one set of checks any kind's test file runs with
 * its own example specs: `describeKindContract(kind, cases)`. What a kind does beyond the contract is checked in
 * that kind's own file (test/kinds/<kind>.test.ts).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { SyncError } from '../../lambda/errors';
import { parseCliTarget } from '../../lambda/kinds/cli';
import type { Fail, KindName, OwnFields, SpecOf, TargetKind } from '../../lambda/kinds/kind';
import { KINDS, documentKey } from '../../lambda/kinds/registry';
import { validateTargetSpec } from '../../lambda/kinds/specs';
import type { Log } from '../../lambda/ports';

/** The fields every spec has, whatever its kind (lambda/kinds/kind.ts TargetSpecBase, and `kind`). */
export const COMMON_FIELDS = ['name', 'kind', 'sources', 'guards', 'conditions', 'dryRun'];

/** What `fail` was called with: validate stops there. */
export class Failed extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`"${field}" ${problem}`);
    this.name = 'Failed';
  }
}

/** A `fail` callback that records and stops, as specs.ts's does. */
export const fail: Fail = (field, problem) => {
  throw new Failed(field, problem);
};

/** What a kind's `validate` said through `fail` (the test fails if it returned, or threw anything else). */
export function failureOf<K extends KindName>(kind: TargetKind<K>, raw: Record<string, unknown>): Failed {
  let returned: unknown;
  try {
    returned = kind.validate(raw, fail);
  } catch (err) {
    if (err instanceof Failed) return err;
    throw err;
  }
  throw new Error(`expected ${kind.kind}'s validate to fail for ${JSON.stringify(raw)}, it returned ${JSON.stringify(returned)}`);
}

/** The kind's own fields of a spec, as validate and parseCli return them. */
export function ownFields<K extends KindName>(kind: TargetKind<K>, spec: SpecOf<K>): OwnFields<K> {
  const record = spec as unknown as Record<string, unknown>;
  return Object.fromEntries(kind.fields.map((f) => [String(f), record[String(f)]])) as OwnFields<K>;
}

/** The kind's required own fields of a spec (the CLI's spelling carries no optional one). */
export function requiredOwnFields<K extends KindName>(kind: TargetKind<K>, spec: SpecOf<K>): Partial<OwnFields<K>> {
  const optional = (kind.optionalFields ?? []).map(String);
  return Object.fromEntries(Object.entries(ownFields(kind, spec)).filter(([field]) => !optional.includes(field))) as Partial<OwnFields<K>>;
}

/** A spec of the kind from a raw spec (the common fields copied, the kind's own ones validated). */
export function specOf<K extends KindName>(kind: TargetKind<K>, raw: Record<string, unknown>): SpecOf<K> {
  return { name: raw.name, kind: kind.kind, sources: raw.sources, ...kind.validate(raw, fail) } as unknown as SpecOf<K>;
}

/** `--target`'s text and its `--principal` flags, from a formatCli spelling (`iam-trust:ROLE --principal ARN...`). */
export function splitCli(text: string): { prefix: string; argument: string; principals: string[] } {
  const match = /^([^:\s]+):(.*?)((?: --principal \S+)*)$/.exec(text);
  if (!match) throw new Error(`not a CLI target spelling: ${text}`);
  return { prefix: match[1], argument: match[2], principals: [...match[3].matchAll(/--principal (\S+)/g)].map((m) => m[1]) };
}

/** An IAM action as a policy names it: `iam:GetPolicy`. */
export const IAM_ACTION = /^iam:[A-Z][A-Za-z]+$/;

/** The examples a kind's test file gives the contract. */
export interface KindCases {
  /** A valid raw spec of the kind, as ALLOWLIST_TARGETS holds it (common fields and the kind's own). */
  raw: Record<string, unknown>;
  /** Another valid raw spec of the kind, on another document. */
  other: Record<string, unknown>;
  /** Raw specs whose own field is wrong (beyond missing, which the contract tries for every field), and the field named. */
  invalid: { what: string; raw: Record<string, unknown>; field: string }[];
}

const quiet: Log = { info: () => undefined, warn: () => undefined };

/** Runs the TargetKind contract on `kind` with the examples of `cases`. */
export function describeKindContract<K extends KindName>(kind: TargetKind<K>, cases: KindCases): void {
  describe(`the TargetKind contract: ${kind.kind}`, () => {
    const spec = (): SpecOf<K> => specOf(kind, cases.raw);
    const other = (): SpecOf<K> => specOf(kind, cases.other);

    test('is registered under its own name, with a title and a CLI prefix', () => {
      expect(KINDS[kind.kind]).toBe(kind);
      expect(Object.entries(KINDS).filter(([, k]) => k === (kind as unknown)).map(([name]) => name)).toEqual([kind.kind]);
      expect(kind.title).toMatch(/\S/);
      expect(kind.prefix).toMatch(/^[a-z][a-z-]*$/);
    });

    test('the examples are of this kind and hold only common fields and the kind\'s own', () => {
      for (const raw of [cases.raw, cases.other]) {
        expect(raw.kind).toBe(kind.kind);
        expect(Object.keys(raw).filter((k) => !COMMON_FIELDS.includes(k)).sort()).toEqual([...kind.fields].map(String).sort());
      }
    });

    test('fields lists exactly the own keys validate returns for a valid spec, with their values', () => {
      for (const raw of [cases.raw, cases.other]) {
        const own = kind.validate(raw, fail) as Record<string, unknown>;
        expect(Object.keys(own).sort()).toEqual([...kind.fields].map(String).sort());
        for (const field of Object.keys(own)) expect(own[field]).toEqual(raw[field]);
        for (const common of COMMON_FIELDS) expect(own).not.toHaveProperty(common);
      }
      // No field twice, and none of them a common one.
      expect(new Set(kind.fields).size).toBe(kind.fields.length);
      for (const field of kind.fields) expect(COMMON_FIELDS).not.toContain(field);
    });

    test('validate fails through fail, naming the field, when a required own field is missing; an optional one may be left out', () => {
      const optional = (kind.optionalFields ?? []).map(String);
      for (const field of optional) {
        expect(kind.fields.map(String)).toContain(field);
        const raw = { ...cases.raw };
        delete raw[field];
        expect(kind.validate(raw, fail)).not.toHaveProperty(field);
      }
      for (const field of kind.fields.map(String).filter((f) => !optional.includes(f))) {
        const raw = { ...cases.raw };
        delete raw[field];
        const failed = failureOf(kind, raw);
        expect(failed.field).toBe(field);
        expect(failed.problem).toMatch(/\S/);
      }
    });

    test.each(cases.invalid.map((c) => [c.what, c] as const))('validate fails through fail, naming the field: %s', (_what, c) => {
      expect(c.raw.kind).toBe(kind.kind);
      const failed = failureOf(kind, c.raw);
      expect(failed.field).toBe(c.field);
      expect(failed.problem).toMatch(/\S/);
      if (kind.deployable) {
        // Through ALLOWLIST_TARGETS, the same problem names the target's index, its name and the field.
        expect(() => validateTargetSpec(c.raw, 3)).toThrow(new SyncError('config', `Configuration error: ALLOWLIST_TARGETS [3] (${String(c.raw.name)}) ${failed.message}.`, 'Fix the target list and run again.'));
      }
    });

    if (kind.deployable) {
      test('ALLOWLIST_TARGETS takes the example as this spec, and refuses a field the kind does not have', () => {
        expect(validateTargetSpec(cases.raw, 0)).toEqual(spec());
        expect(validateTargetSpec(cases.other, 0)).toEqual(other());
        expect(() => validateTargetSpec({ ...cases.raw, bogusField: 1 }, 0)).toThrow(`"bogusField" is not a field of a ${kind.title} target`);
      });
    }

    test('parseCli(formatCli(spec) without its prefix) gives back the same own fields, as does parseCliTarget', () => {
      for (const s of [spec(), other()]) {
        const text = kind.formatCli(s);
        const { prefix, argument, principals } = splitCli(text);
        expect(prefix).toBe(kind.prefix);
        // The CLI's spelling carries the required fields only.
        expect(kind.parseCli(argument, { principals })).toEqual(requiredOwnFields(kind, s));
        const parsed = parseCliTarget(`${prefix}:${argument}`, { principals, sources: s.sources, guards: {}, conditions: {} });
        expect(parsed).toEqual({ name: `${prefix}:${argument}`, kind: kind.kind, sources: s.sources, guards: {}, conditions: {}, ...requiredOwnFields(kind, s) });
      }
    });

    test('documentKey is stable, the document\'s own (not the target\'s name or sources), and differs between documents', () => {
      const key = kind.documentKey(spec());
      expect(key).toMatch(/\S/);
      expect(kind.documentKey(spec())).toBe(key);
      expect(kind.documentKey(structuredClone(spec()))).toBe(key);
      expect(kind.documentKey({ ...spec(), name: 'renamed', sources: ['static:192.0.2.0/24'], dryRun: true, guards: { minEntries: 2 } })).toBe(key);
      expect(documentKey(spec())).toBe(key);
      expect(kind.documentKey(other())).not.toBe(key);
    });

    test('sizeLimit: a positive default no larger than the most a raised quota allows', () => {
      expect(Number.isInteger(kind.sizeLimit.default)).toBe(true);
      expect(kind.sizeLimit.default).toBeGreaterThan(0);
      expect(kind.sizeLimit.default).toBeLessThanOrEqual(kind.sizeLimit.max);
    });

    if (kind.deployable) {
      test('actions: IAM actions to read and to write, none of them twice', () => {
        expect(kind.actions.read.length).toBeGreaterThan(0);
        expect(kind.actions.write.length).toBeGreaterThan(0);
        for (const action of [...kind.actions.read, ...kind.actions.write]) expect(action).toMatch(IAM_ACTION);
        expect(new Set([...kind.actions.read, ...kind.actions.write]).size).toBe(kind.actions.read.length + kind.actions.write.length);
      });
    } else {
      test('actions: none (the function never keeps this kind)', () => {
        expect(kind.actions).toEqual({ read: [], write: [] });
      });
    }

    test('shape renders a document it finds the allowlist in again', () => {
      const shape = kind.shape(spec());
      const entries = ['192.0.2.0/24', '2001:db8::/32'];
      const document = shape.render(entries, undefined);
      expect(shape.find(document)).toBeGreaterThanOrEqual(0);
      expect(shape.extract(document)).toEqual(entries);
      expect(shape.extract({ Version: '2012-10-17', Statement: [] })).toBeUndefined();
    });

    test('target builds an adapter, without I/O, whose key is the documentKey', () => {
      const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
      const iamMock = mockClient(iam);
      try {
        let built = 0;
        const target = kind.target(spec(), {
          iam: () => {
            built++;
            return iam;
          },
          log: quiet,
        });
        expect(target.key).toBe(kind.documentKey(spec()));
        expect(target.name).toMatch(/\S/);
        expect(typeof target.read).toBe('function');
        expect(typeof target.write).toBe('function');
        // Built, not used: nothing is sent until the sync reads. Only a kind that keeps IAM documents asks for the client.
        expect(iamMock.send.callCount).toBe(0);
        expect(built).toBe(kind.deployable ? 1 : 0);
        expect(kind.target(other(), { iam: () => iam }).key).toBe(kind.documentKey(other()));
      } finally {
        iamMock.restore();
      }
    });

    test('resource names the document for results and alerts', () => {
      expect(typeof kind.resource(spec())).toBe('string');
      expect(kind.resource(spec())).toMatch(/\S/);
      expect(kind.resource(other())).not.toBe(kind.resource(spec()));
    });
  });
}
