import type { PolicyDocument } from './policy';
import { canonicalJson } from './policy';

/** Sid of the placeholder statement: tools can tell "never synced yet" from a real allowlist by it. */
export const PLACEHOLDER_SID = 'AllowlistSyncPlaceholder';

/**
 * The document a managed policy is created with (by the stack, a StackSet, or a pause), before a sync publishes
 * a real version.
 *
 * It must never depend on props: CloudFormation only touches the policy's versions when this document changes,
 * so a constant here means no redeploy can ever overwrite the live allowlist. And it must deny nothing, because
 * it is attached to roles before the first sync has run: `Null: true` needs aws:PrincipalArn absent,
 * `StringLike: *` needs it present, and a condition block matches only when all its entries do, so the
 * statement can never apply.
 */
export const PLACEHOLDER_POLICY_DOCUMENT = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: PLACEHOLDER_SID,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        Null: { 'aws:PrincipalArn': 'true' },
        StringLike: { 'aws:PrincipalArn': '*' },
      },
    },
  ],
} as const;

const PLACEHOLDER_CANONICAL = canonicalJson(PLACEHOLDER_POLICY_DOCUMENT);

/** True when `document` is exactly the placeholder (in any key order): a policy nobody has synced yet, or a pause. */
export function isPlaceholder(document: PolicyDocument): boolean {
  return canonicalJson(document) === PLACEHOLDER_CANONICAL;
}
