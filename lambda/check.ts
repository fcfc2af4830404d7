import { ANY_ACTION_PROBE, Decision, PolicyShape, RequestContext, compileDenyPolicy, parsePolicy, parseSourceAddress } from './allowlist';

// `allowlist-sync check ADDRESS... --target T`: would a request from these addresses be denied by the document in
// force? The same evaluator that proves every plan, on the whole document (every statement, not only the tool's).

/** One address (and, for a trust policy, one principal): the decision, and the statement that made it. */
export interface CheckResult {
  address: string;
  principal?: string;
  viaAwsService: boolean;
  /** `denied`, `not denied`, or `unknown` (a statement the evaluator cannot read). */
  outcome: 'denied' | 'not denied' | 'unknown';
  /** The statement that denies (or cannot be read): its Sid, or its position. */
  statement?: string;
  reason?: string;
}

/** A malformed address: what is wrong with it, for the usage error. */
export function addressProblem(text: string): string | undefined {
  try {
    parseSourceAddress(text);
    return undefined;
  } catch (err) {
    return `"${text}" is not an IP address (${err instanceof Error ? err.message : String(err)})`;
  }
}

function statementLabel(decision: Exclude<Decision, { denied: false }>): string {
  return decision.sid ? `"${decision.sid}"` : `#${decision.statement + 1}`;
}

/**
 * The decision for each address (and each principal the shape's deny names). No document in force: nothing is
 * denied by it, and each result says so.
 */
export function checkAddresses(document: string | undefined, addresses: readonly string[], shape: PolicyShape, options: { viaAwsService: boolean }): CheckResult[] {
  const evaluator = document === undefined ? undefined : compileDenyPolicy(parsePolicy(document));
  const action = shape.proof?.action ?? ANY_ACTION_PROBE;
  const principals: readonly (string | undefined)[] = shape.proof?.principals?.length ? shape.proof.principals : [undefined];
  const results: CheckResult[] = [];
  for (const address of addresses) {
    for (const principal of principals) {
      const base = { address, ...(principal ? { principal } : {}), viaAwsService: options.viaAwsService };
      if (!evaluator) {
        results.push({ ...base, outcome: 'not denied', reason: 'there is no document in force' });
        continue;
      }
      const request: RequestContext = { action, sourceIp: address, viaAwsService: options.viaAwsService, ...(principal ? { principal } : {}) };
      const decision = evaluator.evaluate(request);
      if (decision.denied === false) results.push({ ...base, outcome: 'not denied' });
      else if (decision.denied === true) results.push({ ...base, outcome: 'denied', statement: statementLabel(decision) });
      else results.push({ ...base, outcome: 'unknown', statement: statementLabel(decision), reason: decision.reason });
    }
  }
  return results;
}

/** One line per result: `203.0.113.5: denied by statement "AllowlistSyncDenyOutsideTrustedIps"`. */
export function checkText(results: readonly CheckResult[]): string {
  return results
    .map((r) => {
      const who = `${r.address}${r.principal ? ` as ${r.principal}` : ''}${r.viaAwsService ? ' (via an AWS service)' : ''}`;
      if (r.outcome === 'denied') return `${who}: denied by statement ${r.statement}`;
      if (r.outcome === 'unknown') return `${who}: cannot tell: statement ${r.statement} uses ${r.reason}`;
      return `${who}: not denied${r.reason ? ` (${r.reason})` : ''}`;
    })
    .join('\n');
}

/** 3 when any request is denied, 1 when one cannot be told (and none is denied), else 0. */
export function checkExitCode(results: readonly CheckResult[]): number {
  if (results.some((r) => r.outcome === 'denied')) return 3;
  if (results.some((r) => r.outcome === 'unknown')) return 1;
  return 0;
}
