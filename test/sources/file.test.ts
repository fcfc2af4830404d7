import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncError } from '../../lambda/errors';
import { fileSource, parseAllowlistText } from '../../lambda/sources/file';

const FIXTURES = join(__dirname, '..', 'fixtures');

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The exact message, allowing the "Error: " that Jest's sandbox adds before a Node fs error. */
const fsMessage = (before: string, after: string): RegExp => new RegExp(`^${escape(before)}(Error: )?${escape(after)}$`);

describe('parseAllowlistText', () => {
  it('reads OCM’s list JSON, leaving out and counting disabled items and items without "enabled" (as the OCM source does)', () => {
    const text = JSON.stringify({
      kind: 'TrustedIpList',
      page: 1,
      size: 3,
      total: 3,
      items: [
        { kind: 'TrustedIp', id: '3.20.58.12', enabled: true },
        { kind: 'TrustedIp', id: '18.222.33.44', enabled: false },
        { kind: 'TrustedIp', id: '2a05:d018:1234::/48' },
      ],
    });
    expect(parseAllowlistText(text, 'file:ocm.json')).toEqual({
      source: 'file:ocm.json',
      entries: [{ value: '3.20.58.12', source: 'file:ocm.json' }],
      skipped: 2,
    });
  });

  it('reads a JSON array of strings, keeping values as given', () => {
    expect(parseAllowlistText(' ["20.0.0.1", "2001:DB8::/32", "not-an-ip"]\n', 'static')).toEqual({
      source: 'static',
      entries: [
        { value: '20.0.0.1', source: 'static' },
        { value: '2001:DB8::/32', source: 'static' },
        { value: 'not-an-ip', source: 'static' },
      ],
      skipped: 0,
    });
  });

  it('reads one entry a line, ignoring blank lines and # comments, CRLF or LF', () => {
    expect(parseAllowlistText('# header\n20.0.0.1\r\n\n  20.0.1.0/24  # office\r\n   \n#20.9.9.9\n::1', 'file:x.txt').entries).toEqual([
      { value: '20.0.0.1', source: 'file:x.txt' },
      { value: '20.0.1.0/24', source: 'file:x.txt' },
      { value: '::1', source: 'file:x.txt' },
    ]);
    expect(parseAllowlistText('', 'file:x.txt')).toEqual({ source: 'file:x.txt', entries: [], skipped: 0 });
    expect(parseAllowlistText('# only a comment\n\n', 'file:x.txt').entries).toEqual([]);
  });

  it('tolerates a UTF-8 byte order mark', () => {
    expect(parseAllowlistText('\ufeff["20.0.0.1"]', 's').entries).toEqual([{ value: '20.0.0.1', source: 's' }]);
    expect(parseAllowlistText('\ufeff20.0.0.1\n', 's').entries).toEqual([{ value: '20.0.0.1', source: 's' }]);
  });

  it.each([
    ['{"items":[{"id":"20.0.0.1","enabled":true},{"id":1,"enabled":true}]}', 'file:x: items[1] ({"id":1,"enabled":true}) has no string "id"'],
    ['{"items":[null]}', 'file:x: items[0] (null) has no string "id"'],
    ['{"items":["20.0.0.1"]}', 'file:x: items[0] ("20.0.0.1") has no string "id"'],
    ['{"items":[{"id":"20.0.0.1","enabled":"false"}]}', 'file:x: items[0] (20.0.0.1) has a non-boolean "enabled"'],
    ['{"items":"20.0.0.1"}', 'file:x: expected OCM\'s list ({"items":[{"id":...,"enabled":...}]}) or an array of strings'],
    ['{"kind":"Error","id":"401","reason":"Unauthorized"}', 'file:x: expected OCM\'s list ({"items":[{"id":...,"enabled":...}]}) or an array of strings'],
    ['["20.0.0.1", 42]', 'file:x: item 1 (42) is not a string'],
    ['["20.0.0.1", {"id":"20.0.0.2"}]', 'file:x: item 1 ({"id":"20.0.0.2"}) is not a string'],
    ['[', 'file:x looks like JSON but does not parse: Unexpected end of JSON input'],
  ])('refuses %s', (text, message) => {
    expect(() => parseAllowlistText(text, 'file:x')).toThrow(new Error(message));
  });

  it('says where JSON does not parse', () => {
    expect(() => parseAllowlistText('{"items":[{"id":"20.0.0.1"}', 'file:x')).toThrow(/^file:x looks like JSON but does not parse: .*position \d+/);
  });

  it('refuses one page of a longer OCM list', () => {
    const page = JSON.stringify({ kind: 'TrustedIpList', page: 1, size: 2, total: 3, items: [{ id: '20.0.0.1', enabled: true }, { id: '20.0.0.2', enabled: true }] });
    expect(() => parseAllowlistText(page, 'file:x')).toThrow(
      new Error('file:x: holds 2 of the list\'s 3 items (one page only); save every page, e.g. with a larger "size" parameter'),
    );
  });

  it('shortens a long item in a message', () => {
    const long = { id: 7, note: 'x'.repeat(100) };
    expect(() => parseAllowlistText(JSON.stringify({ items: [long] }), 'file:x')).toThrow(
      new Error(`file:x: items[0] (${JSON.stringify(long).slice(0, 57)}...) has no string "id"`),
    );
  });
});

describe('fileSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allowlist-file-source-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the OCM fixture', async () => {
    const path = join(FIXTURES, 'ocm-trusted-ips.json');
    const source = fileSource(path);
    expect(source.name).toBe(`file:${path}`);
    const result = await source.fetch();
    expect(result.skipped).toBe(1);
    expect(result.entries.map((e) => e.value)).toEqual([
      '3.20.58.12',
      '3.21.130.171',
      '3.132.100.80/28',
      '52.15.23.32/27',
      '52.15.23.0/27',
      '2600:1F18:24D7:1000:0000:0000:0000:0000/56',
      '2a05:d018:1234::/48',
    ]);
    expect(new Set(result.entries.map((e) => e.source))).toEqual(new Set([`file:${path}`]));
  });

  it('reads the line and array fixtures to the same entries', async () => {
    const lines = await fileSource(join(FIXTURES, 'allowlist-lines.txt')).fetch();
    const array = await fileSource(join(FIXTURES, 'allowlist-array.json')).fetch();
    expect(lines.entries.map((e) => e.value)).toEqual(['192.0.2.10', '198.51.100.0/24', '2001:DB8:0:0:0:0:0:0/48']);
    expect(array.entries.map((e) => e.value)).toEqual(['192.0.2.10', '198.51.100.0/24', '2001:db8::/48']);
  });

  it('says which file is missing', async () => {
    const path = join(dir, 'missing.json');
    const error = await fileSource(path).fetch().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'source-file' });
    // Inside Jest's sandbox, Node's fs errors are not `instanceof Error`, so describeError adds "Error: ".
    expect((error as Error).message).toMatch(fsMessage(`Cannot read the allowlist file ${path}: `, `ENOENT: no such file or directory, open '${path}'.`));
  });

  it('says which file cannot be read', async () => {
    await expect(fileSource(dir).fetch()).rejects.toThrow(fsMessage(`Cannot read the allowlist file ${dir}: `, 'EISDIR: illegal operation on a directory, read.'));
  });

  it('names the file and the item when the content is malformed', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '["20.0.0.1", false]');
    const error = await fileSource(path).fetch().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'source-file', message: `file:${path}: item 1 (false) is not a string. Fix the file and run again.` });
  });
});
