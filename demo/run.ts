// The offline demo: the real CLI and engine on bundled samples of OCM's response, into a local policy file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const policy = join(mkdtempSync(join(tmpdir(), 'allowlist-sync-demo-')), 'policy.json');
const sample = (name: string) => join(root, name);

function step(title: string, args: string[]): number {
  console.log(`\n=== ${title}\n$ allowlist-sync ${args.join(' ').replaceAll(root + '/', '')}`);
  try {
    process.stdout.write(execFileSync(process.execPath, [join(root, 'bin/allowlist-sync.js'), ...args], { encoding: 'utf8' }));
    console.log('(exit 0)');
    return 0;
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    process.stdout.write(e.stdout + e.stderr);
    console.log(`(exit ${e.status})`);
    return e.status;
  }
}

const v1 = ['--source', `file:${sample('test/fixtures/ocm-trusted-ips.json')}`, '--target', `file:${policy}`];
const v2 = ['--source', `file:${sample('demo/ocm-trusted-ips-changed.json')}`, '--target', `file:${policy}`];
const bad = ['--source', `file:${sample('demo/ocm-trusted-ips-catch-all.json')}`, '--target', `file:${policy}`];
const codes = [
  step('1. Plan against an empty target (exit 2: changes pending)', ['plan', ...v1]),
  step('2. Apply it', ['apply', ...v1]),
  step('3. Run again: nothing to do (exit 0)', ['apply', ...v1]),
  step('4. OCM changed: plan shows + and - (exit 2)', ['plan', ...v2]),
  step('5. Apply the change', ['apply', ...v2]),
  step('6. A catch-all entry is refused; the file is not touched (exit 3)', ['apply', ...bad]),
];
console.log(`\n=== The policy now in ${policy}\n${readFileSync(policy, 'utf8')}`);
const expected = [2, 0, 0, 2, 0, 3];
if (codes.some((c, i) => c !== expected[i])) {
  console.error(`Demo failed: exit codes ${codes.join(',')}, expected ${expected.join(',')}`);
  process.exit(1);
}
console.log('Demo finished: every step behaved as expected.');
