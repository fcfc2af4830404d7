// The placeholder lives with the domain, which must recognise it (adoption, rollback, pause); the stack uses it from there.
export { PLACEHOLDER_POLICY_DOCUMENT, PLACEHOLDER_SID } from '../lambda/allowlist/placeholder';

/** Description of the created policy. Constant: CloudFormation replaces a policy whose description changes. */
export const POLICY_DESCRIPTION =
  'IP allowlist kept current by allowlist-sync. Only its sync function writes versions; do not edit by hand.';
