import type { JsonValue, PolicyDocument, Statement } from './policy';
import { ALLOWLIST_SID, asObject, canonicalJson, stringsOf } from './policy';

/** The index of the statement carrying allowlist-sync's own Sid, or -1. */
export function ownStatementIndex(document: PolicyDocument): number {
  return document.Statement.findIndex((s) => s.Sid === ALLOWLIST_SID);
}

function list(value: JsonValue | undefined, max: number): string {
  const values = stringsOf(value);
  if (values.length === 0) return JSON.stringify(value ?? null);
  const shown = values.slice(0, max).join(',');
  return values.length > max ? `${shown},... (${values.length} in all)` : shown;
}

/**
 * A statement as people recognise it: its Sid when it has one, else its effect and actions, e.g.
 * `Sid "BreakGlass" (Allow *)` or `Deny s3:* (no Sid)`. Bounded, one line.
 */
export function statementLabel(statement: Statement): string {
  const effect = typeof statement.Effect === 'string' ? statement.Effect : '?';
  const actions = statement.Action !== undefined ? list(statement.Action, 3) : statement.NotAction !== undefined ? `NotAction ${list(statement.NotAction, 3)}` : 'no action';
  const what = `${effect} ${actions}`.slice(0, 120);
  if (typeof statement.Sid === 'string' && statement.Sid !== '') return `Sid ${JSON.stringify(statement.Sid.slice(0, 100))} (${what})`;
  return `${what} (no Sid)`;
}

/** How one statement of the current document fares in the new one. */
export interface StatementChange {
  change: 'removed' | 'changed' | 'added' | 'adopted';
  /** `Sid "X" (Allow *)` or `Deny s3:* (no Sid)`. */
  label: string;
  /** True for an `Allow`: on a deny policy attached to roles, a hand-added Allow is an attack. */
  allow: boolean;
  /** What changed, for `changed`: e.g. the allowlist statement's operator or effect was edited. */
  detail?: string;
}

/**
 * The statements of `current` that `next` drops or changes, in document order. `allowlistIndex` is the statement
 * of `current` that holds the allowlist and `expected` what it would be if only its entries had been re-rendered:
 * it is `changed` when it differs from that (a hand edit to the tool's statement) or `adopted` (a hand-made
 * allowlist statement taken over), never `removed`, because the new document carries its replacement. Every other statement is kept only if `next` holds it unchanged.
 */
export function statementChanges(current: PolicyDocument, next: PolicyDocument, allowlistIndex: number, expected: Statement | undefined): StatementChange[] {
  const kept = new Map<string, number>();
  for (const s of next.Statement) kept.set(canonicalJson(s), (kept.get(canonicalJson(s)) ?? 0) + 1);
  const changes: StatementChange[] = [];
  current.Statement.forEach((statement, index) => {
    const key = canonicalJson(statement);
    const allow = typeof statement.Effect === 'string' && statement.Effect.toLowerCase() === 'allow';
    if (index === allowlistIndex) {
      if (expected && key !== canonicalJson(expected)) {
        // A hand-made allowlist statement taken over is adopted; ours edited by hand is changed (and restored).
        const change = statement.Sid === ALLOWLIST_SID ? 'changed' : 'adopted';
        changes.push({ change, label: statementLabel(statement), allow, detail: describeDifference(statement, expected) });
      }
      return;
    }
    const left = kept.get(key) ?? 0;
    if (left > 0) {
      kept.set(key, left - 1);
      return;
    }
    changes.push({ change: 'removed', label: statementLabel(statement), allow });
  });
  return changes;
}

/** Which top-level fields of a statement differ from what it should be, e.g. `Effect Allow (expected Deny)`. */
function describeDifference(actual: Statement, expected: Statement): string {
  const fields = [...new Set([...Object.keys(actual), ...Object.keys(expected)])];
  const parts: string[] = [];
  for (const field of fields) {
    if (canonicalJson(actual[field] ?? null) === canonicalJson(expected[field] ?? null)) continue;
    if (field === 'Condition') {
      const a = asObject(actual.Condition) ?? {};
      const e = asObject(expected.Condition) ?? {};
      const operators = [...new Set([...Object.keys(a), ...Object.keys(e)])].filter((op) => canonicalJson(a[op] ?? null) !== canonicalJson(e[op] ?? null));
      // Entries are compared elsewhere; only say which operators were added, dropped or edited.
      const names = operators.map((op) => (op in a ? (op in e ? op : `${op} (not ours)`) : `${op} (missing)`));
      if (names.length > 0) parts.push(`Condition ${names.join(', ')}`.slice(0, 160));
    } else {
      parts.push(`${field} ${JSON.stringify(actual[field] ?? null).slice(0, 60)}${field in expected ? ` (expected ${JSON.stringify(expected[field]).slice(0, 60)})` : ''}`);
    }
  }
  return parts.join('; ') || 'edited';
}
