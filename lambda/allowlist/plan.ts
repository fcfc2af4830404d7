import { createHash } from 'node:crypto';
import { Cidr, NormalizedEntries, formatCidr, parseEntry, subtract } from './cidr';
import { PLACEHOLDER_POLICY_DOCUMENT, PLACEHOLDER_SID, isPlaceholder } from './placeholder';
import {
  ALLOWLIST_SID,
  ConditionOptions,
  PolicyDocument,
  Statement,
  canonicalJson,
  findAllowlistStatement,
  parsePolicy,
  policySize,
  renderDenyPolicy,
  serializePolicy,
  sourceIpValues,
} from './policy';
import { DEFAULT_GUARDS, Guards, Refusal, guardRefusals } from './guards';
import { StatementChange, statementChanges } from './statements';
import { EntryFilters, FilteredEntry, applyFilters, hasFilters } from './filters';
import { ProofOptions, proveAllowlist } from './proof';

export { DEFAULT_GUARDS, GUARD_RANGES, isApprovable, removalMeasure } from './guards';
export type { Guards, Refusal } from './guards';

/** How the allowlist becomes a whole document, and how to find it in an existing one. */
export interface PolicyShape {
  /** Renders the document for these canonical entries; `current` lets a shape keep foreign statements. */
  render(entries: readonly string[], current: PolicyDocument | undefined): PolicyDocument;
  /** The index of the statement holding the allowlist in an existing document, or -1 when it holds none. */
  find(document: PolicyDocument): number;
  /** The allowlist entries in an existing document, or undefined when it holds no allowlist yet. */
  extract(document: PolicyDocument): string[] | undefined;
  /**
   * What the rendered statement must prove before it is written (proof.ts): the probes' action and, for a trust
   * policy, each principal the deny names. Without it, no proof is made.
   */
  proof?: { action: string; principals?: readonly string[]; viaAwsServiceExemption: boolean; exemptions?: ProofOptions['exemptions'] };
  /**
   * The document that denies nothing, for a pause (break-glass): the placeholder where the tool owns the whole
   * document; `current` without the tool's statement where it owns one statement. Throws when it cannot be had.
   */
  lift(current: PolicyDocument | undefined): PolicyDocument;
}

/** A concrete action for the probes of a deny of every action (`Action: "*"`). */
export const ANY_ACTION_PROBE = 's3:ListAllMyBuckets';

/** The exemptions the conditions ask for, as the proof compares them with the document's. */
export function configuredExemptions(conditions: ConditionOptions): NonNullable<ProofOptions['exemptions']> {
  return { kmsViaService: conditions.kmsViaServiceExemption ?? false, vpcExemption: [...(conditions.vpcExemption ?? [])] };
}

