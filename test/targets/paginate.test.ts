import { SyncError } from '../../lambda/errors';
import { IamPage, listAll } from '../../lambda/targets/paginate';

type Page = IamPage & { Items?: string[] };

/** A lister over fixed pages, recording the markers it was asked for. */
function pages(list: Page[]): { fetch: (marker: string | undefined) => Promise<Page>; asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    fetch: async (marker) => {
      asked.push(marker);
      const index = marker === undefined ? 0 : Number(marker.slice(1));
      return list[index];
    },
  };
}

describe('listAll', () => {
  test('follows markers to the last page, in order', async () => {
    const lister = pages([
      { Items: ['a', 'b'], IsTruncated: true, Marker: 'm1' },
      { Items: ['c'], IsTruncated: true, Marker: 'm2' },
      { Items: ['d'], IsTruncated: false },
    ]);
    await expect(listAll('iam:ListX', lister.fetch, (p) => p.Items)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect(lister.asked).toEqual([undefined, 'm1', 'm2']);
  });

  test('a page without items, or a marker on a page that is not truncated, ends cleanly', async () => {
    const lister = pages([{ IsTruncated: false, Marker: 'm1' }]);
    await expect(listAll('iam:ListX', lister.fetch, (p) => p.Items)).resolves.toEqual([]);
    expect(lister.asked).toEqual([undefined]);
  });

  test('a truncated page without a marker ends (nothing to ask for)', async () => {
    const lister = pages([{ Items: ['a'], IsTruncated: true }]);
    await expect(listAll('iam:ListX', lister.fetch, (p) => p.Items)).resolves.toEqual(['a']);
  });

  test('an echoing server (the same marker again) is refused, naming the action', async () => {
    const echo = async (): Promise<Page> => ({ Items: ['a'], IsTruncated: true, Marker: 'same' });
    const err = await listAll('iam:ListRolePolicies', echo, (p) => p.Items).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect((err as SyncError).message).toBe('iam:ListRolePolicies returned the same page marker twice; refusing to loop on it.');
  });

  test('pages without end are refused after 1,000', async () => {
    let n = 0;
    const endless = async (): Promise<Page> => ({ Items: [], IsTruncated: true, Marker: `m${++n}` });
    const err = await listAll('iam:ListPolicyVersions', endless, (p) => p.Items).catch((e: unknown) => e);
    expect((err as SyncError).message).toBe('iam:ListPolicyVersions returned more than 1000 pages; refusing to go on.');
    expect(n).toBe(1000);
  });
});
