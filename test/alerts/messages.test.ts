import { AlertContext, AlertEvent, AlertOutcome, BODY_MAX, SUBJECT_MAX, renderAlert, renderAnnouncement } from '../../lambda/alerts/messages';
import { announcementFor } from '../../lambda/outbox';
import { SyncError } from '../../lambda/errors';
import { ARN, emptyRefusedResult, refusedResult, unchangedResult, updatedResult } from './results';

const context: AlertContext = { allowlist: 'rosa-trusted-ips', policyArn: ARN, functionName: 'allowlist-sync-fn' };

const announced = (result = updatedResult(), extra: { approved?: boolean; notes?: string[] } = {}) => ({
  ...announcementFor(result.plan, { writer: 'function:allowlist-sync-fn/req-1', at: new Date('2024-05-01T03:00:00Z'), approved: extra.approved ?? false, notes: extra.notes ?? [] }),
  versionId: 'v4',
});

describe('updated', () => {
  test('subject counts the change; body lists entries with their addresses, versions, ARN, writer and the exact rollback command', () => {
    const message = renderAnnouncement(context, announced());

    expect(message.event).toBe('updated');
    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips updated (+2 -1)');
    expect(message.body).toContain('  + 18.222.33.44/32 (1 address)');
    expect(message.body).toContain('  + 2600:1f18:24d7:1000::/56 (2^72 addresses)');
    expect(message.body).toContain('  - 3.132.100.80/28 (16 addresses)');
    expect(message.body).toContain('v3 -> v4');
    expect(message.body).toContain('Writer:   function:allowlist-sync-fn/req-1');
    expect(message.body).toContain(ARN);
    expect(message.body).toContain(`node bin/allowlist-sync.js rollback --target iam:${ARN} --to v3`);
    expect(message.body).not.toContain('npx allowlist-sync');
  });

  test('an approved update says so', () => {
    const message = renderAnnouncement(context, announced({ ...refusedResult(), status: 'updated' }, { approved: true }));
    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips updated (+0 -3, approved)');
    expect(message.body).toContain('applied by approval');
  });

  test('a late one says who wrote it, when, and what is in force now; another writer is in the subject', () => {
    const message = renderAnnouncement(context, announced(updatedResult(), { notes: ['another writer: version v4 of x, created by someone else between v3 and v5'] }), { late: { inForce: 'v5', written: true } });
    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips updated (+2 -1, another writer, late)');
    expect(message.body).toContain('Announced late: the run that wrote it (function:allowlist-sync-fn/req-1, 2024-05-01T03:00:00.000Z) ended before it could announce it');
    expect(message.body).toContain('In force now: v5.');
    expect(message.body).toContain('  ! another writer: version v4');
  });

  test('a huge list says "and N more" and the body stays bounded', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `${Math.floor(i / 250) + 30}.${i % 250}.0.0/24`);
    const message = renderAnnouncement(context, announced({ ...updatedResult(), plan: { ...updatedResult().plan, addedEntries: many, entries: many } }));
    expect(message.body).toContain('Added (1000):');
    expect(message.body).toContain('  ... and 800 more');
    expect(message.body.length).toBeLessThan(BODY_MAX);
  });
});

