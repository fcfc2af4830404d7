import { createHash } from 'node:crypto';
import { Cidr, InvalidEntry, NormalizedEntries, formatCidr, isCovered, parseEntry, subtract } from './cidr';
import {
  ConditionOptions,
  MANAGED_POLICY_SIZE_LIMIT,
  PolicyDocument,
  canonicalJson,
  findAllowlistStatement,
  parsePolicy,
  policySize,
  renderDenyPolicy,
  serializePolicy,
  sourceIpsOf,
} from './policy';

/** How the allowlist becomes a whole document, and how to find it in an existing one. */
export interface PolicyShape {
  /** Renders the document for these canonical entries; `current` lets a shape keep foreign statements. */
  render(entries: readonly string[], current: PolicyDocument | undefined): PolicyDocument;
  /** The allowlist entries in an existing document, or undefined when it holds no allowlist yet. */
  extract(document: PolicyDocument): string[] | undefined;
}

/** The managed deny policy: the tool owns the whole document. */
export function managedPolicyShape(conditions: ConditionOptions = {}): PolicyShape {
  return {
    render: (entries) => renderDenyPolicy(entries, conditions),
    extract: (document) => {
      const index = findAllowlistStatement(document);
      return index === -1 ? undefined : sourceIpsOf(document.Statement[index]);
    },
  };
}

/** Safety limits checked before anything is written. */
export interface Guards {
  /** Refuse a list with fewer entries than this (after aggregation). */
  minEntries: number;
  /** Refuse an IPv4 block broader than this prefix (8 means /0 to /7 are refused). */
  broadestIpv4Prefix: number;
  /** Refuse an IPv6 block broader than this prefix. */
  broadestIpv6Prefix: number;
  /** Refuse removing more than this fraction of the current entries (0..1). */
  maxRemovalFraction: number;
  /** Refuse a document larger than this many non-whitespace characters. */
  sizeLimit: number;
}

/** The defaults: at least one entry, nothing broader than /8 or /32, at most 30% removed, 6,144 characters. */
export const DEFAULT_GUARDS: Guards = {
  minEntries: 1,
  broadestIpv4Prefix: 8,
  broadestIpv6Prefix: 32,
  maxRemovalFraction: 0.3,
  sizeLimit: MANAGED_POLICY_SIZE_LIMIT,
};

/** Why a plan was refused. */
export interface Refusal {
  /** Stable code: `empty`, `min-entries`, `catch-all`, `too-broad`, `mass-removal`, `size-limit`, `invalid-entries`, `unreadable-current`. */
  code: string;
  message: string;
  /** Whether an operator may apply the plan anyway by approving its id (an empty list never is). */
  approvable: boolean;
}

/** The document as it stands in the target. */
export interface CurrentDocument {
  /** The document text, URL-encoded or plain; undefined when there is none yet. */
  document?: string;
  /** The target's version id, part of the plan id. */
  versionId?: string;
  /** The target's own size budget for this document (e.g. a trust policy's 2,048); the lower of it and the guard wins. */
  sizeLimit?: number;
}

/** Options of `plan`. */
export interface PlanOptions {
  guards?: Partial<Guards>;
  /** Defaults to the managed deny policy with the `aws:ViaAWSService` exemption. */
  shape?: PolicyShape;
}

/** What would happen: data only, nothing is done. */
export interface Plan {
  status: 'unchanged' | 'changes' | 'refused';
  /** Deterministic: the same current version and desired document give the same id. */
  planId: string;
  /** Canonical blocks of addresses that become allowed. */
  added: string[];
  /** Canonical blocks of addresses that stop being allowed. */
  removed: string[];
  /** The desired allowlist, canonical and aggregated. */
  entries: string[];
  /** The allowlist found in the current document (as written there), empty when none. */
  currentEntries: string[];
  /** The compact JSON document to write. */
  document: string;
  documentSize: number;
  sizeLimit: number;
  /** True when the current document differs from ours in more than its entries (a hand edit, drift). */
  drift: boolean;
  /** True when the current document holds no allowlist statement yet. */
  adoption: boolean;
  /** True when the current document already equals the rendered one (even if the plan is refused). */
  upToDate: boolean;
  refusals: Refusal[];
  /** The refusals' messages, for people. */
  reasons: string[];
  baseVersionId?: string;
}

/** True when the plan was refused and every refusal may be overridden by approving its id. */
export function isApprovable(p: Pick<Plan, 'refusals'>): boolean {
  return p.refusals.length > 0 && p.refusals.every((r) => r.approvable);
}

