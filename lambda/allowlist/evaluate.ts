// The explicit-Deny part of IAM policy evaluation, for the condition semantics this tool writes and reads. Pure: a
// document and a request context in, a decision out. A document is compiled once (value lists parsed, patterns made
// regular expressions), so it answers many requests cheaply: proof.ts asks it tens of thousands of questions.
// Three-valued: what the evaluator does not understand (an operator, a key, a value, a shape) is "unknown", never
// quietly false. A statement's parts combine as Kleene AND (a definite false decides; else any unknown makes the
// statement unknown), so a statement counts as not denying only when that is certain.
import { AddressRanges, FastAddress, SourceAddress, fast, parseSourceAddress } from './address-ranges';
import { JsonValue, PolicyDocument, Statement, asObject } from './policy';

export { AddressRanges, parseBlock, parseSourceAddress } from './address-ranges';
export type { FastAddress, SourceAddress } from './address-ranges';

/** A request as the deny sees it. An absent field is a key absent from the request context. */
export interface RequestContext {
  /** `service:Action`, e.g. `s3:GetObject`. */
  action: string;
  /** The calling principal's ARN; also `aws:PrincipalArn`. */
  principal?: string;
  /** `aws:SourceIp`: absent for requests through a VPC endpoint. */
  sourceIp?: string;
  /** `aws:ViaAWSService`, present in every request. */
  viaAwsService: boolean;
  /** `aws:SourceVpc`, `aws:SourceVpce` (requests through a VPC endpoint), `kms:ViaService` (KMS called by a service). */
  sourceVpc?: string;
  sourceVpce?: string;
  kmsViaService?: string;
}

/** Whether an explicit Deny applies; `statement` is the index of the first statement that decides it. */
export type Decision = { denied: false } | { denied: true; statement: number; sid?: string } | { denied: 'unknown'; statement: number; sid?: string; reason: string };

/** A document compiled for evaluation. */
export interface DenyEvaluator {
  evaluate(request: RequestContext): Decision;
  /** Like `evaluate`, with `aws:SourceIp` already parsed (`undefined`: absent); `request.sourceIp` is not read. */
  evaluateAt(address: SourceAddress | undefined, request: RequestContext): Decision;
  /** Like `evaluateAt`, IPv4 as a number or IPv6 as a bigint (the proof's hot path: no BigInt per IPv4 probe). */
  evaluateFast(address: FastAddress | undefined, request: RequestContext): Decision;
}

type Unknown = { unknown: string };
type Truth = boolean | Unknown;
type Resolved = { request: RequestContext; address: FastAddress | undefined };
type Test = (r: Resolved) => Truth;
type KeyValue = string | FastAddress;
type KeyKind = 'ip' | 'bool' | 'string' | 'arn';
type Matcher = (value: KeyValue) => boolean;

const unknown = (reason: string): Unknown => ({ unknown: reason });
const always = (truth: Truth): Test => () => truth;

/** Kleene AND: a definite false wins, else the first unknown, else true. */
function all(tests: readonly Test[]): Test {
  return (r) => {
    let undecided: Unknown | undefined;
    for (const test of tests) {
      const truth = test(r);
      if (truth === false) return false;
      if (truth !== true) undecided ??= truth;
    }
    return undecided ?? true;
  };
}

