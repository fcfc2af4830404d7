import { ALLOWLIST_SID, PLACEHOLDER_POLICY_DOCUMENT, isPlaceholder, managedPolicyShape, normalize, parsePolicy, plan, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';
import { isLifted, pauseInputProblem, pausePlan } from '../../lambda/allowlist/pause';
import { trustPolicyShape } from '../../lambda/allowlist/trust-policy';

const ENTRIES = ['192.0.2.0/24', '198.51.100.7/32', '2001:db8::/48'];
const ROOT = 'arn:aws:iam::123456789012:root';
const ALLOW = { Sid: 'Admins', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'sts:AssumeRole' };
const entries = (list: readonly string[]) => normalize(list.map((value) => ({ value, source: 'test' })));

describe('pausePlan', () => {
  test('a managed policy: the placeholder in place of the allowlist, which it lists as lifted', () => {
    const current = { document: encodeURIComponent(serializePolicy(renderDenyPolicy(ENTRIES))), versionId: 'v3' };
    const p = pausePlan(current, managedPolicyShape());
    expect(isPlaceholder(parsePolicy(p.document))).toBe(true);
    expect(p).toMatchObject({ status: 'changes', upToDate: false, removedEntries: ENTRIES, entries: [], addedEntries: [], refusals: [], baseVersionId: 'v3', currentKind: 'allowlist' });
    expect(p.planId).toMatch(/^[0-9a-f]{16}$/);
    expect(pausePlan(current, managedPolicyShape()).planId).toBe(p.planId);
    // The pause's id is never a sync's: a saved plan or an approval of one cannot be replayed as the other.
    expect(p.planId).not.toBe(plan(current, entries(ENTRIES)).planId);
    expect(isLifted({ document: p.document }, managedPolicyShape())).toBe(true);
    expect(isLifted(current, managedPolicyShape())).toBe(false);
  });

  test('a trust policy: only the tool\'s statement goes, the others stay exactly as they were, in order', () => {
    const shape = trustPolicyShape([ROOT]);
    const withOurs = shape.render(ENTRIES, { Version: '2012-10-17', Statement: [ALLOW] });
    const p = pausePlan({ document: serializePolicy(withOurs) }, shape);
    expect(parsePolicy(p.document)).toEqual({ Version: '2012-10-17', Statement: [ALLOW] });
    expect(p.removedEntries).toEqual(ENTRIES);
    expect(pausePlan({ document: p.document }, shape).upToDate).toBe(true);
  });

  test('a trust policy it cannot lift is an error saying why; a managed policy is lifted whatever it held', () => {
    const shape = trustPolicyShape([ROOT]);
    const onlyOurs = shape.render(ENTRIES, { Version: '2012-10-17', Statement: [] });
    expect(onlyOurs.Statement).toEqual([expect.objectContaining({ Sid: ALLOWLIST_SID })]);
    expect(() => pausePlan({ document: serializePolicy(onlyOurs) }, shape)).toThrow(/holds only allowlist-sync's statement/);
    expect(() => pausePlan({ document: '{not json' }, shape)).toThrow(/cannot be read .* its own statement cannot be taken out/);
    expect(pausePlan({ document: '{not json' }, managedPolicyShape())).toMatchObject({ status: 'changes', currentKind: 'unreadable' });
  });

  test('no document, or the placeholder already: nothing to write', () => {
    expect(pausePlan({}, managedPolicyShape()).upToDate).toBe(true);
    expect(pausePlan({ document: JSON.stringify(PLACEHOLDER_POLICY_DOCUMENT) }, managedPolicyShape())).toMatchObject({ upToDate: true, status: 'unchanged', currentKind: 'placeholder', removedEntries: [] });
  });
});

describe('the restore after a pause (resumeFrom)', () => {
  const placeholder = { document: JSON.stringify(PLACEHOLDER_POLICY_DOCUMENT), versionId: 'v4' };

  test('is measured against the allowlist before the pause: a list that shrank is refused, not adopted', () => {
    expect(plan(placeholder, entries(['192.0.2.0/24'])).status).toBe('changes');
    const restore = plan(placeholder, entries(['192.0.2.0/24']), { resumeFrom: ENTRIES });
    expect(restore.status).toBe('refused');
    expect(restore.refusals.map((r) => r.code)).toContain('mass-removal');
    expect(restore.adoption).toBe(true);
  });

  test('the same list comes back without a refusal; a catch-all is refused either way', () => {
    expect(plan(placeholder, entries(ENTRIES), { resumeFrom: ENTRIES }).status).toBe('changes');
    expect(plan(placeholder, entries(['0.0.0.0/0']), { resumeFrom: ENTRIES }).refusals.map((r) => r.code)).toContain('catch-all');
  });
});

describe('pauseInputProblem', () => {
  test.each<[unknown, unknown, boolean, string | undefined]>([
    ['why', 'ana', true, undefined],
    [undefined, undefined, false, undefined],
    [undefined, undefined, true, '"reason" must say why the IP restriction is lifted (non-empty text), got nothing'],
    [42, undefined, true, '"reason" must say why the IP restriction is lifted (non-empty text), got 42'],
    ['x'.repeat(500), undefined, true, undefined],
    ['x'.repeat(501), undefined, true, '"reason" must be at most 500 characters, got 501'],
    ['why', '', true, '"by" must name who acts (non-empty text), got ""'],
  ])('reason %p, by %p', (reason, by, reasonRequired, problem) => {
    expect(pauseInputProblem({ reason, by }, { reasonRequired })).toBe(problem);
  });
});
