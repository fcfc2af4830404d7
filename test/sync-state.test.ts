/**
 * The sync with its state store, on a real file target and the embedded file store (the same code paths as the
 * function's DynamoDB store): deadlines, the lease, the history of unversioned documents and their rollback.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollback } from '../lambda/admin';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import type { Announcement } from '../lambda/ports';
import { staticSource } from '../lambda/sources/static';
import { fileStateStore, stateFileBeside } from '../lambda/state/json-store';
import { sync } from '../lambda/sync';
import { fileTarget } from '../lambda/targets/file';

const doc = (...entries: string[]): string => serializePolicy(renderDenyPolicy(entries));
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.0.${i * 2}.0/24`);

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'allowlist-sync-'));
  path = join(dir, 'policy.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const announcer = (sent: Announcement[], fail = false) => ({
  enabled: true,
  announce: async (a: Announcement) => {
    if (fail) throw new Error('SNS down');
    sent.push(a);
  },
});

describe('deadline', () => {
  test('a write is not started with less than the write budget left: nothing written, said why', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    await expect(sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target: fileTarget(path), state, deadline: Date.now() + 5_000 })).rejects.toMatchObject({
      code: 'deadline',
      message: expect.stringMatching(/^Not starting the write of plan [0-9a-f]{16} to file:.*: [45] s remain, and a write needs 10 s to finish and be announced\./),
    });
    expect(await readFile(path, 'utf8')).toBe(doc(...spaced(3)));
  });
});

describe('the lease', () => {
  test('the closing record update failing (throttled, say) still gives the lease back: nobody waits on a finished writer', async () => {
    await writeFile(path, doc(...spaced(3)));
    const inner = fileStateStore(stateFileBeside(path));
    const target = fileTarget(path);
    const state = {
      ...inner,
      update: async (key: string, patch: Parameters<typeof inner.update>[1], options?: { leaseHolder?: string }) => {
        if (patch.lease === null) throw new Error('ThrottlingException: Rate exceeded');
        return inner.update(key, patch, options);
      },
    };

    await expect(sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, state, writer: 'cli:ana@laptop' })).rejects.toThrow('Rate exceeded');

    // Written, its announcement still owed, and the lease free for the next writer.
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(renderDenyPolicy([...spaced(3), '192.0.2.0/24']));
    const record = await inner.load(target.key);
    expect(record.lease).toBeUndefined();
    expect(record.outbox).toHaveLength(1);
  });

  test('held by another writer: busy, naming it, nothing written; the lease never outlives its deadline', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    const target = fileTarget(path);
    await state.acquireLease(target.key, 'function:fn/req-9', Date.now() + 60_000, Date.now());

    const busy = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, state, writer: 'cli:ana@laptop', leaseWaitsMs: [1] });

    expect(busy).toMatchObject({ status: 'busy', holder: { holder: 'function:fn/req-9' } });
    expect(await readFile(path, 'utf8')).toBe(doc(...spaced(3)));
  });

  test('two writers from the same base at once: exactly one writes (the other is busy, or finds its base gone)', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    const run = (writer: string, extra: string) =>
      sync({ sources: [staticSource([...spaced(3), extra])], target: fileTarget(path), state, writer, leaseWaitsMs: [] }).then(
        (r) => r.status,
        (err: { code?: string }) => err.code,
      );
    const outcomes = await Promise.all([run('a', '192.0.2.0/24'), run('b', '198.51.100.0/24')]);
    expect(outcomes.filter((o) => o === 'updated')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'busy' || o === 'concurrent-writer')).toHaveLength(1);
  });
});

describe('history of an unversioned document, and its rollback', () => {
  test('each write keeps the replaced document as rN; rollback restores it, guarded, announced, and is itself kept', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    const target = fileTarget(path);
    const sent: Announcement[] = [];
    const first = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, state, announcer: announcer(sent) });
    expect(first).toMatchObject({ status: 'updated', previousVersionId: 'r1' });
    await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24', '198.51.100.0/24'])], target, state, announcer: announcer(sent) });
    expect((await state.history(target.key)).map((h) => h.revision)).toEqual(['r2', 'r1']);
    expect(sent.map((a) => a.baseVersionId)).toEqual(['r1', 'r2']);

    const back = await rollback({ target: fileTarget(path), state, to: 'r2', announcer: announcer(sent), leaseWaitsMs: [] });
    expect(back).toMatchObject({ status: 'rolled-back', toVersionId: 'r2', fromVersionId: 'r3', forced: false });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(doc(...spaced(3), '192.0.2.0/24')));
    expect(sent[2].notes[0]).toBe('rollback to r2');
    expect((await state.history(target.key)).map((h) => h.revision)).toEqual(['r3', 'r2', 'r1']);
  });

  test('a kept document the guards would refuse is not restored without --force; with it, it is', async () => {
    await writeFile(path, doc(...spaced(10)));
    const state = fileStateStore(stateFileBeside(path));
    const target = fileTarget(path);
    // Grown step by step: r1 holds 10 entries, r2 12, r3 14; 16 in force. Back to r1 would drop 6 of 16.
    for (const n of [12, 14, 16]) expect((await sync({ sources: [staticSource(spaced(n))], target, state })).status).toBe('updated');
    const guarded = await rollback({ target: fileTarget(path), state, to: 'r1', leaseWaitsMs: [] });
    expect(guarded.status).toBe('refused');
    expect(guarded.plan.reasons).toEqual(['6 of 16 current entries would be removed (38%), more than the 30% allowed']);
    expect(await readFile(path, 'utf8')).toContain('20.0.30.0/24');
    const forced = await rollback({ target: fileTarget(path), state, to: 'r1', force: true, leaseWaitsMs: [] });
    expect(forced).toMatchObject({ status: 'rolled-back', forced: true });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(doc(...spaced(10))));
  });

  test('without a kept document there is nothing to roll back to, said so', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    await expect(rollback({ target: fileTarget(path), state })).rejects.toMatchObject({ code: 'rollback-no-version' });
    await expect(rollback({ target: fileTarget(path), state, to: 'r7' })).rejects.toMatchObject({ code: 'history-not-found' });
  });
});

describe('announcements owed by a writer without a topic', () => {
  test('stay in the store until a run with a topic publishes them, late, once', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    const target = fileTarget(path);
    await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, state, writer: 'cli:ana@laptop' });
    expect((await state.load(target.key)).outbox).toHaveLength(1);

    const sent: Announcement[] = [];
    const next = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, state, announcer: announcer(sent), writer: 'function:fn/req-2' });
    expect(next).toMatchObject({ status: 'unchanged', announcedLate: 1 });
    expect(sent).toEqual([expect.objectContaining({ writer: 'cli:ana@laptop', addedEntries: ['192.0.2.0/24 (256 addresses)'] })]);
    expect((await state.load(target.key)).outbox).toBeUndefined();
  });

  test('a publish failure keeps the announcement owed and fails the run after the write', async () => {
    await writeFile(path, doc(...spaced(3)));
    const state = fileStateStore(stateFileBeside(path));
    const result = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target: fileTarget(path), state, announcer: announcer([], true) });
    expect(result.status).toBe('updated');
    expect(result.unannounced).toMatchObject({ code: 'alert-publish-failed', changed: [expect.stringContaining('its announcement stays owed')] });
    expect((await state.load(fileTarget(path).key)).outbox).toHaveLength(1);
  });
});