/** The managed deny policy: the tool owns the whole document. */
export function managedPolicyShape(conditions: ConditionOptions = {}): PolicyShape {
  return {
    proof: { action: ANY_ACTION_PROBE, viaAwsServiceExemption: conditions.viaAwsServiceExemption ?? true, exemptions: configuredExemptions(conditions) },
    render: (entries) => renderDenyPolicy(entries, conditions),
    // A fresh copy each time: the constant is frozen in meaning, and callers may build on what they get.
    lift: () => parsePolicy(JSON.stringify(PLACEHOLDER_POLICY_DOCUMENT)),
    find: findAllowlistStatement,
    extract: (document) => {
      const index = findAllowlistStatement(document);
      return index === -1 ? undefined : sourceIpValues(document.Statement[index]);
    },
  };
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

/** The largest allowlist in force within the baseline window, which the removal guard also measures against. */
export interface Baseline {
  /** Its entries, canonical. */
  entries: readonly string[];
  /** The version (or store revision) that holds it. */
  versionId?: string;
  /** Since when it has been the baseline (ISO 8601), for messages. */
  since?: string;
}

/** Options of `plan`. */
export interface PlanOptions {
  guards?: Partial<Guards>;
  /** The target the plan is for (its key): part of the plan id, so a plan id (an approval, a saved plan) never applies to another target holding the same document. */
  subject?: string;
  /** Defaults to the managed deny policy with the `aws:ViaAWSService` exemption. */
  shape?: PolicyShape;
  /** The baseline in force (already chosen for the window); without one, removals are measured against the current document only. */
  baseline?: Baseline;
  /** The target's subset of what its sources give (`include` / `exclude`). */
  filters?: EntryFilters;
  /**
   * The allowlist in force before a pause (canonical): while the document is the lifted one, the removal and
   * addition guards (and the baseline) measure the restore against it, not against "nothing", so a list that
   * shrank or grew during the pause is refused like any other.
   */
  resumeFrom?: readonly string[];
}

/**
 * What the current document holds: nothing at all, the stack's placeholder, a document without any
 * `aws:SourceIp` statement, or an allowlist (under any operator). Only the first three are adoption: the
 * removal and addition guards measure against an allowlist, never against nothing.
 */
export type CurrentKind = 'absent' | 'placeholder' | 'no-allowlist' | 'allowlist' | 'unreadable';

/** What would happen: data only, nothing is done. */
export interface Plan {
  status: 'unchanged' | 'changes' | 'refused';
  /** Deterministic: the same current version and desired document give the same id. */
  planId: string;
  /** Canonical blocks of addresses that become allowed (the exact address-level difference). */
  added: string[];
  /** Canonical blocks of addresses that stop being allowed (the exact address-level difference). */
  removed: string[];
  /** Desired entries not in the current list (as people read a change: `+ 0.0.0.0/0`, one line). */
  addedEntries: string[];
  /** Current entries (canonical) not in the desired list. */
  removedEntries: string[];
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
  /** True when the current document holds no allowlist yet (absent, the placeholder, or no `aws:SourceIp` statement). */
  adoption: boolean;
  /** What the current document holds. */
  currentKind: CurrentKind;
  /** Statements of the current document the new one drops or changes (never the entries themselves). */
  statementChanges: StatementChange[];
  /** True when the current document already equals the rendered one (even if the plan is refused). */
  upToDate: boolean;
  refusals: Refusal[];
  /** The refusals' messages, for people. */
  reasons: string[];
  baseVersionId?: string;
  /** The baseline the removal guard measured against, when one was given. */
  baselineVersionId?: string;
  /** What the target's include / exclude filters left out of the sources' entries (when it has filters). */
  filtered?: FilteredEntry[];
}

function hash(parts: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function parseAll(values: readonly string[]): { cidrs: Cidr[]; canonical: string[]; unparsed: number } {
  const cidrs: Cidr[] = [];
  const canonical: string[] = [];
  let unparsed = 0;
  for (const value of values) {
    const parsed = parseEntry(value);
    if (parsed.ok) {
      cidrs.push(parsed.cidr);
      canonical.push(formatCidr(parsed.cidr));
    } else {
      unparsed++;
      canonical.push(value);
    }
  }
  return { cidrs, canonical, unparsed };
}

/** The statement carrying our Sid in a rendered document (the managed shape renders only that one). */
function ownStatement(document: PolicyDocument): Statement | undefined {
  return document.Statement.find((s) => s.Sid === ALLOWLIST_SID);
}

function kindOf(document: PolicyDocument | undefined, unreadable: boolean, index: number): CurrentKind {
  if (unreadable) return 'unreadable';
  if (!document) return 'absent';
  if (isPlaceholder(document)) return 'placeholder';
  return index === -1 ? 'no-allowlist' : 'allowlist';
}

/**
 * Computes what syncing `desired` into `current` means, and whether it is safe.
 * Pure: no I/O. The tool owns the whole document, so any difference from the rendered one is a change.
 */
export function plan(current: CurrentDocument, given: NormalizedEntries, options: PlanOptions = {}): Plan {
  const shape = options.shape ?? managedPolicyShape();
  const refusals: Refusal[] = [];
  // The target's subset of the sources' list: what it leaves out is named in the plan; leaving nothing is refused.
  const filtering = hasFilters(options.filters) ? applyFilters(given.cidrs, options.filters) : undefined;
  const desired = filtering ? { ...given, cidrs: filtering.kept } : given;
  if (filtering && given.cidrs.length > 0 && desired.cidrs.length === 0) {
    refusals.push({
      code: 'filtered-everything',
      approvable: false,
      message: `the target's include/exclude filters leave nothing of the ${given.cidrs.length} entries its sources give: fix the filters (or the sources)`,
    });
  }

  let currentDocument: PolicyDocument | undefined;
  let unreadable = false;
  if (current.document !== undefined) {
    try {
      currentDocument = parsePolicy(current.document);
    } catch (err) {
      unreadable = true;
      refusals.push({ code: 'unreadable-current', approvable: true, message: `the current policy cannot be read: ${(err as Error).message}` });
    }
  }
  const index = currentDocument ? shape.find(currentDocument) : -1;
  const currentKind = kindOf(currentDocument, unreadable, index);
  const currentEntries = currentDocument && index !== -1 ? (sourceIpValues(currentDocument.Statement[index]) ?? []) : undefined;
  const now = parseAll(currentEntries ?? []);

  const entries = desired.cidrs.map(formatCidr);
  const rendered = shape.render(entries, currentDocument);
  const document = serializePolicy(rendered);
  const documentSize = policySize(document);
  const adoption = currentKind === 'absent' || currentKind === 'placeholder' || currentKind === 'no-allowlist';

  // Statements: what a hand edit added or changed, and whether dropping them needs an approval.
  const expected = currentEntries !== undefined && currentDocument ? ownStatement(shape.render(currentEntries, currentDocument)) : undefined;
  const changes = currentDocument ? statementChanges(currentDocument, rendered, index, expected).filter((c) => !c.label.startsWith(`Sid "${PLACEHOLDER_SID}"`)) : [];
  const managed = currentDocument?.Statement.some((s) => s.Sid === ALLOWLIST_SID || s.Sid === PLACEHOLDER_SID) ?? false;

  const guards = effectiveGuards(options.guards, current.sizeLimit);
  const baseline = options.baseline ? parseAll(options.baseline.entries) : undefined;
  // After a pause the lifted document is no allowlist, yet the restore is measured like a change to the one before.
  const before = adoption && options.resumeFrom?.length ? parseAll(options.resumeFrom) : undefined;
  const measured = before ?? (adoption || unreadable ? undefined : now);
  refusals.push(
    ...guardRefusals({
      desired,
      current: measured ? { cidrs: measured.cidrs, unparsed: measured.unparsed } : undefined,
      baseline: baseline && measured ? { cidrs: baseline.cidrs, unparsed: baseline.unparsed, ...options.baseline } : undefined,
      size: documentSize,
      guards,
      foreign: managed ? [] : changes.filter((c) => c.change === 'removed'),
      ...(filtering ? { unfiltered: given.cidrs } : {}),
    }),
  );

  // The statement the tool writes must do what it promises (a failure is a bug, never approvable).
  const failure = entries.length > 0 ? proofFailure(rendered, entries, shape) : undefined;
  if (failure) refusals.push({ code: 'proof-failed', approvable: false, message: `the rendered policy fails its proof, so it is not written: ${failure} (a bug in allowlist-sync: report it with the plan)` });

  const same = currentDocument !== undefined && canonicalJson(currentDocument) === canonicalJson(rendered);
  const desiredSet = new Set(entries);
  const currentSet = new Set(now.canonical);
  const currentCanonical = currentDocument ? canonicalJson(currentDocument) : null;
  return {
    status: refusals.length > 0 ? 'refused' : same ? 'unchanged' : 'changes',
    planId: hash([current.versionId ?? null, currentCanonical ?? current.document ?? null, document, ...(options.subject !== undefined ? [options.subject] : [])]),
    added: subtract(desired.cidrs, now.cidrs).map(formatCidr),
    removed: subtract(now.cidrs, desired.cidrs).map(formatCidr),
    addedEntries: entries.filter((e) => !currentSet.has(e)),
    removedEntries: [...new Set(now.canonical)].filter((e) => !desiredSet.has(e)),
    entries,
    currentEntries: currentEntries ?? [],
    document,
    documentSize,
    sizeLimit: guards.sizeLimit,
    drift: currentDocument !== undefined && currentEntries !== undefined && canonicalJson(currentDocument) !== canonicalJson(shape.render(currentEntries, currentDocument)),
    adoption,
    currentKind,
    statementChanges: changes,
    upToDate: same,
    refusals,
    reasons: refusals.map((r) => r.message),
    ...(current.versionId !== undefined ? { baseVersionId: current.versionId } : {}),
    ...(options.baseline?.versionId !== undefined && !adoption ? { baselineVersionId: options.baseline.versionId } : {}),
    ...(filtering ? { filtered: filtering.filtered } : {}),
  };
}

/**
 * The proof of the tool's own statement in the rendered document (statements others wrote are theirs: a foreign
 * Deny is the customer's intent, and one the evaluator cannot read must not block the allowlist). Undefined when
 * it holds; else why not, naming the probe.
 */
function proofFailure(rendered: PolicyDocument, entries: readonly string[], shape: PolicyShape): string | undefined {
  if (!shape.proof) return undefined;
  const index = shape.find(rendered);
  if (index === -1) return 'the rendered document holds no allowlist statement';
  const own: PolicyDocument = { ...rendered, Statement: [rendered.Statement[index]] };
  const principals: readonly (string | undefined)[] = shape.proof.principals?.length ? shape.proof.principals : [undefined];
  for (const principal of principals) {
    const options: ProofOptions = { action: shape.proof.action, viaAwsServiceExemption: shape.proof.viaAwsServiceExemption, ...(shape.proof.exemptions ? { exemptions: shape.proof.exemptions } : {}), ...(principal ? { principal } : {}) };
    const failed = proveAllowlist(own, entries, options);
    if (failed) return `${failed.why}${principal ? ` (for ${principal})` : ''}`;
  }
  return undefined;
}

function effectiveGuards(overrides: Partial<Guards> | undefined, targetLimit: number | undefined): Guards {
  // An override left undefined (e.g. an unset setting passed through) keeps the default: spreading it
  // as-is would replace the default with undefined and silently switch that guard off.
  const set = Object.entries(overrides ?? {}).filter(([, value]) => value !== undefined);
  const configured: Guards = { ...DEFAULT_GUARDS, ...Object.fromEntries(set) };
  return targetLimit === undefined ? configured : { ...configured, sizeLimit: Math.min(configured.sizeLimit, targetLimit) };
}
