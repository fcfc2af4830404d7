import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../bin/allowlist-sync';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist/policy';

/** The real executable, run as an operator would: `node bin/allowlist-sync.js ...` from the repository. */
const REPO = join(__dirname, '..');
const OCM_FIXTURE = join(__dirname, 'fixtures', 'ocm-trusted-ips.json');
const OCM_ENTRIES = ['3.20.58.12/32', '3.21.130.171/32', '3.132.100.80/28', '52.15.23.0/26', '2600:1f18:24d7:1000::/56', '2a05:d018:1234::/48'];
const CONFIG_VARIABLES = [
  'EXTRA_CIDRS',
  'MIN_ENTRIES',
  'MAX_REMOVAL_FRACTION',
  'BROADEST_IPV4_PREFIX',
  'BROADEST_IPV6_PREFIX',
  'VIA_AWS_SERVICE_EXEMPTION',
  'KMS_VIA_SERVICE_EXEMPTION',
];

jest.setTimeout(30_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.includes(name)));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/allowlist-sync.js', ...args], { cwd: REPO, env: { ...base, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** The one JSON object `--json` prints. */
interface JsonReport {
  status: string;
  planId: string;
  added: string[];
  removed: string[];
  entries: string[];
  reasons: string[];
  approvable: boolean;
  approved: boolean;
  sources: { source: string; entries: number; skipped: number }[];
}

function json(run: Run): JsonReport {
  return JSON.parse(run.stdout) as JsonReport;
}

