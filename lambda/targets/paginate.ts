import { SyncError } from '../errors';

/** A page of an IAM List* call: its items under some key, and where the next page starts. */
export interface IamPage {
  IsTruncated?: boolean;
  Marker?: string;
}

/** More pages than any real listing has (IAM pages hold 100 items; a role has at most 1,000 policies...). */
const MAX_PAGES = 1_000;

/**
 * Every item of an IAM List* call, across its pages (`Marker` / `IsTruncated`): the one paginator of the targets.
 * A server that hands back a marker it already gave (an echoing proxy, a broken emulator), or pages without end,
 * is refused with a SyncError rather than looped on until the function times out.
 */
export async function listAll<P extends IamPage, T>(action: string, page: (marker: string | undefined) => Promise<P>, items: (page: P) => readonly T[] | undefined): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let marker: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === MAX_PAGES) throw new SyncError('iam-error', `${action} returned more than ${MAX_PAGES} pages; refusing to go on.`);
    const p = await page(marker);
    all.push(...(items(p) ?? []));
    marker = p.IsTruncated ? p.Marker : undefined;
    if (marker === undefined || marker === '') return all;
    if (seen.has(marker)) throw new SyncError('iam-error', `${action} returned the same page marker twice; refusing to loop on it.`);
    seen.add(marker);
  }
}
