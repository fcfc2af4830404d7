import { Construct } from 'constructs';
import * as v from '../lambda/validate';

/**
 * The shapes a prop or target field may take, checked at runtime: TypeScript stops nothing once a JavaScript user,
 * a spread object or JSON from the command line is involved. One table per shape (PROP_SHAPES, the targets' FIELDS)
 * names each key's shape; the checks here say what was expected and what was given. CDK objects (IRole, ITopic,
 * IKey, Duration) are recognised by what they carry, not by `instanceof`, so a second copy of aws-cdk-lib in an
 * app that installed this library still passes.
 */

/** One shape: what it is called in a message, and whether a value has it. */
export interface Shape {
  /** How a message names it: "a list of strings". */
  readonly what: string;
  /** True when `value` has this shape. */
  readonly test: (value: unknown) => boolean;
}

const hasStrings = (value: unknown, ...keys: string[]): boolean =>
  typeof value === 'object' && value !== null && keys.every((k) => typeof (value as Record<string, unknown>)[k] === 'string');
const isString = (value: unknown): value is string => typeof value === 'string';

/** An IAM role from CDK (`iam.IRole`: a Role, or Role.fromRoleArn / fromRoleName). */
export const isRoleObject = (value: unknown): value is { roleName: string; roleArn: string } => hasStrings(value, 'roleName', 'roleArn');
/** An IAM user from CDK (`iam.IUser`). */
export const isUserObject = (value: unknown): value is { userName: string; userArn: string } => hasStrings(value, 'userName', 'userArn');
/** An IAM group from CDK (`iam.IGroup`). */
export const isGroupObject = (value: unknown): value is { groupName: string; groupArn: string } => hasStrings(value, 'groupName', 'groupArn');

const isDuration = (value: unknown): boolean => typeof (value as { toSeconds?: unknown } | null)?.toSeconds === 'function';
const list = (what: string, item: (value: unknown) => boolean): Shape => ({ what, test: (value) => Array.isArray(value) && value.every(item) });

/** Every shape a prop or field of this library takes. */
export const SHAPES = {
  string: { what: 'a string', test: isString },
  strings: list('a list of strings', isString),
  number: { what: 'a number', test: (value) => typeof value === 'number' },
  boolean: { what: 'a boolean', test: (value) => typeof value === 'boolean' },
  object: { what: 'an object', test: (value) => typeof value === 'object' && value !== null && !Array.isArray(value) },
  list: { what: 'a list', test: (value) => Array.isArray(value) },
  duration: { what: 'a Duration (e.g. Duration.minutes(15))', test: isDuration },
  schedule: { what: "a Duration or a 'rate(...)' / 'cron(...)' string", test: (value) => isString(value) || isDuration(value) },
  removalPolicy: { what: 'a RemovalPolicy', test: (value) => ['retain', 'destroy', 'snapshot', 'retain-on-update-or-delete'].includes(value as string) },
  retention: { what: 'a RetentionDays value', test: (value) => typeof value === 'number' },
  role: { what: 'a role name, role ARN or iam.IRole', test: (value) => isString(value) || isRoleObject(value) },
  roles: list('a list of role names, role ARNs or iam.IRole', (value) => isString(value) || isRoleObject(value)),
  users: list('a list of user names, user ARNs or iam.IUser', (value) => isString(value) || isUserObject(value)),
  groups: list('a list of group names, group ARNs or iam.IGroup', (value) => isString(value) || isGroupObject(value)),
  topic: { what: 'an sns.ITopic', test: (value) => hasStrings(value, 'topicArn', 'topicName') },
  key: { what: 'a kms.IKey', test: (value) => hasStrings(value, 'keyArn', 'keyId') },
} as const satisfies Record<string, Shape>;

/** The name of a shape in {@link SHAPES}. */
export type ShapeName = keyof typeof SHAPES;

/** A value as a message shows it: JSON, clipped; a construct by its path; never a circular-structure crash. */
export function show(value: unknown): string {
  if (Construct.isConstruct(value)) return `the construct ${value.node.path}`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  let text: string | undefined;
  if (Array.isArray(value) && value.some((item) => Construct.isConstruct(item))) text = `[${value.map(show).join(', ')}]`;
  try {
    text ??= JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Says what is wrong with one key and stops. */
export type KeyFail = (key: string, problem: string) => never;

/**
 * Checks an object against a table of shapes: an unknown key fails naming the closest known one (`what` says what
 * the keys are: "a prop of AllowlistSync"); a value of the wrong shape fails naming what was expected and given.
 * Unset (undefined) values pass: every key in these tables is optional or checked for presence elsewhere.
 */
export function checkShapes(value: Record<string, unknown>, shapes: Readonly<Record<string, ShapeName>>, what: string, fail: KeyFail): void {
  const known = Object.keys(shapes);
  for (const [key, given] of Object.entries(value)) {
    if (given === undefined) continue;
    const shape = Object.prototype.hasOwnProperty.call(shapes, key) ? SHAPES[shapes[key]] : undefined;
    if (!shape) fail(key, `${v.unknownField(key, known, what)}; given ${show(given)}`);
    else if (!shape.test(given)) fail(key, `expected ${shape.what}, got ${show(given)}`);
  }
}
