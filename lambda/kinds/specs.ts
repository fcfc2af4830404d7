import { ConditionOptions, GUARD_RANGES, Guards } from '../allowlist';
import { SyncError } from '../errors';
import { isDeployableSource, parseSource } from '../sources/grammar';
import { TARGET_NAME, checkFilterCidr, checkVpcExemptionId, shown, unknownField } from '../validate';
import { FLEET_FIELDS, fleetFields } from './fleet';
import { isFleetSpec } from './kind';
import type { KindName, TargetEntry, TargetSpec, TargetSpecBase } from './kind';
import { DEPLOYABLE_KINDS, KINDS, documentKey } from './registry';

// ALLOWLIST_TARGETS: a JSON array of target specs, each validated by the common rules here and its kind's own,
// with errors that name the target and the field, and one writer per document.

const COMMON_FIELDS = ['name', 'kind', 'sources', 'guards', 'conditions', 'include', 'exclude', 'dryRun'] as const;
const CONDITION_KEYS: readonly (keyof ConditionOptions)[] = ['viaAwsServiceExemption', 'kmsViaServiceExemption', 'vpcExemption'];
const GUARD_KEYS = Object.keys(GUARD_RANGES) as (keyof Guards)[];

function problem(where: string, message: string): SyncError {
  return new SyncError('config', `Configuration error: ALLOWLIST_TARGETS ${where ? `${where} ` : ''}${message}.`, 'Fix the target list and run again.');
}

function commonFields(spec: Record<string, unknown>, fail: (field: string, message: string) => never): Omit<TargetSpecBase, 'name'> {
  if (!Array.isArray(spec.sources) || spec.sources.length === 0 || !spec.sources.every((s) => typeof s === 'string')) {
    fail('sources', `must be a non-empty list of "ocm", "static:CIDR,..." or "ssm:PARAMETER_NAME", got ${shown(spec.sources)}`);
  }
  const sources = spec.sources as string[];
  for (const source of sources) {
    const parsed = parseSource(source);
    if (typeof parsed === 'string' || !isDeployableSource(parsed)) fail('sources', `must be a non-empty list of "ocm", "static:CIDR,..." or "ssm:PARAMETER_NAME", got ${shown(source)}`);
  }
  const out: Omit<TargetSpecBase, 'name'> = { sources: [...sources] };
  if (spec.guards !== undefined) {
    if (typeof spec.guards !== 'object' || spec.guards === null || Array.isArray(spec.guards)) fail('guards', `must be an object, got ${shown(spec.guards)}`);
    const guards: Partial<Guards> = {};
    for (const [key, guard] of Object.entries(spec.guards as Record<string, unknown>)) {
      if (!(GUARD_KEYS as readonly string[]).includes(key)) fail(`guards.${key}`, unknownField(key, GUARD_KEYS, 'a guard'));
      const [min, max, integer] = GUARD_RANGES[key as keyof Guards];
      if (typeof guard !== 'number' || !Number.isFinite(guard) || guard < min || guard > max || (integer && !Number.isInteger(guard))) {
        fail(`guards.${key}`, `must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(guard)}`);
      }
      guards[key as keyof Guards] = guard as number;
    }
    out.guards = guards;
  }
  if (spec.conditions !== undefined) {
    if (typeof spec.conditions !== 'object' || spec.conditions === null || Array.isArray(spec.conditions)) fail('conditions', `must be an object, got ${shown(spec.conditions)}`);
    const conditions: ConditionOptions = {};
    for (const [key, value] of Object.entries(spec.conditions as Record<string, unknown>)) {
      if (!(CONDITION_KEYS as readonly string[]).includes(key)) fail(`conditions.${key}`, unknownField(key, CONDITION_KEYS, 'a condition option'));
      if (key === 'vpcExemption') {
        conditions.vpcExemption = stringList(value, `conditions.${key}`, 'VPC or VPC endpoint ids', checkVpcExemptionId, fail);
        continue;
      }
      if (typeof value !== 'boolean') fail(`conditions.${key}`, `must be true or false, got ${shown(value)}`);
      conditions[key as 'viaAwsServiceExemption' | 'kmsViaServiceExemption'] = value as boolean;
    }
    out.conditions = conditions;
  }
  for (const key of ['include', 'exclude'] as const) {
    if (spec[key] !== undefined) out[key] = stringList(spec[key], key, 'CIDR blocks', checkFilterCidr, fail);
  }
  if (spec.dryRun !== undefined) {
    if (typeof spec.dryRun !== 'boolean') fail('dryRun', `must be true or false, got ${shown(spec.dryRun)}`);
    out.dryRun = spec.dryRun as boolean;
  }
  return out;
}

