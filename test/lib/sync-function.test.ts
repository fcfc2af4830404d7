import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { functionCode } from '../../lib/sync-function';

/**
 * Where NodejsFunction finds the function's code, in the repository and installed from the package (the layout the
 * packed tarball has: dist/lib beside dist/lambda, no lock file of its own). test/package.test.ts proves the real
 * tarball; these pin the rules, including the failures, on made-up trees.
 */
describe('functionCode', () => {
  const root = resolve(__dirname, '..', '..');
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'allowlist-sync-code-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** A package as npm installs it: <app>/node_modules/allowlist-sync/{dist/lib,dist/lambda,lambda,tsconfig.json}. */
  const installed = (app: string): string => {
    const pkg = join(app, 'node_modules', 'allowlist-sync');
    for (const dir of ['dist/lib', 'dist/lambda', 'lambda']) mkdirSync(join(pkg, dir), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"name":"allowlist-sync"}');
    writeFileSync(join(pkg, 'tsconfig.json'), '{}');
    writeFileSync(join(pkg, 'dist', 'lambda', 'handler.js'), 'exports.handler = async () => ({});');
    writeFileSync(join(pkg, 'lambda', 'handler.ts'), 'export const handler = async () => ({});');
    return join(pkg, 'dist', 'lib');
  };

  test('in the repository: the TypeScript entry, the repository lock file and tsconfig, as before', () => {
    const code = { entry: join(root, 'lambda', 'handler.ts'), projectRoot: root, depsLockFilePath: join(root, 'package-lock.json'), tsconfig: join(root, 'tsconfig.json') };
    expect(functionCode(join(root, 'lib'))).toEqual(code);
    // A build in the repository (dist/lib) bundles the same sources.
    expect(functionCode(join(root, 'dist', 'lib'))).toEqual(code);
  });

  test("installed: the package's TypeScript entry and tsconfig, the app's own lock file and folder", () => {
    const app = join(tmp, 'app');
    const lib = installed(app);
    writeFileSync(join(app, 'package-lock.json'), '{}');
    const pkg = join(app, 'node_modules', 'allowlist-sync');
    expect(functionCode(lib)).toEqual({
      entry: join(pkg, 'lambda', 'handler.ts'),
      projectRoot: app,
      depsLockFilePath: join(app, 'package-lock.json'),
      tsconfig: join(pkg, 'tsconfig.json'),
    });
  });

  test('installed with pnpm or yarn: their lock file (it picks the package manager that runs esbuild)', () => {
    const app = join(tmp, 'app');
    const lib = installed(app);
    writeFileSync(join(app, 'pnpm-lock.yaml'), '');
    writeFileSync(join(app, 'package-lock.json'), '{}');
    expect(functionCode(lib).depsLockFilePath).toBe(join(app, 'pnpm-lock.yaml'));
    rmSync(join(app, 'pnpm-lock.yaml'));
    rmSync(join(app, 'package-lock.json'));
    writeFileSync(join(app, 'yarn.lock'), '');
    expect(functionCode(lib)).toMatchObject({ projectRoot: app, depsLockFilePath: join(app, 'yarn.lock') });
  });

  test('the nearest lock file wins (an app inside a monorepo)', () => {
    const app = join(tmp, 'mono', 'packages', 'infra');
    const lib = installed(app);
    writeFileSync(join(tmp, 'mono', 'package-lock.json'), '{}');
    expect(functionCode(lib).projectRoot).toBe(join(tmp, 'mono'));
    writeFileSync(join(app, 'package-lock.json'), '{}');
    expect(functionCode(lib).projectRoot).toBe(app);
  });

  test('installed without any lock file: a clear error saying what to do', () => {
    const lib = installed(join(tmp, 'app'));
    // (Assumes no lock file in the temporary folder's ancestors, as on any CI runner.)
    expect(() => functionCode(lib)).toThrow(/no lock file \(pnpm-lock\.yaml, yarn\.lock, bun\.lock, bun\.lockb, package-lock\.json\) in .*allowlist-sync.*npm install/);
  });

  test('sources missing from the package: names the missing file', () => {
    const lib = installed(join(tmp, 'app'));
    writeFileSync(join(tmp, 'app', 'package-lock.json'), '{}');
    rmSync(join(tmp, 'app', 'node_modules', 'allowlist-sync', 'tsconfig.json'));
    expect(() => functionCode(lib)).toThrow(/sources are missing: .*allowlist-sync[\\/]tsconfig\.json does not exist/);
    rmSync(join(tmp, 'app', 'node_modules', 'allowlist-sync', 'lambda'), { recursive: true });
    expect(() => functionCode(lib)).toThrow(/sources are missing: .*lambda[\\/]handler\.ts does not exist/);
  });
});
