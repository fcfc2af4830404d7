import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SyncError, describeError } from '../errors';
import type { HistoryRecord, LeaseOutcome, StateStore, TargetPatch, TargetRecord } from './types';

/** The whole state as one JSON document: every target's record and history. */
interface StateData {
  version: 1;
  targets: Record<string, TargetRecord>;
  history: Record<string, HistoryRecord[]>;
}

const empty = (): StateData => ({ version: 1, targets: {}, history: {} });

/** Reads and writes the whole document, one change at a time. */
interface Backing {
  description: string;
  /** Runs `change` on the current data with exclusive access, writing the result back when it returns true. */
  transact<T>(change: (data: StateData) => { result: T; write: boolean }): Promise<T>;
}

function applyPatch(record: TargetRecord, patch: TargetPatch): TargetRecord {
  const next: Record<string, unknown> = { ...record };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  return next as TargetRecord;
}

/** The same semantics as the DynamoDB store, over a JSON document (a file, or memory). */
function jsonStateStore(backing: Backing): StateStore {
  return {
    description: backing.description,
    load: (key) => backing.transact((data) => ({ result: structuredClone(data.targets[key] ?? {}), write: false })),
    update: (key, patch, options = {}) =>
      backing.transact((data) => {
        const record = data.targets[key] ?? {};
        if (options.leaseHolder !== undefined && record.lease?.holder !== options.leaseHolder) return { result: false, write: false };
        data.targets[key] = applyPatch(record, patch);
        return { result: true, write: true };
      }),
    acquireLease: (key, holder, expiresAt, now) =>
      backing.transact<LeaseOutcome>((data) => {
        const record = data.targets[key] ?? {};
        if (record.lease && record.lease.holder !== holder && record.lease.expiresAt > now) return { result: { ok: false, holder: record.lease }, write: false };
        const lease = { holder, expiresAt, acquiredAt: new Date(now).toISOString() };
        data.targets[key] = { ...record, lease };
        return { result: { ok: true, lease, record: structuredClone(data.targets[key]) }, write: true };
      }),
    releaseLease: (key, holder) =>
      backing.transact((data) => {
        const record = data.targets[key];
        if (record?.lease?.holder !== holder) return { result: undefined, write: false };
        delete record.lease;
        return { result: undefined, write: true };
      }),
    addHistory: (key, record, keep, protect) =>
      backing.transact((data) => {
        const all = [record, ...(data.history[key] ?? [])];
        data.history[key] = all.filter((r, i) => i < keep || protect.includes(r.revision));
        return { result: undefined, write: true };
      }),
    history: (key) => backing.transact((data) => ({ result: structuredClone(data.history[key] ?? []), write: false })),
  };
}

/** State in memory only: tests, and a process that keeps nothing between runs. */
export function memoryStateStore(description = 'memory (nothing kept between processes)'): StateStore & { data(): StateData } {
  let data = empty();
  const store = jsonStateStore({
    description,
    async transact(change) {
      const copy = structuredClone(data);
      const { result, write } = change(copy);
      if (write) data = copy;
      return result;
    },
  });
  return { ...store, data: () => structuredClone(data) };
}

/** How long a lock file may stand before it is taken as left by a killed process. */
const STALE_LOCK_MS = 30_000;

async function withLock<T>(path: string, run: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SyncError('state-file', `Cannot lock the state file ${path}: ${describeError(err)}.`, 'Check that its directory is writable.');
      }
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      if (attempt >= 100) throw new SyncError('state-file', `The state file ${path} stayed locked by another allowlist-sync process (${lock}).`, 'Wait for it to finish, or delete the lock file if no such process runs.');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await run();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

async function readData(path: string): Promise<StateData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty();
    throw new SyncError('state-file', `Cannot read the state file ${path}: ${describeError(err)}.`);
  }
  try {
    const value = JSON.parse(text) as Partial<StateData>;
    if (value.version !== 1 || typeof value.targets !== 'object' || value.targets === null) throw new Error('not an allowlist-sync state file (version 1)');
    return { version: 1, targets: value.targets, history: value.history ?? {} };
  } catch (err) {
    throw new SyncError('state-file', `The state file ${path} is damaged: ${describeError(err)}.`, 'Move it aside (the next run starts a new one: alert state and baseline start over) or restore it from a backup.');
  }
}

/**
 * State in a JSON file (the CLI on `file:` targets, the offline demo): the same records as the table, written
 * atomically (a temporary file, flushed, renamed) under a lock file, so two processes never interleave.
 */
export function fileStateStore(path: string): StateStore {
  return jsonStateStore({
    description: `file ${path}`,
    transact: (change) =>
      withLock(path, async () => {
        const data = await readData(path);
        const { result, write } = change(data);
        if (write) {
          const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
          try {
            await writeFile(temp, `${JSON.stringify(data, null, 2)}\n`, { flush: true });
            await rename(temp, path);
          } catch (err) {
            await unlink(temp).catch(() => undefined);
            throw new SyncError('state-file', `Cannot write the state file ${path}: ${describeError(err)}.`);
          }
        }
        return result;
      }),
  });
}

/** Where the embedded store of a local policy file lives: beside it. */
export function stateFileBeside(targetPath: string): string {
  return join(dirname(targetPath), `.${basename(targetPath)}.allowlist-sync-state.json`);
}
