import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { SyncError, describeError } from '../errors';
import { CurrentPolicy, Target, WriteRequest, WriteResult } from '../ports';

/** A policy document kept in a local JSON file, written atomically (temp file, fsync, rename). */
export function fileTarget(path: string): Target {
  let previous: string | undefined;
  /** Whether a read came first: then a write refuses when the file changed since (a write without a read is unconditional). */
  let read = false;
  return {
    name: `file:${path}`,
    key: `file:${resolve(path)}`,
    versioned: false,
    async read(): Promise<CurrentPolicy> {
      try {
        previous = await readFile(path, 'utf8');
        read = true;
        return { document: previous };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          previous = undefined;
          read = true;
          return {};
        }
        throw new SyncError('target-file', `Cannot read the policy file ${path}: ${describeError(err)}.`);
      }
    },
    async write(request: WriteRequest): Promise<WriteResult> {
      // No conditional write on a file either: refuse when it is no longer what the plan was based on.
      const now = read ? await readFile(path, 'utf8').catch(() => undefined) : previous;
      if (now !== previous) {
        throw new SyncError('concurrent-writer', `Plan ${request.planId} was computed against ${path}, which ${previous === undefined ? 'was created' : now === undefined ? 'was deleted' : 'has changed'} since it was read.`, 'Nothing was overwritten; run again, which plans against the new document.');
      }
      const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(temp, `${JSON.stringify(JSON.parse(request.document), null, 2)}\n`, { flush: true });
        await rename(temp, path);
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw new SyncError('target-file', `Cannot write the policy file ${path}: ${describeError(err)}.`, 'Nothing was changed.');
      }
      const replaced = previous;
      previous = await readFile(path, 'utf8');
      return replaced !== undefined ? { previousDocument: replaced } : {};
    },
  };
}
