import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';
import { SyncError } from '../../lambda/errors';
import { fileTarget } from '../../lambda/targets/file';

const DOCUMENT = serializePolicy(renderDenyPolicy(['20.0.0.0/24', '2001:db8::/32']));
const ORIGINAL = '{"Version":"2012-10-17","Statement":[]}\n';
const isRoot = process.getuid?.() === 0;

describe('fileTarget', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allowlist-file-target-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('reads nothing from a file that does not exist yet', async () => {
    const target = fileTarget(join(dir, 'policy.json'));
    expect(target.name).toBe(`file:${join(dir, 'policy.json')}`);
    await expect(target.read()).resolves.toEqual({});
  });

  it('reads the file as it is', async () => {
    const path = join(dir, 'policy.json');
    await writeFile(path, ORIGINAL);
    await expect(fileTarget(path).read()).resolves.toEqual({ document: ORIGINAL });
  });

  it('says which file cannot be read', async () => {
    const error = await fileTarget(dir).read().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'target-file' });
    expect((error as Error).message).toMatch(new RegExp(`^Cannot read the policy file ${dir}: (Error: )?EISDIR: illegal operation on a directory, read\\.$`));
  });

  it('writes the document pretty-printed, replacing the file, leaving no temporary file', async () => {
    const path = join(dir, 'policy.json');
    await writeFile(path, ORIGINAL);
    await expect(fileTarget(path).write({ document: DOCUMENT, planId: 'p1' })).resolves.toEqual({});
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(JSON.parse(DOCUMENT), null, 2)}\n`);
    expect(await readdir(dir)).toEqual(['policy.json']);
    await expect(fileTarget(path).read()).resolves.toEqual({ document: `${JSON.stringify(JSON.parse(DOCUMENT), null, 2)}\n` });
  });

  it('creates the file when there is none', async () => {
    const path = join(dir, 'new.json');
    await fileTarget(path).write({ document: DOCUMENT, planId: 'p1' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(JSON.parse(DOCUMENT));
    expect(await readdir(dir)).toEqual(['new.json']);
  });

  it('fails clearly when the directory does not exist', async () => {
    const path = join(dir, 'missing', 'policy.json');
    const error = await fileTarget(path).write({ document: DOCUMENT, planId: 'p1' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'target-file' });
    expect((error as Error).message).toMatch(new RegExp(`^Cannot write the policy file ${path}: (Error: )?ENOENT: .* Nothing was changed\\.$`));
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves the original intact when the temporary file cannot be written', async () => {
    // The temporary name adds 18 characters: a 250-character name exists, its temporary twin cannot.
    const path = join(dir, `${'p'.repeat(245)}.json`);
    await writeFile(path, ORIGINAL);
    await expect(fileTarget(path).write({ document: DOCUMENT, planId: 'p1' })).rejects.toThrow(/^Cannot write the policy file .*ENAMETOOLONG.* Nothing was changed\.$/);
    expect(await readFile(path, 'utf8')).toBe(ORIGINAL);
    expect(await readdir(dir)).toEqual([`${'p'.repeat(245)}.json`]);
  });

  it('cleans up the temporary file when the rename fails', async () => {
    // A directory in the target's place: the temporary file is written, the rename over it fails.
    const path = join(dir, 'policy.json');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    await expect(fileTarget(path).write({ document: DOCUMENT, planId: 'p1' })).rejects.toThrow(/^Cannot write the policy file .* Nothing was changed\.$/);
    expect(await readdir(dir)).toEqual(['policy.json']);
    expect(await readdir(path)).toEqual(['keep']);
  });

  (isRoot ? it.skip : it)('leaves the original intact in a read-only directory', async () => {
    const path = join(dir, 'policy.json');
    await writeFile(path, ORIGINAL);
    await chmod(dir, 0o500);
    await expect(fileTarget(path).write({ document: DOCUMENT, planId: 'p1' })).rejects.toThrow(/EACCES.* Nothing was changed\.$/);
    expect(await readFile(path, 'utf8')).toBe(ORIGINAL);
    expect(await readdir(dir)).toEqual(['policy.json']);
  });

  it('refuses a document that is not JSON, writing nothing', async () => {
    const path = join(dir, 'policy.json');
    await writeFile(path, ORIGINAL);
    await expect(fileTarget(path).write({ document: '{not json', planId: 'p1' })).rejects.toThrow(/^Cannot write the policy file /);
    expect(await readFile(path, 'utf8')).toBe(ORIGINAL);
    expect(await readdir(dir)).toEqual(['policy.json']);
  });
});