function hash(parts: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function guardRefusals(
  desired: readonly Cidr[],
  invalid: readonly InvalidEntry[],
  current: readonly Cidr[] | undefined,
  /** Current entries that cannot be parsed: they vanish from the new document, so they count as removed. */
  currentUnparsed: number,
  size: number,
  guards: Guards,
): Refusal[] {
  const refusals: Refusal[] = [];
  if (invalid.length > 0) {
    const list = invalid.map((e) => `${JSON.stringify(e.value)} from ${e.source} (${e.reason})`).join(', ');
    refusals.push({ code: 'invalid-entries', approvable: false, message: `${invalid.length} invalid entr${invalid.length === 1 ? 'y' : 'ies'}: ${list}` });
  }
  if (desired.length === 0) {
    refusals.push({ code: 'empty', approvable: false, message: 'the allowlist is empty: writing it would deny every request' });
  } else if (desired.length < guards.minEntries) {
    refusals.push({ code: 'min-entries', approvable: true, message: `only ${desired.length} entries, fewer than the minimum of ${guards.minEntries}` });
  }
  const catchAll = desired.filter((c) => c.prefix === 0);
  if (catchAll.length > 0) {
    refusals.push({ code: 'catch-all', approvable: false, message: `${catchAll.map(formatCidr).join(' and ')} allows every address: the policy would protect nothing` });
  }
  const broad = desired.filter((c) => c.prefix > 0 && c.prefix < (c.family === 4 ? guards.broadestIpv4Prefix : guards.broadestIpv6Prefix));
  if (broad.length > 0) {
    refusals.push({
      code: 'too-broad',
      approvable: true,
      message: `entries broader than IPv4 /${guards.broadestIpv4Prefix} or IPv6 /${guards.broadestIpv6Prefix} would allow too much: ${broad.map(formatCidr).join(', ')}`,
    });
  }
  const total = (current?.length ?? 0) + currentUnparsed;
  if (current && total > 0) {
    const lost = current.filter((c) => !isCovered(c, desired)).length + currentUnparsed;
    if (lost / total > guards.maxRemovalFraction) {
      refusals.push({
        code: 'mass-removal',
        approvable: true,
        message: `${lost} of ${total} current entries would be removed (${Math.round((lost / total) * 100)}%), more than the ${Math.round(guards.maxRemovalFraction * 100)}% allowed`,
      });
    }
  }
  if (size > guards.sizeLimit) {
    refusals.push({ code: 'size-limit', approvable: false, message: `the document would be ${size} characters, over the limit of ${guards.sizeLimit}` });
  }
  return refusals;
}

/**
 * Computes what syncing `desired` into `current` means, and whether it is safe.
 * Pure: no I/O. The tool owns the whole document, so any difference from the rendered one is a change.
 */
export function plan(current: CurrentDocument, desired: NormalizedEntries, options: PlanOptions = {}): Plan {
  // An override left undefined (e.g. an unset setting passed through) keeps the default: spreading it
  // as-is would replace the default with undefined and silently switch that guard off.
  const overrides = Object.entries(options.guards ?? {}).filter(([, value]) => value !== undefined);
  const configured: Guards = { ...DEFAULT_GUARDS, ...Object.fromEntries(overrides) };
  const guards: Guards =
    current.sizeLimit === undefined ? configured : { ...configured, sizeLimit: Math.min(configured.sizeLimit, current.sizeLimit) };
  const shape = options.shape ?? managedPolicyShape();
  const refusals: Refusal[] = [];

  let currentDocument: PolicyDocument | undefined;
  if (current.document !== undefined) {
    try {
      currentDocument = parsePolicy(current.document);
    } catch (err) {
      refusals.push({ code: 'unreadable-current', approvable: true, message: `the current policy cannot be read: ${(err as Error).message}` });
    }
  }
  const currentEntries = currentDocument ? shape.extract(currentDocument) : undefined;
  const currentCidrs: Cidr[] = [];
  let currentUnparsed = 0;
  for (const value of currentEntries ?? []) {
    const parsed = parseEntry(value);
    if (parsed.ok) currentCidrs.push(parsed.cidr);
    else currentUnparsed++;
  }

  const entries = desired.cidrs.map(formatCidr);
  const rendered = shape.render(entries, currentDocument);
  const document = serializePolicy(rendered);
  const documentSize = policySize(document);
  const adoption = currentEntries === undefined;
  refusals.push(...guardRefusals(desired.cidrs, desired.invalid, adoption ? undefined : currentCidrs, currentUnparsed, documentSize, guards));

  const same = currentDocument !== undefined && canonicalJson(currentDocument) === canonicalJson(rendered);
  const added = subtract(desired.cidrs, currentCidrs).map(formatCidr);
  const removed = subtract(currentCidrs, desired.cidrs).map(formatCidr);
  const currentCanonical = currentDocument ? canonicalJson(currentDocument) : null;
  return {
    status: refusals.length > 0 ? 'refused' : same ? 'unchanged' : 'changes',
    planId: hash([current.versionId ?? null, currentCanonical ?? current.document ?? null, document]),
    added,
    removed,
    entries,
    currentEntries: currentEntries ?? [],
    document,
    documentSize,
    sizeLimit: guards.sizeLimit,
    drift:
      currentDocument !== undefined &&
      !adoption &&
      canonicalJson(currentDocument) !== canonicalJson(shape.render(currentEntries, currentDocument)),
    adoption,
    upToDate: same,
    refusals,
    reasons: refusals.map((r) => r.message),
    ...(current.versionId !== undefined ? { baseVersionId: current.versionId } : {}),
  };
}
