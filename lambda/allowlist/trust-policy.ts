import { PolicyShape, configuredExemptions } from './plan';
import { ALLOWLIST_SID, ConditionOptions, PolicyDocument, Statement, renderCondition, sourceIpValues } from './policy';

/** IAM's default quota for a role's trust policy, in characters not counting whitespace (ACLSizePerRole; raisable). */
export const TRUST_POLICY_SIZE_LIMIT = 2048;

/** The one action a trust policy's allowlist statement denies. */
export const ASSUME_ROLE_ACTION = 'sts:AssumeRole';

const DEFAULT_VERSION = '2012-10-17';

/**
 * Finds allowlist-sync's statement in a trust policy: by its own Sid only. Returns its index, or -1.
 *
 * Never by shape: a security team's own "Deny sts:AssumeRole to the contractor unless from these IPs" looks just
 * like ours, and taking it over would rewrite it for other principals and let the contractor in from anywhere.
 * Without our Sid, ours is added beside every other statement, which stay byte-identical.
 */
export function findTrustAllowlistStatement(document: PolicyDocument): number {
  return document.Statement.findIndex((s) => s.Sid === ALLOWLIST_SID);
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
    proof: { action: ASSUME_ROLE_ACTION, principals: names, viaAwsServiceExemption: conditions.viaAwsServiceExemption ?? true, exemptions: configuredExemptions(conditions) },
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
    find: findTrustAllowlistStatement,
    lift(current) {
      // Only our statement goes: every other one stays as it is, in its place (the Allows saying who may assume the role).
      if (!current) throw new Error('a trust policy cannot be lifted without reading it first');
      const statements = current.Statement.filter((_, i) => i !== findTrustAllowlistStatement(current));
      if (statements.length === 0) {
        throw new Error("the trust policy holds only allowlist-sync's statement; without it the policy would be empty, which IAM refuses (and nobody may assume the role anyway)");
      }
      return { ...current, Statement: statements };
    },
    extract(document) {
      const index = findTrustAllowlistStatement(document);
      return index === -1 ? undefined : sourceIpValues(document.Statement[index]);
    },
  };
}