describe('refused', () => {
  test('approvable: reasons, plan id, would-be changes, and both exact approval commands', () => {
    const result = refusedResult();
    const { planId } = result.plan;
    const message = renderAlert('refused', context, { result });

    expect(message.subject).toBe(`allowlist-sync: rosa-trusted-ips REFUSED (plan ${planId})`);
    expect(message.body).toContain('Nothing was written');
    expect(message.body).toMatch(/! 3 of 4 current entries would be removed/);
    expect(message.body).toContain('  - 3.132.100.80/28 (16 addresses)');
    expect(message.body).toContain(
      `aws lambda invoke --function-name allowlist-sync-fn --cli-binary-format raw-in-base64-out --payload '{"approve":"${planId}"}' /dev/stdout`,
    );
    expect(message.body).toContain(`node bin/allowlist-sync.js apply --source ocm --target iam:${ARN} --approve ${planId}`);
  });

  test('without a function name only the CLI form is given, with the configured sources', () => {
    const result = refusedResult();
    const message = renderAlert('refused', { ...context, functionName: undefined, cliSources: ['ocm', 'static:20.0.0.0/8'] }, { result });

    expect(message.body).not.toContain('aws lambda invoke');
    expect(message.body).toContain(`node bin/allowlist-sync.js apply --source ocm --source static:20.0.0.0/8 --target iam:${ARN} --approve ${result.plan.planId}`);
  });

  test('a source with shell-special characters is quoted in the command', () => {
    const message = renderAlert('refused', { ...context, cliSources: ["file:/tmp/it's list.txt"] }, { result: refusedResult() });
    expect(message.body).toContain(`--source 'file:/tmp/it'\\''s list.txt' --target`);
  });

  test('not approvable: says so and offers no approval command', () => {
    const message = renderAlert('refused', context, { result: emptyRefusedResult() });

    expect(message.body).toContain('cannot be approved (empty)');
    expect(message.body).not.toContain('--approve');
    expect(message.body).not.toContain('aws lambda invoke');
  });
});

describe('failed', () => {
  test('the message once, the hint as what to do, the code in the subject; no stack', () => {
    const error = new SyncError(
      'ocm-auth-invalid-grant',
      'Red Hat SSO refused the OCM credential (invalid_grant).',
      'Renew the offline token in the SSM parameter /allowlist-sync/ocm-token.',
    );
    const message = renderAlert('failed', context, { error });

    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (ocm-auth-invalid-grant)');
    expect(message.body).toContain('Red Hat SSO refused the OCM credential (invalid_grant).');
    expect(message.body).toContain('What to do:\n  Renew the offline token in the SSM parameter /allowlist-sync/ocm-token.');
    expect(message.body.split('Renew the offline token')).toHaveLength(2);
    expect(message.body).not.toMatch(/\n\s+at /);
  });

  test('a plain Error or a thrown non-Error still renders, without its stack', () => {
    const typeError = renderAlert('failed', context, { error: new TypeError('x is undefined') });
    expect(typeError.subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (TypeError)');
    expect(typeError.body).not.toContain('.ts:');

    const thrown = renderAlert('failed', context, { error: 'boom' });
    expect(thrown.subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (unexpected-error)');
    expect(thrown.body).toContain('boom');
  });
});

describe('recovered', () => {
  test('says what it recovered from and that the run succeeded', () => {
    const message = renderAlert('recovered', context, { result: unchangedResult() }, { status: 'failed', key: 'ocm-unavailable:0123456789ab', at: '2024-05-01T03:00:00.000Z' });

    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips recovered');
    expect(message.body).toContain('succeeded again');
    expect(message.body).toContain('failure (ocm-unavailable:0123456789ab) since 2024-05-01T03:00:00.000Z');
  });
});

describe('subjects', () => {
  const events: [AlertEvent, AlertOutcome][] = [
    ['updated', { result: updatedResult() }],
    ['refused', { result: refusedResult() }],
    ['failed', { error: new SyncError('x'.repeat(300), 'long code') }],
    ['recovered', { result: unchangedResult() }],
  ];

  test.each(events)('%s: at most 99 characters, ASCII, one line, for any name', (event, outcome) => {
    for (const allowlist of ['', 'a', 'r'.repeat(80), 'n'.repeat(300), 'liste-autorisée\nwith\r\nbreaks\tand\u0000nul 🚀'.repeat(5)]) {
      const { subject } = renderAlert(event, { ...context, allowlist }, outcome);
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
      expect(subject.length).toBeLessThanOrEqual(100);
      expect(subject).toMatch(/^allowlist-sync: [\x20-\x7E]*$/);
    }
  });

  test('a long name is shortened, the event detail kept', () => {
    const result = refusedResult();
    const { subject } = renderAlert('refused', { ...context, allowlist: 'n'.repeat(300) }, { result });
    expect(subject).toMatch(new RegExp(`^allowlist-sync: n+\\.\\.\\. REFUSED \\(plan ${result.plan.planId}\\)$`));
    expect(subject).toHaveLength(SUBJECT_MAX);
  });
});
