import { AttachGroupPolicyCommand, AttachRolePolicyCommand, AttachUserPolicyCommand, IAMClient, ListEntitiesForPolicyCommand } from '@aws-sdk/client-iam';
import type { AttachOutcome, AttachedPrincipal, AttachmentOps } from '../ports';
import { iamFailure, isAwsError } from './iam-client';
import { listAll } from './paginate';

// The attachments of a managed policy, as IAM has them, and attaching it again: the adapter half of keeping a
// policy attached where it must be (lambda/attachments.ts decides).


/** Every role, user and group the policy is attached to (ListEntitiesForPolicy, all pages). */
export async function policyEntities(iam: IAMClient, policyArn: string): Promise<AttachedPrincipal[]> {
  try {
    const pages = await listAll(
      'iam:ListEntitiesForPolicy',
      (Marker) => iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, Marker })),
      (page) => [
        ...(page.PolicyRoles ?? []).map((r) => ({ kind: 'role' as const, name: r.RoleName ?? '' })),
        ...(page.PolicyUsers ?? []).map((u) => ({ kind: 'user' as const, name: u.UserName ?? '' })),
        ...(page.PolicyGroups ?? []).map((g) => ({ kind: 'group' as const, name: g.GroupName ?? '' })),
      ],
    );
    return pages.filter((p) => p.name !== '');
  } catch (err) {
    throw iamFailure(err, 'iam:ListEntitiesForPolicy', policyArn);
  }
}


/** Attaches the policy to one principal again. */
export async function attachPolicy(iam: IAMClient, principal: AttachedPrincipal, policyArn: string): Promise<AttachOutcome> {
  const action = { role: 'iam:AttachRolePolicy', user: 'iam:AttachUserPolicy', group: 'iam:AttachGroupPolicy' }[principal.kind];
  try {
    if (principal.kind === 'role') await iam.send(new AttachRolePolicyCommand({ RoleName: principal.name, PolicyArn: policyArn }));
    else if (principal.kind === 'user') await iam.send(new AttachUserPolicyCommand({ UserName: principal.name, PolicyArn: policyArn }));
    else await iam.send(new AttachGroupPolicyCommand({ GroupName: principal.name, PolicyArn: policyArn }));
    return { ok: true };
  } catch (err) {
    // The policy exists (the sync just read it): NoSuchEntity here is the principal.
    if (isAwsError(err, 'NoSuchEntity')) return { ok: false, gone: true };
    return { ok: false, gone: false, error: iamFailure(err, action, `${principal.kind} ${principal.name}`) };
  }
}

/** The attachment port of one managed policy (`iam` may be a fleet account's client, assumed on first use). */
export function attachmentOps(iam: () => IAMClient | Promise<IAMClient>, policyArn: string): AttachmentOps {
  return { list: async () => policyEntities(await iam(), policyArn), attach: async (principal) => attachPolicy(await iam(), principal, policyArn) };
}
