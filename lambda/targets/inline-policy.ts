import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { policySize } from '../allowlist/policy';
import { SyncError, describeError } from '../errors';
import type { Log } from '../ports';
import { isAwsError, isIamQuotaError } from './iam-client';
import { listAll } from './paginate';
import { decodePolicyDocument } from '../allowlist/policy';
import { concurrentRoleWriter, roleFailure, writeWithoutRead } from './role';
import { sameDocument } from './trust-policy';
import { CurrentPolicy, Target, TargetRefusedError, WriteRequest, WriteResult } from '../ports';

/** IAM's limit for all inline policies of a role together, in characters not counting whitespace. */
export const ROLE_INLINE_POLICIES_SIZE_LIMIT = 10240;

/** Options of `inlinePolicyTarget`. */
export interface InlinePolicyTargetOptions {
  log?: Log;
}

/**
 * An inline policy of a role as an allowlist target: the tool owns the whole document (use the managed deny
 * shape), creating the policy when the role has none of that name. Its size budget is what the role's other
 * inline policies leave of IAM's 10,240. The role's tags (alert state) come from `roleTagAlertStateStore`.
 *
 * Like a trust policy it has no versions and no conditional write: the write re-reads the document first and
 * refuses when it is no longer the one the plan was based on, returns the document it replaces (the sync keeps
 * it in the state store's history), and reads it back after the write to report another writer.
 */
export function inlinePolicyTarget(iam: IAMClient, roleName: string, policyName: string, options: InlinePolicyTargetOptions = {}): Target {
  const name = `iam-inline:${roleName}/${policyName}`;
  const log = options.log;
  /** What the last read found (decoded; undefined document: no such policy yet), or undefined before any read. */
  let basedOn: { document: string | undefined } | undefined;
  /** The budget the last read computed, and what the other inline policies use, for the refusal message. */
  let budget: { room: number; others: Record<string, number> } | undefined;

  async function policyNames(): Promise<string[]> {
    try {
      return await listAll('iam:ListRolePolicies', (Marker) => iam.send(new ListRolePoliciesCommand({ RoleName: roleName, Marker })), (page) => page.PolicyNames);
    } catch (err) {
      throw roleFailure(err, 'iam:ListRolePolicies', roleName);
    }
  }

  /** The document of one inline policy as IAM gives it (URL-encoded), or undefined when there is none of that name. */
  async function policyDocument(policy: string): Promise<string | undefined> {
    try {
      const document = (await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policy }))).PolicyDocument;
      if (document === undefined) throw new SyncError('iam-error', `IAM returned no document for inline policy ${policy} of role ${roleName} (iam:GetRolePolicy).`);
      return document;
    } catch (err) {
      // Also what IAM says for a missing role; reads list the policies first, which tells that case apart.
      if (isAwsError(err, 'NoSuchEntity')) return undefined;
      throw roleFailure(err, 'iam:GetRolePolicy', roleName);
    }
  }

  return {
    name,
    key: `inline:${roleName.toLowerCase()}/${policyName}`,
    versioned: false,

    async read(): Promise<CurrentPolicy> {
      // Listing first: a missing role fails here as role-not-found, and a missing policy needs no GetRolePolicy.
      const names = await policyNames();
      const document = names.includes(policyName) ? await policyDocument(policyName) : undefined;
      const others: Record<string, number> = {};
      for (const other of names.filter((n) => n !== policyName)) {
        const text = await policyDocument(other);
        // One deleted meanwhile takes no room.
        if (text !== undefined) others[other] = policySize(decodePolicyDocument(text));
      }
      const used = Object.values(others).reduce((sum, size) => sum + size, 0);
      budget = { room: ROLE_INLINE_POLICIES_SIZE_LIMIT - used, others };
      basedOn = { document: document === undefined ? undefined : decodePolicyDocument(document) };
      // Returned as IAM gave it (URL-encoded); the plan decodes it. No version id: an inline policy has none.
      return { ...(document !== undefined ? { document } : {}), sizeLimit: budget.room };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      if (basedOn === undefined || budget === undefined) throw writeWithoutRead(name);
      const size = policySize(request.document);
      if (size > budget.room) {
        const others = Object.entries(budget.others).map(([n, s]) => `${n} (${s})`).join(', ');
        throw new TargetRefusedError(
          `the inline policy ${policyName} would be ${size} characters, but role ${roleName} has room for ${budget.room} of IAM's ${ROLE_INLINE_POLICIES_SIZE_LIMIT}: its other inline policies use the rest${others ? `: ${others}` : ''}`,
        );
      }
      const now = await policyDocument(policyName);
      const previous = now === undefined ? undefined : decodePolicyDocument(now);
      if (previous !== basedOn.document) {
        const change = basedOn.document === undefined ? 'was created' : previous === undefined ? 'was deleted' : 'has changed';
        throw concurrentRoleWriter(`Plan ${request.planId} was computed against inline policy ${policyName} of role ${roleName}, which ${change} since it was read.`);
      }
      if (previous !== undefined) {
        log?.info('replacing an inline policy of a role', {
          target: name,
          roleName,
          policyName,
          planId: request.planId,
          previousDocument: previous,
        });
      }
      try {
        await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: request.document }));
      } catch (err) {
        const message = describeError(err);
        // "Maximum policy size of 10240 bytes exceeded for role X": another inline policy grew meanwhile.
        if (isIamQuotaError(err)) throw new TargetRefusedError(`IAM refused inline policy ${policyName} of role ${roleName} as too large: ${message}`);
        if (isAwsError(err, 'MalformedPolicyDocument')) {
          throw new SyncError('iam-malformed', `IAM rejected the document of inline policy ${policyName} for role ${roleName}: ${message}.`, 'Nothing was written. This is a bug in the rendered document; report it with the plan.', {
            cause: err,
          });
        }
        if (isAwsError(err, 'UnmodifiableEntity')) {
          throw new SyncError('role-unmodifiable', `IAM does not allow changing the inline policies of role ${roleName}: ${message}.`, 'Service-linked roles cannot carry an allowlist; choose another role.', { cause: err });
        }
        if (isAwsError(err, 'AccessDenied', 'NoSuchEntity', 'InvalidInput', 'Throttling', 'ExpiredToken', 'InvalidClientTokenId')) throw roleFailure(err, 'iam:PutRolePolicy', roleName);
        throw roleFailure(err, 'iam:PutRolePolicy', roleName).withChanges([`iam:PutRolePolicy on role ${roleName} failed midway: it may have been applied; the next run reads what is in force and announces it if so`]);
      }
      basedOn = { document: decodePolicyDocument(request.document) };
      const after = await policyDocument(policyName);
      const otherWriters = after !== undefined && sameDocument(decodePolicyDocument(after), request.document) ? [] : [`inline policy ${policyName} of role ${roleName} read back different from what was just written: another writer`];
      return { ...(previous !== undefined ? { previousDocument: previous } : {}), ...(otherWriters.length ? { otherWriters } : {}) };
    },
  };
}
