import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { AllowlistSyncStack } from '../../lib/allowlist-sync-stack';
import { ADOPTED, FULL } from './fixtures';
import { acknowledgements, synth } from './support';

// cdk-nag v3 AwsSolutions pack: zero unacknowledged findings, and every acknowledgement explained.
const configs = [
  ['defaults', synth()],
  ['every prop set', synth(FULL)],
  ['adopted policy, existing topic, cron', synth(ADOPTED)],
  ['a fleet (management account)', synth({ fleet: { organizationalUnitIds: ['ou-abcd-12345678'] } })],
  ['a fleet (delegated administrator, management account unnamed)', synth({ ...FULL, fleet: { organizationalUnitIds: ['r-abcd'], callAs: 'DELEGATED_ADMIN' } })],
  ['a fleet (delegated administrator, management account and organization named)', synth({ fleet: { organizationalUnitIds: ['r-abcd'], callAs: 'DELEGATED_ADMIN', managementAccountId: '111111111111', organizationId: 'o-abcdef1234' } })],
] as const;

/** Findings including acknowledged ones: the pack with its acknowledgement lookup switched off. */
function allFindings(scope: IConstruct) {
  const pack = new AwsSolutionsChecks();
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(scope).violations;
}

describe.each(configs)('AwsSolutions on %s', (_name, s) => {
  test('no unacknowledged finding', () => {
    const violations = new AwsSolutionsChecks().validateScope(s.stack).violations;
    expect(violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  test('every acknowledgement carries a reason', () => {
    const acks = acknowledgements(s.stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(typeof ack.reason).toBe('string');
      expect((ack.reason as string).trim().length).toBeGreaterThan(40);
    }
  });

  test('every acknowledgement answers a real finding (none stale)', () => {
    const findings = allFindings(s.stack);
    for (const ack of acknowledgements(s.stack)) {
      const matched = findings.some(
        (f) => f.ruleName === ack.id && f.violatingResources.some((r) => r.constructPath === ack.path || (r.constructPath ?? '').startsWith(`${ack.path}/`)),
      );
      expect(`${ack.id} at ${ack.path}: ${matched ? 'matches a finding' : 'stale'}`).toBe(`${ack.id} at ${ack.path}: matches a finding`);
    }
  });
});

describe('wired as in bin/app.ts (Validations plugin)', () => {
  test('our stack synthesizes with the plugin registered', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new AllowlistSyncStack(app, 'AllowlistSync', { sync: FULL });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('an unacknowledged finding fails synthesis', () => {
    const app = new App();
    new Queue(new Stack(app, 'Bad'), 'NoSslNoDlq');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
