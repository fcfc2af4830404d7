import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AllowlistSync, AllowlistSyncPropsError } from '../../lib/allowlist-sync';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { PROP_SHAPES } from '../../lib/check-props';
import { ContextError, parseContext } from '../../lib/context';
import { show } from '../../lib/shapes';
import { FULL, KEY_ARN, TARGETS, TOPIC_ARN } from './fixtures';

// The construct's props and its targets, checked at runtime: what TypeScript would refuse still fails when it
// arrives from JavaScript, a spread object or JSON, with the key, the closest valid key and the value named.

const HERE = 'AllowlistSync S/Sync';
/** The message the construct throws for these props (built in a fresh stack "S", id "Sync"). */
const messageOf = (props: unknown, extra?: (stack: Stack) => Record<string, unknown>): string => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
  const all = extra ? { ...(props as object), ...extra(stack) } : props;
  try {
    new AllowlistSync(stack, 'Sync', all as AllowlistSyncProps);
  } catch (err) {
    if (err instanceof AllowlistSyncPropsError) return err.message;
    throw err;
  }
  throw new Error('expected an AllowlistSyncPropsError, nothing was thrown');
};

describe('an unknown prop fails naming the closest one', () => {
  test.each([
    ['attachToRole', ['ManagedOpenShift-Support-Role'], 'attachToRoles', '["ManagedOpenShift-Support-Role"]'],
    ['notifyEmail', 'sre@example.com', 'notifyEmails', '"sre@example.com"'],
    ['dryrun', true, 'dryRun', 'true'],
    ['alertTopicARN', TOPIC_ARN, 'alertTopicArn', JSON.stringify(TOPIC_ARN)],
    ['additionalTarget', [], 'additionalTargets', '[]'],
  ])('%s', (prop, value, meant, shown) => {
    expect(messageOf({ [prop]: value })).toBe(`${HERE}: invalid ${prop}: is not a prop of AllowlistSync (did you mean ${meant}?); given ${shown}`);
  });

  test('a spread object carrying a foreign key fails too', () => {
    const fromElsewhere = { ...FULL, stackName: 'Rosa' };
    expect(messageOf(fromElsewhere)).toMatch(new RegExp(`^${HERE}: invalid stackName: is not a prop of AllowlistSync \\(known: allowlistName, existingPolicyArn, `));
  });

  test('undefined values are unset, whatever their key (a spread of optional fields)', () => {
    expect(() => messageOf({ allowlistName: undefined })).toThrow('nothing was thrown');
  });

  test('props that are not an object', () => {
    expect(messageOf('rosa')).toBe(`${HERE}: invalid props: expected an object of AllowlistSyncProps, got "rosa"`);
    expect(messageOf(['rosa'])).toBe(`${HERE}: invalid props: expected an object of AllowlistSyncProps, got ["rosa"]`);
  });

  test('every documented prop has a shape, and the fixtures only use known props', () => {
    for (const key of Object.keys(FULL)) expect(Object.keys(PROP_SHAPES)).toContain(key);
  });
});