/** A list of strings each `check` accepts (an empty list is a list: `include: []` keeps nothing, and says so). */
function stringList(value: unknown, field: string, what: string, check: (s: string) => string | undefined, fail: (field: string, message: string) => never): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail(field, `must be a list of ${what}, got ${shown(value)}`);
  for (const item of value) {
    const problem = check(item);
    if (problem) fail(field, problem);
  }
  return [...value];
}

/** Validates one entry of ALLOWLIST_TARGETS (a target, or a managed-policy fleet with `accounts`); errors name the target and the field. */
export function validateTargetEntry(value: unknown, index: number): TargetEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem(`[${index}]`, 'is not an object');
  const spec = value as Record<string, unknown>;
  const where = `[${index}]${typeof spec.name === 'string' ? ` (${spec.name})` : ''}`;
  const fail = (field: string, message: string): never => {
    throw problem(where, `"${field}" ${message}`);
  };
  if (typeof spec.name !== 'string' || !TARGET_NAME.test(spec.name)) fail('name', `must be 1 to 64 letters, digits, dots, dashes or underscores, got ${shown(spec.name)}`);
  if (!(DEPLOYABLE_KINDS as readonly unknown[]).includes(spec.kind)) fail('kind', `must be ${DEPLOYABLE_KINDS.join(', ').replace(/, ([^,]+)$/, ' or $1')}, got ${shown(spec.kind)}`);
  const kind = KINDS[spec.kind as KindName];
  const managed = kind.kind === 'managed-policy';
  const known = [...COMMON_FIELDS, ...kind.fields.map(String), ...(managed ? FLEET_FIELDS : [])];
  for (const field of Object.keys(spec)) if (!known.includes(field)) fail(field, unknownField(field, known, `a field of a ${kind.title} target`));
  const common = commonFields(spec, fail);
  if (managed && spec.accounts !== undefined) return { name: spec.name as string, kind: 'managed-policy', ...common, ...fleetFields(spec, fail) };
  if (managed) {
    for (const field of FLEET_FIELDS) if (spec[field] !== undefined) fail(field, 'belongs to a fleet entry (one with "accounts"); a single managed policy is named by "policyArn"');
  }
  // The kind checks its own fields; the union member is then exactly { name, kind, ...common, ...own }.
  return { name: spec.name as string, kind: kind.kind, ...common, ...kind.validate(spec, fail) } as TargetSpec;
}

/** Validates one target spec (a fleet entry is refused: it is many targets); errors name the target and the field. */
export function validateTargetSpec(value: unknown, index: number): TargetSpec {
  const entry = validateTargetEntry(value, index);
  if (isFleetSpec(entry)) throw problem(`[${index}] (${entry.name})`, '"accounts" makes a fleet of targets, which only the function keeps (ALLOWLIST_TARGETS)');
  return entry;
}

/**
 * Parses `ALLOWLIST_TARGETS`: a JSON array of targets and fleets with unique names, one writer per document (a
 * fleet's accounts are only known at run time: their documents are checked then, lambda/fleet.ts).
 */
export function parseTargetEntries(text: string): TargetEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problem('', 'is not valid JSON');
  }
  if (!Array.isArray(value) || value.length === 0) throw problem('', 'must be a non-empty JSON array of targets');
  const entries = value.map(validateTargetEntry);
  const names = new Set<string>();
  const documents = new Map<string, string>();
  for (const entry of entries) {
    if (names.has(entry.name)) throw problem(`(${entry.name})`, 'has a duplicate name');
    names.add(entry.name);
    if (isFleetSpec(entry)) continue;
    // One writer per document: two targets on one document would undo each other every run.
    const key = documentKey(entry);
    const other = documents.get(key);
    if (other) throw problem(`(${entry.name})`, `writes the same document as target ${other}`);
    documents.set(key, entry.name);
  }
  return entries;
}

/** Parses a target list without fleets (each entry one target). */
export function parseTargetSpecs(text: string): TargetSpec[] {
  return parseTargetEntries(text).map((entry, index) => {
    if (isFleetSpec(entry)) throw problem(`[${index}] (${entry.name})`, '"accounts" makes a fleet of targets, which only the function keeps');
    return entry;
  });
}
