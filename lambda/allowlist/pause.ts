import { createHash } from 'node:crypto';
import { formatCidr, parseEntry } from './cidr';
import { DEFAULT_GUARDS } from './guards';
import { isPlaceholder } from './placeholder';
import type { CurrentDocument, CurrentKind, Plan, PolicyShape } from './plan';
import { PolicyDocument, canonicalJson, parsePolicy, policySize, serializePolicy } from './policy';

// A pause (break-glass) as a plan: the document that denies nothing for the target's shape, in place of the one in
// force. It is written like any plan (lease, outbox, history), never judged by the guards: lifting the deny is the
// point, and the operator asked for it by name. Pure.

/** Longest pause reason kept; a longer one is refused (alerts clip it further). */
export const PAUSE_REASON_MAX = 500;
/** Longest `by` kept. */
export const PAUSE_BY_MAX = 200;

/** What is wrong with a pause's reason or author, or undefined when both are fine. */
/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function pauseInputProblem(input: { reason?: unknown; by?: unknown }, options: { reasonRequired: boolean }): string | undefined {
  const { reason, by } = input;
  if (reason !== undefined || options.reasonRequired) {
    if (typeof reason !== 'string' || reason.trim() === '') return `"reason" must say why the IP restriction is lifted (non-empty text), got ${JSON.stringify(reason) ?? 'nothing'}`;
    if (reason.length > PAUSE_REASON_MAX) return `"reason" must be at most ${PAUSE_REASON_MAX} characters, got ${reason.length}`;
    if (CONTROL.test(reason)) return '"reason" must be one line of text: control characters (new lines, escape sequences) are refused, they could forge lines in alerts and terminals';
  }
  if (by !== undefined) {
    if (typeof by !== 'string' || by.trim() === '') return `"by" must name who acts (non-empty text), got ${JSON.stringify(by)}`;
    if (by.length > PAUSE_BY_MAX) return `"by" must be at most ${PAUSE_BY_MAX} characters, got ${by.length}`;
    if (CONTROL.test(by)) return '"by" must be one line of text: control characters (new lines, escape sequences) are refused, they could forge lines in alerts and terminals';
  }
  return undefined;
}

function kindOf(document: PolicyDocument | undefined, unreadable: boolean, shape: PolicyShape): CurrentKind {
  if (unreadable) return 'unreadable';
  if (!document) return 'absent';
  if (isPlaceholder(document)) return 'placeholder';
  return shape.find(document) === -1 ? 'no-allowlist' : 'allowlist';
}

/**
 * The plan of pausing: `document` denies nothing (the placeholder, or a trust policy without the tool's statement,
 * every other statement as it was); `removedEntries` is the allowlist it lifts. `upToDate` when the document in
 * force already is that one, or there is none. Throws an Error saying why when the shape cannot lift this document.
 */
export function pausePlan(current: CurrentDocument, shape: PolicyShape): Plan {
  let document: PolicyDocument | undefined;
  let unreadable = false;
  if (current.document !== undefined) {
    try {
      document = parsePolicy(current.document);
    } catch (err) {
      unreadable = true;
      // A shape that keeps other statements cannot lift what it cannot read; the placeholder needs nothing of it.
      document = undefined;
      if (shapeNeedsDocument(shape)) throw new Error(`the document in force cannot be read (${(err as Error).message}), so its own statement cannot be taken out`);
    }
  }
  const lifted = shape.lift(document);
  const text = serializePolicy(lifted);
  const values = document ? (shape.extract(document) ?? []) : [];
  const canonical = [...new Set(values.map((v) => canonicalOf(v)))];
  // No document at all (an inline policy not created yet) denies nothing either: nothing to write.
  const upToDate = current.document === undefined || (document !== undefined && canonicalJson(document) === canonicalJson(lifted));
  const currentCanonical = document ? canonicalJson(document) : (current.document ?? null);
  return {
    status: upToDate ? 'unchanged' : 'changes',
    planId: createHash('sha256').update(JSON.stringify(['pause', current.versionId ?? null, currentCanonical, text])).digest('hex').slice(0, 16),
    added: [],
    removed: canonical.filter((e) => parseEntry(e).ok),
    addedEntries: [],
    removedEntries: canonical,
    entries: [],
    currentEntries: values,
    document: text,
    documentSize: policySize(text),
    sizeLimit: current.sizeLimit ?? DEFAULT_GUARDS.sizeLimit,
    drift: false,
    adoption: false,
    currentKind: kindOf(document, unreadable, shape),
    statementChanges: [],
    upToDate,
    refusals: [],
    reasons: [],
    ...(current.versionId !== undefined ? { baseVersionId: current.versionId } : {}),
  };
}

/** True when the document in force denies nothing the tool wrote: what a pause leaves (or a target never synced). */
export function isLifted(current: CurrentDocument, shape: PolicyShape): boolean {
  try {
    return pausePlan(current, shape).upToDate;
  } catch {
    return false;
  }
}

function canonicalOf(value: string): string {
  const parsed = parseEntry(value);
  return parsed.ok ? formatCidr(parsed.cidr) : value;
}

/** Whether the shape lifts by editing the current document (a trust policy) rather than replacing it. */
function shapeNeedsDocument(shape: PolicyShape): boolean {
  try {
    shape.lift(undefined);
    return false;
  } catch {
    return true;
  }
}
