import { isAction, parseEvent } from '../lambda/events';

describe('parseEvent: the shapes an invocation may take', () => {
  test.each<[string, unknown, ReturnType<typeof parseEvent>]>([
    ['the schedule', { source: 'allowlist-sync.schedule' }, { dryRun: false }],
    ['an explicit sync', { action: 'sync', dryRun: true, target: 'a' }, { dryRun: true, target: 'a' }],
    ['a saved plan', { expectPlanId: '0123456789abcdef', target: 'a' }, { dryRun: false, target: 'a', expectPlanId: '0123456789abcdef' }],
    ['a saved plan with its approval', { expectPlanId: '0123456789abcdef', approve: '0123456789abcdef' }, { dryRun: false, approve: '0123456789abcdef', expectPlanId: '0123456789abcdef' }],
    ['a pause', { action: 'pause', target: 'a', reason: 'why', by: 'ana' }, { action: 'pause', target: 'a', reason: 'why', by: 'ana' }],
    ['a pause without by', { action: 'pause', reason: 'why' }, { action: 'pause', reason: 'why' }],
    ['a resume (syncs by default)', { action: 'resume', by: 'bob' }, { action: 'resume', by: 'bob', sync: true }],
    ['a resume that leaves the restore to the schedule', { action: 'resume', sync: false }, { action: 'resume', sync: false }],
    ['a status', { action: 'status', target: 'a' }, { action: 'status', target: 'a' }],
    ['a rollback', { action: 'rollback', to: 'v3', force: true }, { action: 'rollback', to: 'v3', force: true }],
    ['a rollback to a kept revision', { action: 'rollback', to: 'r12' }, { action: 'rollback', to: 'r12', force: false }],
  ])('%s', (_name, event, expected) => {
    const parsed = parseEvent(event);
    expect(parsed).toEqual(expected);
    expect(isAction(parsed)).toBe('action' in expected);
  });

  test.each<[string, unknown, RegExp]>([
    ['envelope fields on an action', { action: 'status', source: 'aws.events' }, /"source" is not a field of the "status" event/],
    ['a typo beside the envelope', { source: 'aws.scheduler', dryRn: true }, /"dryRn" is not a field of a sync event \(did you mean dryRun\?\)/],
    ['an empty target', { action: 'status', target: '' }, /"target" must be a target name, got ""/],
    ['a version zero', { action: 'rollback', to: 'v0' }, /"to" must be a managed policy version/],
    ['a by too long', { action: 'resume', by: 'b'.repeat(201) }, /"by" must be at most 200 characters, got 201/],
  ])('refuses %s', (_name, event, message) => {
    expect(() => parseEvent(event)).toThrow(expect.objectContaining({ name: 'SyncError', code: 'bad-event', message: expect.stringMatching(message) }));
  });
});
