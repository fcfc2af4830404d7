import { GetRoleCommand, IAMClient, Role, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { canonicalJson, policySize } from '../allowlist/policy';
import { TRUST_POLICY_SIZE_LIMIT } from '../allowlist/trust-policy';
import { SyncError, describeError } from '../errors';
import type { Log } from '../ports';
import { isAwsError, isIamQuotaError } from './iam-client';
import { decodePolicyDocument } from '../allowlist/policy';
import { concurrentRoleWriter, roleFailure, writeWithoutRead } from './role';
import { CurrentPolicy, Target, TargetRefusedError, WriteRequest, WriteResult } from '../ports';

/** True when two documents say the same (IAM may reformat what it stores). */
export function sameDocument(a: string, b: string): boolean {
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return a === b;
  }
}

/** Options of `trustPolicyTarget`. */
export interface TrustPolicyTargetOptions {
  /** The account's quota for a trust policy, when raised above IAM's default 2,048 (Service Quotas: "Role trust policy length"). */
  sizeLimit?: number;
  log?: Log;
}

/**
 * A role's trust policy as an allowlist target: reads it with GetRole, writes it with UpdateAssumeRolePolicy.
 * Use it with `trustPolicyShape`, which keeps every statement but the allowlist's as it is.
 *
 * A trust policy has no versions: the write replaces it and returns the previous document, which the sync keeps
 * in the state store's history (for rollback). Nor can IAM write it conditionally, so the write re-reads the
 * document first and refuses when it is no longer the one the plan was based on, and reads it again after the
 * write: a document other than ours there means another writer, reported, never silently overwritten again.
 */
export function trustPolicyTarget(iam: IAMClient, roleName: string, options: TrustPolicyTargetOptions = {}): Target {
  const name = `iam-trust:${roleName}`;
  const sizeLimit = options.sizeLimit ?? TRUST_POLICY_SIZE_LIMIT;
  const log = options.log;
  /** The decoded document the last read returned: what the plan about to be written was based on. */
  let basedOn: string | undefined;

  async function getRole(): Promise<Role> {
    let role: Role | undefined;
    try {
      role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
    } catch (err) {
      throw roleFailure(err, 'iam:GetRole', roleName);
    }
    if (!role) throw new SyncError('iam-error', `IAM returned nothing for role ${roleName} (iam:GetRole).`);
    return role;
  }

  function trustDocument(role: Role): string {
    if (role.AssumeRolePolicyDocument === undefined) {
      throw new SyncError('iam-error', `IAM returned no trust policy for role ${roleName} (iam:GetRole).`, 'Look at the role in the console; the next run tries again.');
    }
    return role.AssumeRolePolicyDocument;
  }

  return {
    name,
    key: `trust:${roleName.toLowerCase()}`,
    versioned: false,

    async read(): Promise<CurrentPolicy> {
      const role = await getRole();
      const document = trustDocument(role);
      basedOn = decodePolicyDocument(document);
      // Returned as IAM gave it (URL-encoded); the plan decodes it. No version id: a trust policy has none.
      return { document, sizeLimit };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      const size = policySize(request.document);
      if (size > sizeLimit) {
        throw new TargetRefusedError(`the trust policy of role ${roleName} would be ${size} characters, over its limit of ${sizeLimit}`);
      }
      if (basedOn === undefined) throw writeWithoutRead(name);
      const previous = decodePolicyDocument(trustDocument(await getRole()));
      if (previous !== basedOn) {
        throw concurrentRoleWriter(`Plan ${request.planId} was computed against a trust policy of role ${roleName} that has changed since it was read.`);
      }
      log?.info('replacing the trust policy of a role', {
        target: name,
        roleName,
        planId: request.planId,
        previousDocument: previous,
      });
      try {
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: request.document }));
      } catch (err) {
        const message = describeError(err);
        // "Cannot exceed quota for ACLSizePerRole: 2048": the account's quota is lower than configured.
        if (isIamQuotaError(err)) throw new TargetRefusedError(`IAM refused the trust policy of role ${roleName} as too large: ${message}`);
        if (isAwsError(err, 'MalformedPolicyDocument')) {
          throw new SyncError(
            'iam-malformed',
            `IAM rejected the trust policy document for role ${roleName}: ${message}.`,
            'Nothing was written. "Invalid principal" means a configured principal does not exist (IAM checks them on every write): fix "principals". Anything else is a bug in the rendered document; report it with the plan.',
            { cause: err },
          );
        }
        if (isAwsError(err, 'UnmodifiableEntity')) {
          throw new SyncError('role-unmodifiable', `IAM does not allow changing the trust policy of role ${roleName}: ${message}.`, 'Service-linked roles cannot carry an allowlist; choose another role.', { cause: err });
        }
        if (isAwsError(err, 'AccessDenied', 'NoSuchEntity', 'InvalidInput', 'Throttling', 'ExpiredToken', 'InvalidClientTokenId')) throw roleFailure(err, 'iam:UpdateAssumeRolePolicy', roleName);
        throw roleFailure(err, 'iam:UpdateAssumeRolePolicy', roleName).withChanges([`iam:UpdateAssumeRolePolicy on role ${roleName} failed midway: it may have been applied; the next run reads what is in force and announces it if so`]);
      }
      basedOn = decodePolicyDocument(request.document);
      const after = decodePolicyDocument(trustDocument(await getRole()));
      const otherWriters = sameDocument(after, request.document) ? [] : [`the trust policy of role ${roleName} read back different from what was just written: another writer`];
      return { previousDocument: previous, ...(otherWriters.length ? { otherWriters } : {}) };
    },
  };
}
