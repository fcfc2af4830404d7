import { PolicyShape } from './plan';
import { ALLOWLIST_SID, ConditionOptions, JsonValue, PolicyDocument, Statement, renderCondition, sourceIpsOf } from './policy';

/** IAM's default quota for a role's trust policy, in characters not counting whitespace (ACLSizePerRole; raisable). */
export const TRUST_POLICY_SIZE_LIMIT = 2048;

/** The one action a trust policy's allowlist statement denies. */
export const ASSUME_ROLE_ACTION = 'sts:AssumeRole';

const DEFAULT_VERSION = '2012-10-17';

function actionsOf(value: JsonValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** IAM action names are case-insensitive. */
function deniesAssumeRole(statement: Statement): boolean {
  return statement.Effect === 'Deny' && actionsOf(statement.Action).some((a) => a.toLowerCase() === ASSUME_ROLE_ACTION.toLowerCase());
}

/**
 * Finds the allowlist statement of a trust policy: ours by Sid, or else (when adopting a hand-made one) the
 * first Deny of `sts:AssumeRole` with a `NotIpAddress aws:SourceIp` condition. Returns its index, or -1.
 * Allow statements never qualify: they are whoever may assume the role, and are never ours to touch.
 */
export function findTrustAllowlistStatement(document: PolicyDocument): number {
  const bySid = document.Statement.findIndex((s) => s.Sid === ALLOWLIST_SID);
  if (bySid !== -1) return bySid;
  return document.Statement.findIndex((s) => deniesAssumeRole(s) && sourceIpsOf(s) !== undefined);
}

/** Our statement: these principals may assume the role only from the entries. */
export function renderTrustStatement(principals: readonly string[], entries: readonly string[], conditions: ConditionOptions = {}): Statement {
  return {
    Sid: ALLOWLIST_SID,
    Effect: 'Deny',
    Principal: { AWS: principals.length === 1 ? principals[0] : [...principals] },
    Action: ASSUME_ROLE_ACTION,
    Condition: renderCondition(entries, conditions),
  };
}

/**
 * A role's trust policy: the tool owns one Deny statement in it and nothing else. Every other statement (the
 * Allows saying who may assume the role, other Denies) is kept exactly as it is, in the same place.
 *
 * `conditions` keep their meaning from the managed policy, and the `aws:ViaAWSService` exemption stays on by
 * default for a reason specific to AssumeRole: when an AWS service assumes the role with a principal's
 * credentials on its behalf (role chaining through a service, forward access sessions), the request's source
 * address is the service's, not the principal's, so without the exemption the deny would break those flows
 * for listed principals working from a trusted address. Turn it off only to deny such service-made
 * assumptions too.
 */
export function trustPolicyShape(principals: readonly string[], conditions: ConditionOptions = {}): PolicyShape {
  if (principals.length === 0) {
    // A Deny without a principal is malformed in a trust policy; one with "*" would be a different policy.
    throw new Error('a trust policy allowlist needs at least one principal the deny applies to');
  }
  const names = [...principals];
  return {
    render(entries, current) {
      const ours = renderTrustStatement(names, entries, conditions);
      // Without a document there is nothing to preserve; a role always has one, so this is for plans only.
      if (!current) return { Version: DEFAULT_VERSION, Statement: [ours] };
      const statements = [...current.Statement];
      const index = findTrustAllowlistStatement(current);
      if (index === -1) statements.push(ours);
      else statements[index] = ours;
      return { Version: current.Version ?? DEFAULT_VERSION, ...current, Statement: statements };
    },
    extract(document) {
      const index = findTrustAllowlistStatement(document);
      return index === -1 ? undefined : sourceIpsOf(document.Statement[index]);
    },
  };
}
