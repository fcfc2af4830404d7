import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { SyncError, describeError } from '../errors';
import { CurrentPolicy, Target, WriteRequest, WriteResult } from './target';

/** A policy document kept in a local JSON file, written atomically (temp file, fsync, rename). */
export function fileTarget(path: string): Target {
  let previous: string | undefined;
  return {
    name: `file:${path}`,
    key: `file:${resolve(path)}`,
    versioned: false,
    async read(): Promise<CurrentPolicy> {
      try {
        previous = await readFile(path, 'utf8');
        return { document: previous };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          previous = undefined;
          return {};
        }
        throw new SyncError('target-file', `Cannot read the policy file ${path}: ${describeError(err)}.`);
      }
    },
    async write(request: WriteRequest): Promise<WriteResult> {
      const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(temp, `${JSON.stringify(JSON.parse(request.document), null, 2)}\n`, { flush: true });
        await rename(temp, path);
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw new SyncError('target-file', `Cannot write the policy file ${path}: ${describeError(err)}.`, 'Nothing was changed.');
      }
      return previous !== undefined ? { previousDocument: previous } : {};
    },
  };
}
