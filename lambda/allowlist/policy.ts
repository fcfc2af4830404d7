/** The Sid of the statement this tool owns. Fixed, so the statement can be found again. */
export const ALLOWLIST_SID = 'AllowlistSyncDenyOutsideTrustedIps';

/** IAM's limit for a managed policy document, in characters not counting whitespace. */
export const MANAGED_POLICY_SIZE_LIMIT = 6144;

/** A JSON value as found in policy documents. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One IAM policy statement, loosely typed: documents we adopt may hold anything. */
export type Statement = { [key: string]: JsonValue };

/** An IAM policy document. */
export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: Statement[];
}

/** Which condition keys exempt a request from the deny. */
export interface ConditionOptions {
  /** `Bool aws:ViaAWSService false`: AWS services calling on the caller's behalf stay allowed. Default on. */
  viaAwsServiceExemption?: boolean;
  /** `Null kms:ViaService true`: KMS calls made through another service stay allowed. Default off. */
  kmsViaServiceExemption?: boolean;
  /**
   * VPC ids (`vpc-...`) and VPC endpoint ids (`vpce-...`) whose requests are exempt. A request through a VPC
   * endpoint carries no `aws:SourceIp`, so the deny applies to it even from a trusted network; listed here, it
   * is let through by `StringNotEqualsIfExists` on `aws:SourceVpc` / `aws:SourceVpce`, and every other request
   * stays under the IP rule. Whoever can send requests through a listed VPC or endpoint is then trusted.
   */
  vpcExemption?: readonly string[];
}

/** A VPC id or a VPC endpoint id, as `vpcExemption` takes them. */
export const VPC_EXEMPTION_ID = /^(vpc|vpce)-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/**
 * How an entry is written into a document: an IPv4 host without its `/32`, which `aws:SourceIp` assumes;
 * three characters saved per host entry is ~20% more of them under IAM's size limit. IPv6 always keeps its
 * prefix (a bare IPv6 address is not read as /128).
 */
export function documentForm(entry: string): string {
  return entry.endsWith('/32') && !entry.includes(':') ? entry.slice(0, -3) : entry;
}

/** The condition block of the deny statement for these canonical entries. */
export function renderCondition(entries: readonly string[], options: ConditionOptions = {}): Statement {
  const condition: Statement = { NotIpAddress: { 'aws:SourceIp': entries.map(documentForm) } };
  if (options.viaAwsServiceExemption ?? true) condition.Bool = { 'aws:ViaAWSService': 'false' };
  if (options.kmsViaServiceExemption) condition.Null = { 'kms:ViaService': 'true' };
  const vpcs = (options.vpcExemption ?? []).filter((id) => id.startsWith('vpc-'));
  const endpoints = (options.vpcExemption ?? []).filter((id) => id.startsWith('vpce-'));
  if (vpcs.length + endpoints.length > 0) {
    condition.StringNotEqualsIfExists = {
      ...(vpcs.length ? { 'aws:SourceVpc': vpcs } : {}),
      ...(endpoints.length ? { 'aws:SourceVpce': endpoints } : {}),
    };
  }
  return condition;
}

/** The managed policy: deny every action on every resource unless the request comes from an entry. */
export function renderDenyPolicy(entries: readonly string[], options: ConditionOptions = {}): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: ALLOWLIST_SID,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: renderCondition(entries, options),
      },
    ],
  };
}

/** Compact JSON, the form written to targets. */
export function serializePolicy(document: PolicyDocument): string {
  return JSON.stringify(document);
}

/** Size as IAM counts it: characters, whitespace not counted. */
export function policySize(text: string): number {
  return text.replace(/\s/g, '').length;
}

/**
 * Parses a policy document as IAM returns it (URL-encoded, RFC 3986) or as a person wrote it (plain).
 * Throws an Error saying what is wrong when it is neither.
 */
export function parsePolicy(text: string): PolicyDocument {
  // Editors on Windows save UTF-8 with a byte order mark, which JSON.parse rejects.
  const body = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    try {
      value = JSON.parse(decodeURIComponent(body));
    } catch {
      throw new Error('the policy document is neither JSON nor URL-encoded JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the policy document is not a JSON object');
  }
  const statement = (value as { Statement?: unknown }).Statement;
  if (statement === undefined) throw new Error('the policy document has no Statement');
  const statements = Array.isArray(statement) ? statement : [statement];
  for (const s of statements) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      throw new Error('the policy document has a Statement that is not an object');
    }
  }
  return { ...(value as PolicyDocument), Statement: statements as Statement[] };
}

/** The value as a JSON object, or undefined. */
export function asObject(value: JsonValue | undefined): { [key: string]: JsonValue } | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

function asStrings(value: JsonValue | undefined): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** The `aws:SourceIp` values under `NotIpAddress` of a statement, if it has them. */
export function sourceIpsOf(statement: Statement): string[] | undefined {
  const notIp = asObject(asObject(statement.Condition)?.NotIpAddress);
  return notIp ? asStrings(notIp['aws:SourceIp']) : undefined;
}

/** The strings of a string-or-list value (other members ignored). */
export function stringsOf(value: JsonValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The condition key the allowlist is written under. IAM compares condition keys case-insensitively. */
const SOURCE_IP_KEY = 'aws:sourceip';

/**
 * Every `aws:SourceIp` value of a statement, under ANY condition operator (`NotIpAddress`, `NotIpAddressIfExists`,
 * `IpAddress`, `ForAnyValue:...`), or undefined when the statement has no such condition. Any operator counts:
 * a hand edit that turns `NotIpAddress` into `NotIpAddressIfExists` must not make the allowlist invisible.
 */
export function sourceIpValues(statement: Statement): string[] | undefined {
  const condition = asObject(statement.Condition);
  if (!condition) return undefined;
  let found: string[] | undefined;
  for (const block of Object.values(condition)) {
    const keys = asObject(block);
    if (!keys) continue;
    for (const [key, value] of Object.entries(keys)) {
      if (key.toLowerCase() !== SOURCE_IP_KEY) continue;
      // A non-string member (a number, say) is kept as text: it is an entry the plan cannot read, so it counts as removed.
      const values = Array.isArray(value) ? value : [value];
      found = [...(found ?? []), ...values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))];
    }
  }
  return found;
}

/** True when a statement is conditioned on `aws:SourceIp` at all. */
export function hasSourceIpCondition(statement: Statement): boolean {
  return sourceIpValues(statement) !== undefined;
}

/**
 * Finds the allowlist statement: ours by Sid, or else (when adopting a hand-made policy) the first Deny
 * statement conditioned on `aws:SourceIp` under any operator, or else any statement so conditioned: whatever
 * the operator, an `aws:SourceIp` statement is the allowlist in force, never "no allowlist yet". Returns its
 * index, or -1.
 */
export function findAllowlistStatement(document: PolicyDocument): number {
  const bySid = document.Statement.findIndex((s) => s.Sid === ALLOWLIST_SID);
  if (bySid !== -1) return bySid;
  const deny = document.Statement.findIndex((s) => s.Effect === 'Deny' && hasSourceIpCondition(s));
  return deny !== -1 ? deny : document.Statement.findIndex(hasSourceIpCondition);
}

/** JSON with object keys sorted, so two documents that mean the same compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Decodes a policy document as GetPolicyVersion returns it (URL-encoded, RFC 3986), tolerating one that is
 * already plain JSON: a plain document is returned untouched, so a `%` inside it is never decoded twice.
 */
export function decodePolicyDocument(text: string): string {
  if (isJson(text)) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