/** Output lines, each entry line without its address note (`  + 3.20.58.12/32 (1 address)` reads `  + 3.20.58.12/32`). */
const lines = (run: Run): string[] => run.stdout.split('\n').map((l) => l.replace(/^( {2}[+-] \S+) \(.*\)$/, '$1'));
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.0.${i * 2}.0/24`);

describe('allowlist-sync CLI', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allowlist-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('plan (2), apply (0), plan and apply again (0, 0): adopting an empty target from the OCM list', async () => {
    const source = join(dir, 'ocm.json');
    const policy = join(dir, 'policy.json');
    await copyFile(OCM_FIXTURE, source);
    const args = ['--source', `file:${source}`, '--target', `file:${policy}`];

    const [human, machine] = await Promise.all([cli(['plan', ...args]), cli(['plan', ...args, '--json'])]);
    expect(human.code).toBe(2);
    expect(human.stderr).toBe('');
    expect(lines(human)[0]).toBe('Changes pending (not applied).');
    expect(lines(human)).toEqual(expect.arrayContaining([`Sources: file:${source} (7, 1 disabled skipped)`, ...OCM_ENTRIES.map((e) => `  + ${e}`)]));
    expect(human.stdout).not.toMatch(/^ {2}- /m);
    expect(machine.code).toBe(2);
    expect(json(machine)).toMatchObject({ status: 'changes', added: OCM_ENTRIES, removed: [], entries: OCM_ENTRIES, reasons: [] });
    expect(json(machine).planId).toMatch(/^[0-9a-f]{16}$/);
    expect(await readdir(dir)).toEqual(['ocm.json']);

    const applied = await cli(['apply', ...args, '--json']);
    expect(applied.code).toBe(0);
    expect(json(applied)).toMatchObject({ status: 'updated', planId: json(machine).planId, added: OCM_ENTRIES, entries: OCM_ENTRIES, reasons: [] });
    expect(JSON.parse(await readFile(policy, 'utf8'))).toEqual(renderDenyPolicy(OCM_ENTRIES));

    const written = await readFile(policy);
    const [again, reapplied] = await Promise.all([cli(['plan', ...args]), cli(['apply', ...args, '--json'])]);
    expect(again.code).toBe(0);
    expect(lines(again)[0]).toBe('No changes: the policy is up to date.');
    expect(reapplied.code).toBe(0);
    expect(json(reapplied)).toMatchObject({ status: 'unchanged', added: [], removed: [], entries: OCM_ENTRIES });
    expect((await readFile(policy)).equals(written)).toBe(true);
  });

  it('--include / --exclude keep a subset of the sources, named in the plan; a filter leaving nothing is refused (3)', async () => {
    const source = join(dir, 'ocm.json');
    const policy = join(dir, 'policy.json');
    await copyFile(OCM_FIXTURE, source);
    const args = ['--source', `file:${source}`, '--target', `file:${policy}`];

    const subset = await cli(['plan', ...args, '--include', '3.0.0.0/8', '--exclude', '3.132.0.0/16', '--json']);
    expect(subset.code).toBe(2);
    const report = json(subset) as JsonReport & { filtered: { entry: string; reason: string }[] };
    expect(report.entries).toEqual(['3.20.58.12/32', '3.21.130.171/32']);
    expect(report.filtered).toEqual(expect.arrayContaining([expect.objectContaining({ entry: '3.132.100.80/28', reason: 'inside exclude' }), expect.objectContaining({ entry: '52.15.23.0/26', reason: 'not inside include' })]));
    const human = await cli(['plan', ...args, '--include', '3.0.0.0/8', '--exclude', '3.132.0.0/16']);
    expect(human.stdout).toContain('Filtered (include/exclude): 4 of the sources\' entries');
    expect(human.stdout).toContain('  ~ excluded: 3.132.100.80/28');

    const nothing = await cli(['apply', ...args, '--include', '198.51.100.0/24']);
    expect(nothing.code).toBe(3);
    expect(nothing.stdout).toContain('include/exclude filters leave nothing');
    // Nothing written (the refusal is recorded in the state file beside it).
    expect(await readdir(dir)).not.toContain('policy.json');

    const bad = await cli(['plan', ...args, '--exclude', 'office']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('EXCLUDE_CIDRS holds "office" is not a CIDR');
  });

  it('check: 0 when not denied, 3 when denied naming the statement, 1 for an address that is none; JSON on request', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(policy, serializePolicy(renderDenyPolicy(['3.0.0.0/24'])));
    const target = ['--target', `file:${policy}`];

    const inside = await cli(['check', '3.0.0.9', ...target]);
    expect(inside).toMatchObject({ code: 0, stdout: '3.0.0.9: not denied\n' });
    const outside = await cli(['check', '3.0.0.9', '52.1.2.3', ...target]);
    expect(outside.code).toBe(3);
    expect(outside.stdout).toBe('3.0.0.9: not denied\n52.1.2.3: denied by statement "AllowlistSyncDenyOutsideTrustedIps"\n');
    const via = await cli(['check', '52.1.2.3', '--via-aws-service', ...target]);
    expect(via.code).toBe(0);
    const machine = await cli(['check', '52.1.2.3', ...target, '--json']);
    expect(JSON.parse(machine.stdout)).toMatchObject({ target: `file:${policy}`, results: [{ address: '52.1.2.3', outcome: 'denied', statement: '"AllowlistSyncDenyOutsideTrustedIps"' }] });
    const bad = await cli(['check', 'office', ...target]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"office" is not an IP address');
    // Reads only: no state file, no lease.
    expect((await readdir(dir)).sort()).toEqual(['policy.json']);
  });

  it('refuses a mass removal (3) leaving the target byte-identical, then applies it when approved', async () => {
    const source = join(dir, 'ips.txt');
    const policy = join(dir, 'policy.json');
    await writeFile(source, `# five of the ten\n${spaced(5).join('\n')}\n`);
    await writeFile(policy, JSON.stringify(renderDenyPolicy(spaced(10)), null, 2));
    const before = await readFile(policy);
    const args = ['--source', `file:${source}`, '--target', `file:${policy}`];
    const reason = '5 of 10 current entries would be removed (50%), more than the 30% allowed';

    const [planned, human] = await Promise.all([cli(['plan', ...args, '--json']), cli(['apply', ...args])]);
    expect(planned.code).toBe(3);
    const { planId } = json(planned);
    expect(json(planned)).toMatchObject({ status: 'refused', added: [], removed: spaced(10).slice(5), reasons: [reason], approvable: true });
    expect(human.code).toBe(3);
    expect(lines(human)[0]).toBe('REFUSED: nothing was written.');
    expect(lines(human)).toEqual(
      expect.arrayContaining([
        ...spaced(10).slice(5).map((e) => `  - ${e}`),
        'Reasons:',
        `  ! ${reason}`,
        `To apply this exact plan anyway, after review: allowlist-sync apply ... --approve ${planId}`,
      ]),
    );
    expect((await readFile(policy)).equals(before)).toBe(true);

    const wrong = await cli(['apply', ...args, '--approve', '0123456789abcdef', '--json']);
    expect(wrong.code).toBe(3);
    expect(json(wrong).reasons).toEqual([
      reason,
      `the plan changed since it was approved: approved 0123456789abcdef, the plan is now ${planId}; review it and approve the new id`,
    ]);
    expect((await readFile(policy)).equals(before)).toBe(true);

    const approved = await cli(['apply', ...args, '--approve', planId, '--json']);
    expect(approved.code).toBe(0);
    expect(json(approved)).toMatchObject({ status: 'updated', planId, approved: true, removed: spaced(10).slice(5) });
    expect(JSON.parse(await readFile(policy, 'utf8'))).toEqual(renderDenyPolicy(spaced(5)));
  });

  it('exits 1 on a bad source spec, a missing file, an unknown command', async () => {
    const policy = join(dir, 'policy.json');
    const missing = join(dir, 'missing.json');
    const [badSpec, missingFile, unknown] = await Promise.all([
      cli(['plan', '--source', 'ftp:ips.txt', '--target', `file:${policy}`]),
      cli(['apply', '--source', `file:${missing}`, '--target', `file:${policy}`, '--json']),
      cli(['sync', '--source', 'static:20.0.0.0/24', '--target', `file:${policy}`]),
    ]);
    expect(badSpec).toEqual({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/^allowlist-sync: Unknown source "ftp:ips\.txt": expected .*file:PATH.*\. Run "allowlist-sync plan --help" for usage\.\n$/),
    });
    expect(missingFile.code).toBe(1);
    const message = `Cannot read the allowlist file ${missing}: ENOENT: no such file or directory, open '${missing}'.`;
    expect(JSON.parse(missingFile.stdout)).toEqual({ status: 'error', error: message, code: 'source-file' });
    expect(missingFile.stderr).toBe(`allowlist-sync: ${message}\n`);
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: "allowlist-sync: unknown command 'sync'\nRun \"allowlist-sync --help\" for usage.\n" });
    expect(await readdir(dir)).toEqual([]);
  });

  it('adds EXTRA_CIDRS or --extra-cidrs; an invalid entry is refused naming it and its source; guards come from the environment', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(policy, serializePolicy(renderDenyPolicy(OCM_ENTRIES)));
    const before = await readFile(policy);
    const args = ['--source', `file:${OCM_FIXTURE}`, '--target', `file:${policy}`, '--json'];

    const [fromEnv, fromFlag] = await Promise.all([
      cli(['plan', ...args], { EXTRA_CIDRS: '192.0.2.0/24, 2001:db8::/48' }),
      cli(['apply', ...args, '--extra-cidrs', '192.0.2.0/24,10.0.0'], { EXTRA_CIDRS: '198.51.100.0/24', MIN_ENTRIES: '50' }),
    ]);
    expect(fromEnv.code).toBe(2);
    expect(json(fromEnv)).toMatchObject({ status: 'changes', added: ['192.0.2.0/24', '2001:db8::/48'], removed: [], reasons: [] });
    expect(json(fromEnv).sources).toEqual([
      { source: `file:${OCM_FIXTURE}`, entries: 7, skipped: 1 },
      { source: 'static:EXTRA_CIDRS', entries: 2, skipped: 0 },
    ]);

    expect(fromFlag.code).toBe(3);
    expect(json(fromFlag)).toMatchObject({ status: 'refused', added: ['192.0.2.0/24'], approvable: false });
    expect(json(fromFlag).reasons).toEqual([
      '1 invalid entry: "10.0.0" from static:--extra-cidrs (not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros))',
      'only 7 entries, fewer than the minimum of 50',
    ]);
    expect((await readFile(policy)).equals(before)).toBe(true);
  });
});

describe('allowlist-sync main (in process)', () => {
  // `--json` is known before parsing, so an unknown option still prints one JSON object for a script.
  it('prints the JSON error object with --json even when an option is unknown', async () => {
    const out: string[] = [];
    const code = await main(['plan', '--json', '--bogus', '--source', 'static:20.0.0.1', '--target', 'file:policy.json'], {}, {
      out: (text) => out.push(text),
      err: () => undefined,
    });
    expect(code).toBe(1);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ status: 'error' });
  });
});