/** `*` any run of characters (also none), `?` exactly one; everything else literal. */
function globRegExp(pattern: string, flags = ''): RegExp {
  const body = pattern.replace(/[\\^$.+()[\]{}|/-]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${body}$`, flags);
}

/** The strings of a string-or-list, or undefined when anything else is there. */
function strictStrings(value: JsonValue | undefined): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  return list.every((v) => typeof v === 'string') ? (list as string[]) : undefined;
}

/** Condition keys the requests know: names lower case (IAM compares them case-insensitively). */
const KEYS = new Map<string, { kind: KeyKind; get(r: Resolved): KeyValue | undefined }>([
  ['aws:sourceip', { kind: 'ip', get: (r) => r.address }],
  ['aws:viaawsservice', { kind: 'bool', get: (r) => (r.request.viaAwsService ? 'true' : 'false') }],
  ['aws:sourcevpc', { kind: 'string', get: (r) => r.request.sourceVpc }],
  ['aws:sourcevpce', { kind: 'string', get: (r) => r.request.sourceVpce }],
  ['kms:viaservice', { kind: 'string', get: (r) => r.request.kmsViaService }],
  ['aws:principalarn', { kind: 'arn', get: (r) => r.request.principal }],
]);

/** The six colon-separated parts of an ARN (the last one keeps its colons), or undefined. */
function arnParts(text: string): string[] | undefined {
  const parts = text.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function ipMatcher(values: readonly string[]): Matcher | Unknown {
  const ranges = AddressRanges.parse(values);
  if ('reason' in ranges) return unknown(ranges.reason);
  return (v) => typeof v !== 'string' && ranges.indexOf(v) !== -1;
}

const TRUE_OR_FALSE = /^(true|false)$/i;

function boolMatcher(values: readonly string[]): Matcher | Unknown {
  const bad = values.find((v) => !TRUE_OR_FALSE.test(v));
  if (bad !== undefined) return unknown(`Bool value ${JSON.stringify(bad)} is neither "true" nor "false"`);
  const set = new Set(values.map((v) => v.toLowerCase()));
  return (v) => typeof v === 'string' && set.has(v);
}

/** String and ARN values may hold policy variables (`${aws:username}`), which the evaluator does not substitute. */
function literal(compile: (values: readonly string[]) => Matcher | Unknown): (values: readonly string[]) => Matcher | Unknown {
  return (values) => {
    const variable = values.find((v) => v.includes('${'));
    return variable === undefined ? compile(values) : unknown(`the value ${JSON.stringify(variable)} holds a policy variable, which the evaluator does not substitute`);
  };
}

const stringMatcher = (mode: 'equals' | 'ignoreCase' | 'like') =>
  literal((values) => {
    if (mode === 'like') {
      const patterns = values.map((v) => globRegExp(v));
      return (v) => typeof v === 'string' && patterns.some((p) => p.test(v));
    }
    const fold = mode === 'ignoreCase' ? (s: string) => s.toLowerCase() : (s: string) => s;
    const set = new Set(values.map(fold));
    return (v) => typeof v === 'string' && set.has(fold(v));
  });

/** ArnEquals and ArnLike alike: each of the six parts matched on its own, with `*` and `?`. */
const arnMatcher = literal((values) => {
  const patterns: RegExp[][] = [];
  for (const value of values) {
    const parts = arnParts(value);
    if (!parts) return unknown(`${JSON.stringify(value)} is not an ARN (six parts separated by colons)`);
    patterns.push(parts.map((p) => globRegExp(p)));
  }
  return (v) => {
    const parts = typeof v === 'string' ? arnParts(v) : undefined;
    return parts !== undefined && patterns.some((p) => p.every((re, i) => re.test(parts[i])));
  };
});

type OperatorDef = { kind: KeyKind | 'null'; negated: boolean; compile(values: readonly string[]): Matcher | Unknown };

const op = (kind: OperatorDef['kind'], negated: boolean, compile: OperatorDef['compile']): OperatorDef => ({ kind, negated, compile });
const OPERATORS = new Map<string, OperatorDef>([
  ['IpAddress', op('ip', false, ipMatcher)], ['NotIpAddress', op('ip', true, ipMatcher)],
  ['Bool', op('bool', false, boolMatcher)], ['Null', op('null', false, () => () => false)],
  ['StringEquals', op('string', false, stringMatcher('equals'))], ['StringNotEquals', op('string', true, stringMatcher('equals'))],
  ['StringEqualsIgnoreCase', op('string', false, stringMatcher('ignoreCase'))], ['StringNotEqualsIgnoreCase', op('string', true, stringMatcher('ignoreCase'))],
  ['StringLike', op('string', false, stringMatcher('like'))], ['StringNotLike', op('string', true, stringMatcher('like'))],
  ['ArnEquals', op('arn', false, arnMatcher)], ['ArnNotEquals', op('arn', true, arnMatcher)],
  ['ArnLike', op('arn', false, arnMatcher)], ['ArnNotLike', op('arn', true, arnMatcher)],
]);

/** Which keys an operator family applies to: string operators also to ARN keys. */
const APPLIES: Record<KeyKind, readonly KeyKind[]> = { ip: ['ip'], bool: ['bool'], string: ['string', 'arn'], arn: ['arn'] };

/** One operator and key of a Condition block. */
function compileCondition(name: string, key: string, raw: JsonValue): Test {
  const [, qualifier, base, ifExists] = /^(ForAnyValue:|ForAllValues:)?(.*?)(IfExists)?$/.exec(name) as RegExpExecArray;
  const def = OPERATORS.get(base);
  if (!def || (def.kind === 'null' && (qualifier || ifExists))) return always(unknown(`condition operator ${JSON.stringify(name)} is not one the evaluator knows`));
  const keyDef = KEYS.get(key.toLowerCase());
  if (!keyDef) return always(unknown(`condition key ${JSON.stringify(key)} (under ${name}) is not one the evaluator knows`));
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.every((v) => ['string', 'boolean', 'number'].includes(typeof v))) return always(unknown(`the values of ${key} under ${name} are not strings`));
  const values = list.map(String);
  if (def.kind === 'null') {
    const bad = values.find((v) => !TRUE_OR_FALSE.test(v));
    if (bad !== undefined) return always(unknown(`Null value ${JSON.stringify(bad)} is neither "true" nor "false"`));
    // Null "true": the key is absent; "false": present. Several values: any of them.
    const wanted = values.map((v) => v.toLowerCase() === 'true');
    return (r) => wanted.includes(keyDef.get(r) === undefined);
  }
  if (!APPLIES[def.kind].includes(keyDef.kind)) return always(unknown(`${name} does not apply to ${key}, whose values are of type ${keyDef.kind}`));
  const matcher = def.compile(values);
  if (typeof matcher !== 'function') return always(matcher);
  // A missing key: IfExists makes the condition true; ForAllValues over no values is true, ForAnyValue false;
  // otherwise a positive operator is false and a negated one true.
  const missing = ifExists ? true : qualifier === 'ForAllValues:' ? true : qualifier === 'ForAnyValue:' ? false : def.negated;
  return (r) => {
    const value = keyDef.get(r);
    if (value === undefined) return missing;
    return matcher(value) !== def.negated;
  };
}

function compileConditions(condition: JsonValue | undefined): Test {
  if (condition === undefined) return always(true);
  const block = asObject(condition);
  if (!block) return always(unknown('the Condition is not an object'));
  const tests: Test[] = [];
  for (const [name, keys] of Object.entries(block)) {
    const entries = asObject(keys);
    if (!entries) tests.push(always(unknown(`condition operator ${JSON.stringify(name)} does not hold an object of keys`)));
    for (const [key, raw] of Object.entries(entries ?? {})) tests.push(compileCondition(name, key, raw));
  }
  return all(tests);
}

function compileAction(statement: Statement): Test {
  const positive = statement.Action !== undefined;
  if (positive === (statement.NotAction !== undefined)) return always(unknown(positive ? 'the statement has both Action and NotAction' : 'the statement has neither Action nor NotAction'));
  const patterns = strictStrings(positive ? statement.Action : statement.NotAction);
  if (!patterns) return always(unknown(`the ${positive ? 'Action' : 'NotAction'} is not a string or a list of strings`));
  // IAM: "The prefix and the action name are case insensitive."
  const regexps = patterns.map((p) => globRegExp(p, 'i'));
  let seen: { action: string; truth: boolean } | undefined; // a proof asks about one action tens of thousands of times
  return (r) => {
    if (seen?.action !== r.request.action) seen = { action: r.request.action, truth: regexps.some((re) => re.test(r.request.action)) === positive };
    return seen.truth;
  };
}

/** Does a Principal value name this principal ARN? "*" (or AWS "*") names every principal. */
function principalMatcher(value: JsonValue): ((principal: string | undefined) => Truth) | Unknown {
  if (value === '*') return () => true;
  const object = asObject(value);
  if (!object) return unknown('the Principal is neither "*" nor an object');
  const exact = new Set<string>();
  const accounts = new Set<string>();
  for (const [type, names] of Object.entries(object)) {
    const list = strictStrings(names);
    if (!['AWS', 'Service', 'Federated', 'CanonicalUser'].includes(type) || !list) return unknown(`the Principal ${JSON.stringify(type)} is not one the evaluator knows`);
    for (const name of list) {
      if (type === 'AWS' && name === '*') return () => true;
      // An account (its id, or its root user's ARN) stands for every principal of the account.
      const root = /^arn:([^:]+):iam::(\d{12}):root$/.exec(name);
      if (type === 'AWS' && /^\d{12}$/.test(name)) accounts.add(name);
      else if (type === 'AWS' && root) accounts.add(`${root[1]}:${root[2]}`);
      else exact.add(name);
    }
  }
  return (principal) => {
    if (principal === undefined) return unknown('the statement names principals and the request has none');
    if (exact.has(principal)) return true;
    const parts = principal.split(':');
    return parts.length >= 6 && parts[0] === 'arn' && (accounts.has(parts[4]) || accounts.has(`${parts[1]}:${parts[4]}`));
  };
}

function compilePrincipal(statement: Statement): Test {
  const positive = statement.Principal !== undefined;
  if (!positive && statement.NotPrincipal === undefined) return always(true); // an identity policy: the holder
  if (positive && statement.NotPrincipal !== undefined) return always(unknown('the statement has both Principal and NotPrincipal'));
  const matcher = principalMatcher((positive ? statement.Principal : statement.NotPrincipal) as JsonValue);
  if (typeof matcher !== 'function') return always(matcher);
  const decide = (truth: Truth): Truth => (typeof truth === 'boolean' ? truth === positive : truth);
  return (r) => decide(matcher(r.request.principal));
}

/**
 * Whether the statement covers every resource: no Resource (a trust policy's statements have none) or one that
 * includes "*". A Resource naming particular resources, or any NotResource, is `unknown`: the evaluator asks about
 * requests to any resource, so it cannot say the statement applies (nor that it does not).
 */
function compileResource(statement: { [key: string]: JsonValue }): Test {
  if (statement.NotResource !== undefined) return always(unknown('NotResource (requests are not asked about one resource)'));
  const resource = statement.Resource;
  if (resource === undefined) return always(true);
  const list = Array.isArray(resource) ? resource : [resource];
  return list.includes('*') ? always(true) : always(unknown(`a Resource other than "*" (${JSON.stringify(resource).slice(0, 80)})`));
}

/** The statement's test, or undefined for an Allow (it never denies). */
function compileStatement(statement: JsonValue): Test | undefined {
  const object = asObject(statement);
  if (!object) return always(unknown('the statement is not an object'));
  if (object.Effect === 'Allow') return undefined;
  const effect = object.Effect === 'Deny' ? always(true) : always(unknown(`the Effect ${JSON.stringify(object.Effect ?? null)} is neither Allow nor Deny`));
  return all([effect, compileAction(object), compilePrincipal(object), compileResource(object), compileConditions(object.Condition)]);
}

const NOT_DENIED: Decision = Object.freeze({ denied: false });

/** Compiles a document once, for many requests. Decisions it returns are frozen (shared between requests). */
export function compileDenyPolicy(document: PolicyDocument): DenyEvaluator {
  const statements: JsonValue[] = Array.isArray(document.Statement) ? document.Statement : [document.Statement as JsonValue];
  const compiled = statements.flatMap((s, index) => {
    const test = compileStatement(s);
    const sid = asObject(s)?.Sid;
    const where = typeof sid === 'string' ? { statement: index, sid } : { statement: index };
    return test ? [{ test, where, denied: Object.freeze({ denied: true as const, ...where }) }] : [];
  });
  const evaluateFast = (address: FastAddress | undefined, request: RequestContext): Decision => {
    const resolved: Resolved = { request, address };
    let undecided: Decision | undefined;
    for (const { test, where, denied } of compiled) {
      const truth = test(resolved);
      if (truth === true) return denied;
      if (truth !== false) undecided ??= { denied: 'unknown', ...where, reason: truth.unknown };
    }
    return undecided ?? NOT_DENIED;
  };
  const evaluateAt = (address: SourceAddress | undefined, request: RequestContext) => evaluateFast(address && fast(address), request);
  const evaluate = (request: RequestContext) => evaluateAt(request.sourceIp === undefined ? undefined : parseSourceAddress(request.sourceIp), request);
  return { evaluate, evaluateAt, evaluateFast };
}

/** Whether an explicit Deny in the document applies to the request. */
export function evaluateDeny(document: PolicyDocument, request: RequestContext): Decision {
  return compileDenyPolicy(document).evaluate(request);
}