describe('a prop of the wrong shape names the prop, what it takes and what it got', () => {
  test.each([
    [{ attachToRoles: 'ManagedOpenShift-Support-Role' }, 'attachToRoles', 'a list of role names, role ARNs or iam.IRole', '"ManagedOpenShift-Support-Role"'],
    [{ attachToUsers: [42] }, 'attachToUsers', 'a list of user names, user ARNs or iam.IUser', '[42]'],
    [{ notifyEmails: 'sre@example.com' }, 'notifyEmails', 'a list of strings', '"sre@example.com"'],
    [{ memorySize: '512' }, 'memorySize', 'a number', '"512"'],
    [{ dryRun: 'false' }, 'dryRun', 'a boolean', '"false"'],
    [{ timeout: 60 }, 'timeout', 'a Duration (e.g. Duration.minutes(15))', '60'],
    [{ schedule: 15 }, 'schedule', "a Duration or a 'rate(...)' / 'cron(...)' string", '15'],
    [{ policyRemovalPolicy: 'keep' }, 'policyRemovalPolicy', 'a RemovalPolicy', '"keep"'],
    [{ alertTopic: TOPIC_ARN }, 'alertTopic', 'an sns.ITopic', JSON.stringify(TOPIC_ARN)],
    [{ stateTableKey: KEY_ARN }, 'stateTableKey', 'a kms.IKey', JSON.stringify(KEY_ARN)],
    [{ additionalTargets: TARGETS[0] }, 'additionalTargets', 'a list', undefined],
  ])('%j', (props, prop, what, shown) => {
    const expected = `${HERE}: invalid ${prop}: expected ${what}, got ${shown ?? show(TARGETS[0])}`;
    expect(messageOf(props)).toBe(expected);
  });

  test('a CDK object of the wrong kind is named by its construct path', () => {
    expect(messageOf({}, (stack) => ({ attachToUsers: [iam.Role.fromRoleName(stack, 'Ops', 'ops')] }))).toBe(
      `${HERE}: invalid attachToUsers: expected a list of user names, user ARNs or iam.IUser, got [the construct S/Ops]`,
    );
    expect(messageOf({}, (stack) => ({ alertTopic: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }))).toBe(
      `${HERE}: invalid alertTopic: expected an sns.ITopic, got the construct S/K`,
    );
  });

  test('two props that say the same thing', () => {
    expect(messageOf({ alertTopicArn: TOPIC_ARN }, (stack) => ({ alertTopic: sns.Topic.fromTopicArn(stack, 'T', TOPIC_ARN) }))).toBe(
      `${HERE}: invalid alertTopic: and alertTopicArn say the same thing; set one of them`,
    );
    expect(messageOf({ ocmCredentialsKeyArn: KEY_ARN }, (stack) => ({ ocmCredentialsKey: kms.Key.fromKeyArn(stack, 'K', KEY_ARN) }))).toBe(
      `${HERE}: invalid ocmCredentialsKey: and ocmCredentialsKeyArn say the same thing; set one of them`,
    );
  });

  test('a key given by an alias ARN is refused: an IAM grant on an alias ARN never matches the key', () => {
    const alias = 'arn:aws:kms:eu-west-1:123456789012:alias/allowlist';
    expect(messageOf({}, (stack) => ({ stateTableKey: kms.Key.fromKeyArn(stack, 'K', alias) }))).toBe(
      `${HERE}: invalid stateTableKey: "${alias}" is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/ID; an alias will not do in an IAM policy)`,
    );
  });

  test('a topic that names its own key, and another key beside it', () => {
    const message = messageOf({}, (stack) => ({
      alertTopic: sns.Topic.fromTopicAttributes(stack, 'T', { topicArn: TOPIC_ARN, keyArn: KEY_ARN }),
      alertTopicKey: new kms.Key(stack, 'Other'),
    }));
    expect(message).toBe(`${HERE}: invalid alertTopicKey: alertTopic already names its key (${JSON.stringify(KEY_ARN)}); leave alertTopicKey unset`);
  });

  test('Durations pass as Durations (the shape check does not refuse what works)', () => {
    expect(() => messageOf({ timeout: Duration.seconds(90), maxEventAge: Duration.minutes(5), schedule: Duration.minutes(30) })).toThrow('nothing was thrown');
  });
});

describe('unknown fields in targets fail, naming the target, the closest field and the value', () => {
  const ci = TARGETS.find((t) => t.name === 'ci') as object;
  const vpn = TARGETS.find((t) => t.kind === 'trust-policy') as { name: string };

  test.each([
    [{ attachToRole: ['ci-runner'] }, 'attachToRole: is not a target field (did you mean attachToRoles?); given ["ci-runner"]'],
    [{ dryrun: true }, 'dryrun: is not a target field (did you mean dryRun?); given true'],
    [{ guards: { minEntrie: 2 } }, 'guards.minEntrie: is not a guard (did you mean minEntries?); given 2'],
    [{ conditions: { vpcExemptions: ['vpc-0123456789abcdef0'] } }, 'conditions.vpcExemptions: is not a condition option (did you mean vpcExemption?); given ["vpc-0123456789abcdef0"]'],
    [{ cidrs: '203.0.113.0/24' }, 'cidrs: expected a list of strings, got "203.0.113.0/24"'],
    [{ ocm: 'yes' }, 'ocm: expected a boolean, got "yes"'],
  ])('construct prop: %j', (extra, problem) => {
    expect(messageOf({ additionalTargets: [{ ...ci, ...extra }] })).toBe(`${HERE}: invalid additionalTargets[0] ("ci").${problem}`);
  });

  test('the second target is named by index and name', () => {
    expect(messageOf({ additionalTargets: [ci, { ...vpn, principal: ['x'] }] })).toBe(
      `${HERE}: invalid additionalTargets[1] ("${vpn.name}").principal: is not a target field (did you mean principals?); given ["x"]`,
    );
  });

  test('from context: -c targets=JSON', () => {
    const parse = (targets: unknown) => {
      try {
        parseContext((key) => (key === 'targets' ? JSON.stringify(targets) : undefined));
      } catch (err) {
        if (err instanceof ContextError) return err.message;
        throw err;
      }
      throw new Error('expected a ContextError');
    };
    expect(parse([{ ...vpn, rolename: 'BreakGlass' }])).toBe(
      `Invalid context "targets": [0] ("${vpn.name}").rolename: is not a target field (did you mean roleName?); given "BreakGlass"`,
    );
    expect(parse([ci, { ...ci, name: 'ci2', attachToUsers: 'ci-bot' }])).toBe(
      'Invalid context "targets": [1] ("ci2").attachToUsers: expected a list of user names, user ARNs or iam.IUser, got "ci-bot"',
    );
  });
});
