/**
 * The state store contract, run against each implementation: the DynamoDB store on a real DynamoDB (dynalite on
 * 127.0.0.1), the file store on a real directory, and the memory store. Same semantics everywhere, so local use
 * and the offline demo take the same code paths as the function.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { HistoryRecord, StateStore } from '../../lambda/ports';
import { dynamoStateStore, targetPk } from '../../lambda/state/dynamodb-store';
import { fileStateStore, memoryStateStore, stateFileBeside } from '../../lambda/state/json-store';
import { LocalDynamo } from '../helpers/dynamodb';

const KEY = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const history = (n: number): HistoryRecord => ({ revision: `r${n}`, replacedAt: `2026-11-0${n}T00:00:00.000Z`, replacedBy: `plan${n}`, writer: 'cli:ana@laptop', document: `{"n":${n}}` });

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  client = dynamo.client();
});
afterAll(async () => {
  client.destroy();
  await dynamo.stop();
});
beforeEach(async () => {
  await dynamo.reset();
  dir = await mkdtemp(join(tmpdir(), 'allowlist-sync-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => StateStore][] = [
  ['dynamodb', () => dynamoStateStore(client, dynamo.table)],
  ['file', () => fileStateStore(join(dir, 'state.json'))],
  ['memory', () => memoryStateStore()],
];

describe.each(stores)('%s store', (_name, make) => {
  test('an unknown target has an empty record; a patch sets and removes fields', async () => {
    const store = make();
    await expect(store.load(KEY)).resolves.toEqual({});
    await store.update(KEY, { alert: { status: 'refused', key: 'p1', at: 't1' }, revision: 3 });
    await expect(store.load(KEY)).resolves.toEqual({ alert: { status: 'refused', key: 'p1', at: 't1' }, revision: 3 });
    await store.update(KEY, { alert: null, baseline: { entries: ['192.0.2.0/24'], since: 't2' } });
    await expect(store.load(KEY)).resolves.toEqual({ revision: 3, baseline: { entries: ['192.0.2.0/24'], since: 't2' } });
  });

  test('the lease: one holder at a time, free once expired, kept by its holder, given back only by it', async () => {
    const store = make();
    const a = await store.acquireLease(KEY, 'function:fn/req-1', 2_000, 1_000);
    expect(a).toMatchObject({ ok: true, lease: { holder: 'function:fn/req-1', expiresAt: 2_000 } });
    // The record comes with the lease: no second read before writing.
    await store.update(KEY, { revision: 1 }, { leaseHolder: 'function:fn/req-1' });
    await expect(store.acquireLease(KEY, 'cli:ana@laptop', 60_000, 1_500)).resolves.toEqual({
      ok: false,
      holder: { holder: 'function:fn/req-1', expiresAt: 2_000, acquiredAt: new Date(1_000).toISOString() },
    });
    // Only the holder may write under the lease; someone else's conditional write changes nothing.
    await expect(store.update(KEY, { revision: 9 }, { leaseHolder: 'cli:ana@laptop' })).resolves.toBe(false);
    await expect(store.update(KEY, { revision: 2 }, { leaseHolder: 'function:fn/req-1' })).resolves.toBe(true);
    // A holder asking again (a retry of its own request) keeps it.
    await expect(store.acquireLease(KEY, 'function:fn/req-1', 3_000, 1_600)).resolves.toMatchObject({ ok: true, record: { revision: 2 } });
    await store.releaseLease(KEY, 'cli:ana@laptop');
    expect((await store.load(KEY)).lease?.holder).toBe('function:fn/req-1');
    // Expired: a crashed holder blocks nobody longer than its own deadline.
    await expect(store.acquireLease(KEY, 'cli:ana@laptop', 60_000, 3_001)).resolves.toMatchObject({ ok: true, lease: { holder: 'cli:ana@laptop' } });
    await store.releaseLease(KEY, 'cli:ana@laptop');
    expect((await store.load(KEY)).lease).toBeUndefined();
  });

  test('a last update can give the lease back in the same request, only while it is still ours', async () => {
    const store = make();
    await store.acquireLease(KEY, 'function:fn/req-1', 2_000, 1_000);
    // Someone else's closing update neither writes nor frees the lease.
    await expect(store.update(KEY, { revision: 9, lease: null }, { leaseHolder: 'cli:ana@laptop' })).resolves.toBe(false);
    expect(await store.load(KEY)).toMatchObject({ lease: { holder: 'function:fn/req-1' } });
    await expect(store.update(KEY, { revision: 3, lease: null }, { leaseHolder: 'function:fn/req-1' })).resolves.toBe(true);
    const record = await store.load(KEY);
    expect(record.revision).toBe(3);
    expect(record.lease).toBeUndefined();
    await expect(store.acquireLease(KEY, 'cli:ana@laptop', 60_000, 1_500)).resolves.toMatchObject({ ok: true });
  });

  test('two writers racing for the lease: exactly one wins', async () => {
    const store = make();
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => store.acquireLease(KEY, `writer-${i}`, 10_000, 1_000)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
  });

  test('history: newest first, the newest `keep` kept plus any protected revision', async () => {
    const store = make();
    for (let n = 1; n <= 5; n++) await store.addHistory(KEY, history(n), 3, ['r1']);
    expect((await store.history(KEY)).map((h) => h.revision)).toEqual(['r5', 'r4', 'r3', 'r1']);
    expect((await store.history(KEY))[0]).toEqual(history(5));
    expect(await store.history('another')).toEqual([]);
  });
});

describe('the DynamoDB item design', () => {
  test('one state item per target, fields readable as JSON, the lease as plain attributes', async () => {
    const store = dynamoStateStore(client, dynamo.table);
    await store.update(KEY, { alert: { status: 'ok', at: 't' } });
    await store.acquireLease(KEY, 'function:fn/req-1', 5_000, 1_000);
    const item = (await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { pk: { S: targetPk(KEY) }, sk: { S: 'state' } } }))).Item;
    expect(item?.alert?.S).toBe('{"status":"ok","at":"t"}');
    expect(item?.lease_holder?.S).toBe('function:fn/req-1');
    expect(item?.lease_expires?.N).toBe('5000');
  });

  test('a field damaged by hand in the console reads as absent, not as a failure', async () => {
    const store = dynamoStateStore(client, dynamo.table);
    await store.update(KEY, { revision: 4 });
    await client.send(
      new UpdateItemCommand({ TableName: dynamo.table, Key: { pk: { S: targetPk(KEY) }, sk: { S: 'state' } }, UpdateExpression: 'SET alert = :a', ExpressionAttributeValues: { ':a': { S: '{broken' } } }),
    );
    await expect(store.load(KEY)).resolves.toEqual({ revision: 4 });
  });

  test('a missing table is named, with what to check', async () => {
    const store = dynamoStateStore(client, 'no-such-table');
    await expect(store.load(KEY)).rejects.toMatchObject({ code: 'state-table-missing', message: expect.stringContaining('no-such-table') });
  });
});

describe('the file store', () => {
  test('sits beside a local policy file, as plain JSON, written atomically', async () => {
    const path = stateFileBeside(join(dir, 'policy.json'));
    expect(path).toBe(join(dir, '.policy.json.allowlist-sync-state.json'));
    await fileStateStore(path).update('file:/x', { revision: 1 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, targets: { 'file:/x': { revision: 1 } }, history: {} });
  });

  test('a damaged file is named with what to do, never silently reset', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, '{"version":1,"targets":');
    await expect(fileStateStore(path).load('k')).rejects.toMatchObject({ code: 'state-file', message: expect.stringContaining('is damaged') });
  });

  test('a lock left by a killed process is taken over once stale; a live one is waited for', async () => {
    const path = join(dir, 'state.json');
    const store = fileStateStore(path);
    await writeFile(`${path}.lock`, '');
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    await expect(store.update('k', { revision: 1 })).resolves.toBe(true);
  });
});
