import { splitList, staticSource } from '../../lambda/sources/static';

describe('splitList', () => {
  it('splits on commas and any whitespace, dropping empty items', () => {
    expect(splitList('20.0.0.1,20.0.0.2, 20.0.0.3 ,\t2001:db8::/32\n\n192.0.2.0/24,,')).toEqual([
      '20.0.0.1',
      '20.0.0.2',
      '20.0.0.3',
      '2001:db8::/32',
      '192.0.2.0/24',
    ]);
    expect(splitList('')).toEqual([]);
    expect(splitList(' , ,\n')).toEqual([]);
  });
});

describe('staticSource', () => {
  it('gives the listed entries under its name', async () => {
    const source = staticSource('20.0.0.1, 2001:DB8::/32', 'static:EXTRA_CIDRS');
    expect(source.name).toBe('static:EXTRA_CIDRS');
    await expect(source.fetch()).resolves.toEqual({
      source: 'static:EXTRA_CIDRS',
      entries: [
        { value: '20.0.0.1', source: 'static:EXTRA_CIDRS' },
        { value: '2001:DB8::/32', source: 'static:EXTRA_CIDRS' },
      ],
      skipped: 0,
    });
  });

  it('takes an array as is, named "static" by default', async () => {
    const list = ['20.0.0.1', 'not an ip'];
    const source = staticSource(list);
    list.push('20.0.0.2');
    await expect(source.fetch()).resolves.toEqual({
      source: 'static',
      entries: [
        { value: '20.0.0.1', source: 'static' },
        { value: 'not an ip', source: 'static' },
      ],
      skipped: 0,
    });
  });

  it('gives nothing for an empty list', async () => {
    await expect(staticSource('').fetch()).resolves.toEqual({ source: 'static', entries: [], skipped: 0 });
  });
});
