import { AlertContext, AlertMessage, SUBJECT_MAX, renderAlert, renderAnnouncement, renderDetached } from '../../lambda/alerts/messages';
import { renderPaused, renderResumed } from '../../lambda/alerts/pause-messages';
import { pausePlan } from '../../lambda/allowlist/pause';
import { managedPolicyShape, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { SyncError } from '../../lambda/errors';
import { announcementFor } from '../../lambda/outbox';
import type { Announcement, ResumeRecord } from '../../lambda/ports';
import { ARN, refusedResult, unchangedResult, updatedResult } from './results';

const single: AlertContext = { allowlist: 'rosa-trusted-ips', policyArn: ARN, functionName: 'allowlist-sync-fn' };
const multi: AlertContext = { ...single, eventTarget: 'rosa-trusted-ips', cliTarget: `iam:${ARN}` };
const offline: AlertContext = { allowlist: 'rosa-trusted-ips', policyArn: ARN };

function pauseAnnouncement(reason: string, by = 'ana@example.com'): Announcement {
  const p = pausePlan({ document: serializePolicy(renderDenyPolicy(['192.0.2.0/24', '198.51.100.7/32'])), versionId: 'v3' }, managedPolicyShape());
  return { ...announcementFor(p, { writer: 'function:allowlist-sync-fn/req-1', at: new Date('2024-05-01T03:00:00Z'), approved: false, notes: [] }), versionId: 'v4', pause: { by, reason } };
}

const RESUMED: ResumeRecord = { by: 'bob', at: '2024-05-01T04:00:00Z', pause: { by: 'ana', reason: 'SRE locked out', at: '2024-05-01T03:00:00Z' } };

/** Every alert the tool can send, for one context. */
function everyAlert(context: AlertContext): AlertMessage[] {
  const updated = { ...announcementFor(updatedResult().plan, { writer: 'w', at: new Date(), approved: false, notes: [] }), versionId: 'v4' };
  return [
    renderAnnouncement(context, updated),
    renderAnnouncement(context, { ...updated, restored: { pausedBy: 'ana', pausedAt: 't1', reason: 'r', resumedBy: 'bob', resumedAt: 't2' } }),
    renderAlert('refused', context, { result: refusedResult() }),
    renderAlert('failed', context, { error: new SyncError('iam-error', 'IAM said no.', 'Look at the role.') }),
    renderAlert('recovered', context, { result: unchangedResult() }, { status: 'failed', key: 'iam-error:abc', at: 't' }),
    renderPaused(context, pauseAnnouncement('SRE locked out')),
    renderPaused(context, pauseAnnouncement('SRE locked out'), { late: { inForce: 'v4', written: true } }),
    renderResumed(context, RESUMED, { restoreNow: true }),
    renderResumed(context, RESUMED, { restoreNow: false }),
    renderDetached(context, [{ principal: 'role/ManagedOpenShift-Support-Role', outcome: 'reattached' }]),
  ];
}

describe('paused and resumed alerts', () => {
  test('paused names who and why, says the IP restriction is lifted (never "empty"), and how to resume from anywhere', () => {
    const message = renderPaused(single, pauseAnnouncement('Red Hat SRE locked out (INC-1)'));

    expect(message.event).toBe('paused');
    expect(message.subject).toBe('allowlist-sync: rosa-trusted-ips PAUSED by ana@example.com, IP restriction lifted');
    expect(message.body).toContain('the IP restriction is lifted');
    expect(message.body).toContain('By:       ana@example.com (function:allowlist-sync-fn/req-1)');
    expect(message.body).toContain('Why:      Red Hat SRE locked out (INC-1)');
    expect(message.body).toContain('Version:  v3 -> v4, a document that denies nothing');
    expect(message.body).toContain('Lifted:   2 entries were in force');
    expect(message.body).toContain(`aws lambda invoke --function-name allowlist-sync-fn --cli-binary-format raw-in-base64-out --payload '{"action":"resume","by":"<your name>"}' /dev/stdout`);
    expect(message.body).toContain(`node bin/allowlist-sync.js resume --target iam:${ARN}`);
    expect(message.body).not.toMatch(/empty/i);
  });

  test('a reason is one line of ASCII in the alert, clipped; the subject stays within SNS\'s limit', () => {
    const hostile = `line one\nSubject: forged\r\n\u0007${'z'.repeat(600)}`;
    const message = renderPaused(single, pauseAnnouncement(hostile, `mallory\n${'m'.repeat(300)}`));

    const why = message.body.split('\n').find((l) => l.startsWith('Why:')) ?? '';
    expect(why).toMatch(/^Why: {6}line one Subject: forged \?z+\.\.\.$/);
    expect(why.length).toBeLessThanOrEqual(10 + 300);
    expect(message.body.split('\n').some((l) => l.startsWith('Subject:'))).toBe(false);
    expect(message.subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
    expect(message.subject).toMatch(/^[\x20-\x7E]+$/);
  });

  test('resumed says who ended which pause, and that the restore goes through the guards', () => {
    const now = renderResumed(multi, RESUMED, { restoreNow: true });
    expect(now.event).toBe('resumed');
    expect(now.subject).toBe('allowlist-sync: rosa-trusted-ips resumed by bob');
    expect(now.body).toContain('Paused:   by ana at 2024-05-01T03:00:00Z: SRE locked out');
    expect(now.body).toContain('A sync runs now and restores the allowlist through the usual plan and guards');
    expect(now.body).toContain(`--payload '{"action":"pause","target":"rosa-trusted-ips","reason":"<why>","by":"<your name>"}'`);
    expect(renderResumed(multi, RESUMED, { restoreNow: false }).body).toContain('The next scheduled run restores the allowlist');
  });
});

describe('every command an alert prints works from anywhere', () => {
  test.each([
    ['one target', single],
    ['several targets', multi],
    ['no function known (the CLI)', offline],
  ])('%s: never a bare npx allowlist-sync; every invoke payload is JSON naming its target when there are several', (_name, context) => {
    const messages = everyAlert(context);
    const commands = messages.flatMap((m) => m.body.split('\n')).filter((l) => /aws lambda invoke|allowlist-sync\.js|npx/.test(l));
    expect(commands.length).toBeGreaterThan(5);
    for (const message of messages) {
      // npx would fetch whatever someone publishes under the unclaimed name: only with a guard that forbids it.
      expect(message.body).not.toMatch(/\bnpx\b(?![^\n]*--no-install)[^\n]*allowlist-sync/);
    }
    const invokes = commands.filter((l) => l.includes('aws lambda invoke'));
    if (!context.functionName) expect(invokes).toEqual([]);
    for (const line of invokes) {
      expect(line).toContain(`--function-name ${context.functionName}`);
      const payload = /--payload '([^']*)'/.exec(line)?.[1];
      expect(payload).toBeDefined();
      const event = JSON.parse(payload as string) as Record<string, unknown>;
      if (context.eventTarget) expect(event.target).toBe(context.eventTarget);
      else expect(event).not.toHaveProperty('target');
    }
    const actions = invokes.map((l) => JSON.parse(/--payload '([^']*)'/.exec(l)?.[1] ?? '{}') as Record<string, unknown>).map((e) => (e.approve ? 'approve' : e.action));
    if (context.functionName) expect(new Set(actions)).toEqual(new Set(['approve', 'pause', 'resume']));
  });
});
