import { normalize } from './cidr';
import { isPlaceholder } from './placeholder';
import { CurrentDocument, Plan, PlanOptions, managedPolicyShape, plan } from './plan';
import { ALLOWLIST_SID, PolicyDocument, canonicalJson, parsePolicy, policySize, serializePolicy, sourceIpValues } from './policy';
import { StatementChange, statementLabel } from './statements';

// Rollback never restores what the sync would refuse: the whole document of the version restored is judged,
// not only its entries. Pure.

/** Entries guards that speak of "the allowlist" and mean nothing for a document without one. */
const ENTRY_GUARDS = new Set(['empty', 'min-entries', 'mass-removal', 'mass-addition', 'too-broad', 'catch-all', 'never-seen', 'invalid-entries']);

/** The document to restore, by its version (`v3`) or store revision (`r4`). */
export interface Restored {
  id: string;
  document: string;
}

/**
 * The plan of making `restored` the document in force again. Refused (approvable, so `--force` may override)
 * when it is the stack's placeholder (it denies nothing), holds no allowlist statement, or carries statements
 * other than the tool's own that the current document does not; refused like a sync (approvable or not) when
 * its entries fail the guards. `document` is the restored document itself, and `statementChanges` lists what it
 * brings back (`added`) or holds edited (`changed`).
 */
export function judgeRollback(current: CurrentDocument, restored: Restored, options: PlanOptions = {}): Plan {
  const shape = options.shape ?? managedPolicyShape();
  let document: PolicyDocument;
  try {
    document = parsePolicy(restored.document);
  } catch (err) {
    const p = plan(current, normalize([]), options);
    const refusal = { code: 'unreadable-restored', approvable: false, message: `${restored.id} cannot be read: ${(err as Error).message}` };
    return { ...p, status: 'refused', refusals: [refusal], reasons: [refusal.message] };
  }
  const index = shape.find(document);
  const entries = index === -1 ? [] : (sourceIpValues(document.Statement[index]) ?? []);
  const source = `version ${restored.id}`;
  const p = plan(current, normalize(entries.map((value) => ({ value, source }))), options);
  const currentDocument = current.document === undefined ? undefined : safeParse(current.document);
  const currentKeys = new Set((currentDocument?.Statement ?? []).map((s) => canonicalJson(s)));

  let refusals = p.refusals.filter((r) => r.code !== 'foreign-statements');
  const changes: StatementChange[] = [];
  const allow = (s: PolicyDocument['Statement'][number]): boolean => typeof s.Effect === 'string' && s.Effect.toLowerCase() === 'allow';
  if (isPlaceholder(document)) {
    refusals = refusals.filter((r) => !ENTRY_GUARDS.has(r.code));
    refusals.push({
      code: 'placeholder',
      approvable: true,
      message: `${restored.id} is the stack's placeholder: it denies nothing, so restoring it lifts the IP restriction entirely (a pause, not an allowlist)`,
    });
  } else {
    if (index === -1) {
      refusals = refusals.filter((r) => !ENTRY_GUARDS.has(r.code));
      refusals.push({ code: 'no-allowlist', approvable: true, message: `${restored.id} holds no aws:SourceIp statement: restoring it lifts the IP restriction entirely` });
    } else {
      const ours = document.Statement[index];
      const expected = shape.render(entries, document).Statement.find((s) => s.Sid === ALLOWLIST_SID);
      if (ours.Sid !== ALLOWLIST_SID || !expected || canonicalJson(ours) !== canonicalJson(expected)) {
        changes.push({ change: 'changed', label: statementLabel(ours), allow: allow(ours), detail: 'not as allowlist-sync writes its statement' });
      }
    }
    document.Statement.forEach((statement, i) => {
      if (i === index || currentKeys.has(canonicalJson(statement))) return;
      changes.push({ change: 'added', label: statementLabel(statement), allow: allow(statement) });
    });
    if (changes.length > 0) {
      const names = changes.map((c) => `${c.allow ? 'an ALLOW statement, ' : ''}${c.label}${c.change === 'changed' ? ' (edited)' : ''}`);
      refusals.push({
        code: 'foreign-statements',
        approvable: true,
        message: `${restored.id} holds ${names.length} statement${names.length === 1 ? '' : 's'} allowlist-sync did not write and the current document does not have: ${names.join('; ')}; restoring it brings ${names.length === 1 ? 'it' : 'them'} back`,
      });
    }
  }
  const text = serializePolicy(document);
  const upToDate = currentDocument !== undefined && canonicalJson(currentDocument) === canonicalJson(document);
  return {
    ...p,
    status: refusals.length > 0 ? 'refused' : upToDate ? 'unchanged' : 'changes',
    document: text,
    documentSize: policySize(text),
    statementChanges: changes,
    upToDate,
    refusals,
    reasons: refusals.map((r) => r.message),
  };
}

function safeParse(text: string): PolicyDocument | undefined {
  try {
    return parsePolicy(text);
  } catch {
    return undefined;
  }
}
