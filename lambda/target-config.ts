import { ConditionOptions, GUARD_RANGES, Guards } from './allowlist';
import { SyncError } from './errors';

/** Where a target's allowlist lives. */
export type TargetKind = 'managed-policy' | 'trust-policy' | 'inline-policy';

/**
 * One target of a deployment: a policy, its sources, its guards. The environment carries a list of them as
 * JSON in `ALLOWLIST_TARGETS`; without it, the single-target variables (`POLICY_ARN`...) describe one.
 */
export interface TargetSpec {
  /** Unique short name: alert subjects, metrics dimension, alert-state tags. */
  name: string;
  kind: TargetKind;
  /** managed-policy: the customer managed policy's ARN. */
  policyArn?: string;
  /** trust-policy and inline-policy: the role's name. */
  roleName?: string;
  /** inline-policy: the inline policy's name on the role. */
  policyName?: string;
  /** trust-policy: the AWS principals (ARNs) that may assume the role only from the listed addresses. */
  principals?: string[];
  /** `ocm`, `static:CIDR,CIDR...` or `ssm:PARAMETER_NAME` (a String or StringList parameter). */
  sources: string[];
  /** Guard overrides; `sizeLimit` also raises a trust policy's default 2,048 when the account's quota is higher. */
  guards?: Partial<Guards>;
  conditions?: ConditionOptions;
  /** Plan and alert, never write. */
  dryRun?: boolean;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:policy\/[\w+=,.@/-]+$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const INLINE_POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[\w+=,.@/:-]+$/;
const SOURCE = /^(ocm|static:.+|ssm:[\w.\-/]+)$/;
const GUARD_KEYS = Object.keys(GUARD_RANGES) as (keyof Guards)[];

function problem(where: string, message: string): SyncError {
  return new SyncError('config', `Configuration error: ALLOWLIST_TARGETS ${where} ${message}.`, 'Fix the target list and run again.');
}

function strings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Validates one target spec; errors name the target and the field. */
export function validateTargetSpec(value: unknown, index: number): TargetSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem(`[${index}]`, 'is not an object');
  const spec = value as Record<string, unknown>;
  const where = `[${index}]${typeof spec.name === 'string' ? ` (${spec.name})` : ''}`;
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) throw problem(where, '"name" must be 1 to 64 letters, digits, dots, dashes or underscores');
  if (spec.kind !== 'managed-policy' && spec.kind !== 'trust-policy' && spec.kind !== 'inline-policy') {
    throw problem(where, '"kind" must be managed-policy, trust-policy or inline-policy');
  }
  if (spec.kind === 'managed-policy' && (typeof spec.policyArn !== 'string' || !POLICY_ARN.test(spec.policyArn))) {
    throw problem(where, '"policyArn" must be an IAM policy ARN');
  }
  if (spec.kind !== 'managed-policy' && (typeof spec.roleName !== 'string' || !ROLE_NAME.test(spec.roleName))) {
    throw problem(where, '"roleName" must be an IAM role name');
  }
  if (spec.kind === 'inline-policy' && (typeof spec.policyName !== 'string' || !INLINE_POLICY_NAME.test(spec.policyName))) {
    throw problem(where, '"policyName" must be an inline policy name (1 to 128 of letters, digits and +=,.@_-)');
  }
  if (spec.kind === 'trust-policy' && (!strings(spec.principals) || spec.principals.length === 0 || !spec.principals.every((p) => PRINCIPAL_ARN.test(p)))) {
    throw problem(where, '"principals" must be a non-empty list of IAM principal ARNs (the deny must name who it applies to)');
  }
  if (!strings(spec.sources) || spec.sources.length === 0 || !spec.sources.every((s) => SOURCE.test(s))) {
    throw problem(where, '"sources" must be a non-empty list of "ocm", "static:CIDR,..." or "ssm:PARAMETER_NAME"');
  }
  if (spec.guards !== undefined) {
    if (typeof spec.guards !== 'object' || spec.guards === null) throw problem(where, '"guards" must be an object');
    for (const [key, guard] of Object.entries(spec.guards)) {
      if (!GUARD_KEYS.includes(key as keyof Guards)) throw problem(where, `"guards.${key}" is not a guard (${GUARD_KEYS.join(', ')})`);
      const [min, max, integer] = GUARD_RANGES[key as keyof Guards];
      if (typeof guard !== 'number' || !Number.isFinite(guard) || guard < min || guard > max || (integer && !Number.isInteger(guard))) {
        throw problem(where, `"guards.${key}" must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(guard)}`);
      }
    }
  }
  if (spec.conditions !== undefined) {
    const conditions = spec.conditions as Record<string, unknown>;
    for (const key of Object.keys(conditions)) {
      if (key !== 'viaAwsServiceExemption' && key !== 'kmsViaServiceExemption') throw problem(where, `"conditions.${key}" is not a condition option`);
      if (typeof conditions[key] !== 'boolean') throw problem(where, `"conditions.${key}" must be true or false`);
    }
  }
  if (spec.dryRun !== undefined && typeof spec.dryRun !== 'boolean') throw problem(where, '"dryRun" must be true or false');
  return spec as unknown as TargetSpec;
}

/** Parses `ALLOWLIST_TARGETS`: a JSON array of target specs with unique names. */
export function parseTargetSpecs(text: string): TargetSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problem('', 'is not valid JSON');
  }
  if (!Array.isArray(value) || value.length === 0) throw problem('', 'must be a non-empty JSON array of targets');
  const specs = value.map(validateTargetSpec);
  const names = new Set<string>();
  const documents = new Map<string, string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw problem(`(${spec.name})`, 'has a duplicate name');
    names.add(spec.name);
    // One writer per document: two targets on one document would undo each other every run.
    const document = spec.kind === 'managed-policy' ? spec.policyArn : spec.kind === 'trust-policy' ? `trust:${spec.roleName}` : `inline:${spec.roleName}/${spec.policyName}`;
    const other = documents.get(document ?? '');
    if (other) throw problem(`(${spec.name})`, `writes the same document as target ${other}`);
    documents.set(document ?? '', spec.name);
  }
  return specs;
}
