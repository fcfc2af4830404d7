import { Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as v from '../lambda/validate';
import type { PrincipalKind, PrincipalRef } from '../lambda/validate';
import { isGroupObject, isRoleObject, isUserObject, show } from './shapes';

// Roles, users and groups as props and target fields take them: names, ARNs, or CDK objects (IRole, IUser, IGroup),
// read into the one PrincipalRef the attachments, grants and the function's settings use.

const literal = (s: string) => !Token.isUnresolved(s);

/** A role, user or group as given: a name, an ARN (for one with an IAM path), or the CDK object. */
export type PrincipalInput = string | iam.IRole | iam.IUser | iam.IGroup;

const OBJECT_REF: Record<PrincipalKind, (value: unknown) => PrincipalRef | undefined> = {
  role: (value) => (isRoleObject(value) ? { name: value.roleName, arn: value.roleArn } : undefined),
  user: (value) => (isUserObject(value) ? { name: value.userName, arn: value.userArn } : undefined),
  group: (value) => (isGroupObject(value) ? { name: value.groupName, arn: value.groupArn } : undefined),
};

/**
 * Parses a role/user/group reference, passing tokens through as names. A CDK object gives its name and ARN (which
 * carries the path); a literal ARN of one is checked as a typed one would be (Role.fromRoleArn with a user's ARN).
 */
export function principalRef(kind: PrincipalKind, value: PrincipalInput): PrincipalRef | string {
  if (typeof value === 'string') return literal(value) ? v.parsePrincipal(kind, value) : { name: value };
  const ref = OBJECT_REF[kind](value);
  if (!ref) return `${show(value)} is not an IAM ${kind}`;
  if (!literal(ref.arn as string)) return ref;
  const parsed = v.parsePrincipal(kind, ref.arn as string);
  return typeof parsed === 'string' ? parsed : { name: literal(ref.name) ? ref.name : parsed.name, arn: ref.arn };
}

/** What the function is told about a principal: the name or ARN given, or a CDK object's ARN (it carries the path). */
export function principalText(kind: PrincipalKind, value: PrincipalInput): string {
  if (typeof value === 'string') return value;
  return OBJECT_REF[kind](value)?.arn ?? String(value);
}

/** True for an iam.Role defined in this app (its AWS::IAM::Role resource is in a template), not an imported one. */
export function isCreatedRole(value: unknown): boolean {
  const child = (value as { node?: { defaultChild?: { cfnResourceType?: unknown } } } | undefined)?.node?.defaultChild;
  return isRoleObject(value) && child?.cfnResourceType === 'AWS::IAM::Role';
}

/** A role's name for messages and one-writer keys: literal when it is known at synthesis, else undefined. */
export function literalRoleName(value: PrincipalInput | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ref = principalRef('role', value);
  return typeof ref === 'object' && literal(ref.name) ? ref.name : undefined;
}
