/**
 * Saved plans through the real executable, as `terraform plan -out`: `plan --out FILE` writes the plan,
 * `apply FILE` applies exactly it, or nothing when the target or the sources no longer give that plan id; a
 * file that is not exactly a saved plan is an error naming what is wrong; a refused plan needs --approve.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist/policy';
import { CliRun, runCli } from './helpers/cli';

const CURRENT = ['192.0.2.0/24', '198.51.100.0/24'];
const WANTED = [...CURRENT, '203.0.113.0/24'];

jest.setTimeout(60_000);


const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

let dir: string;
let policy: string;
let source: string;
let saved: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'allowlist-saved-plan-'));
  policy = join(dir, 'policy.json');
  source = join(dir, 'list.txt');
  saved = join(dir, 'rosa.plan');
  await writeFile(policy, serializePolicy(renderDenyPolicy(CURRENT)));
  await writeFile(source, `${WANTED.join('\n')}\n`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const planArgs = (): string[] => ['plan', '--source', `file:${source}`, '--target', `file:${policy}`, '--out', saved];

describe('plan --out FILE, apply FILE', () => {
  it('saves the plan (target, sources, plan id, base, document) and applies exactly it', async () => {
    const plan = await cli([...planArgs(), '--json']);
    expect(plan.code).toBe(2);
    const planId = (JSON.parse(plan.stdout) as { planId: string }).planId;
    expect(plan.stderr).toContain(`plan ${planId} saved to ${saved}`);
    const file = JSON.parse(await readFile(saved, 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({
      format: 'allowlist-sync/plan-v1',
      planId,
      status: 'changes',
      origin: { mode: 'local', target: `file:${policy}`, principals: [], sources: [`file:${source}`] },
      added: ['203.0.113.0/24'],
      removed: [],
      entries: WANTED,
      document: serializePolicy(renderDenyPolicy(WANTED)),
    });

    const apply = await cli(['apply', saved, '--json']);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({ status: 'updated', planId });
    expect(JSON.parse(await readFile(policy, 'utf8'))).toEqual(renderDenyPolicy(WANTED));
  });

  it('writes nothing (3) when the target changed since the plan, or the sources did', async () => {
    expect((await cli(planArgs())).code).toBe(2);
    const handEdit = serializePolicy(renderDenyPolicy([...CURRENT, '100.24.10.0/24']));
    await writeFile(policy, handEdit);
    const stale = await cli(['apply', saved]);
    expect(stale.code).toBe(3);
    expect(stale.stdout).toContain('REFUSED: nothing was written.');
    expect(stale.stdout).toMatch(/saved plan/i);
    expect(await readFile(policy, 'utf8')).toBe(handEdit);

    await writeFile(policy, serializePolicy(renderDenyPolicy(CURRENT)));
    expect((await cli(planArgs())).code).toBe(2);
    await writeFile(source, `${[...WANTED, '100.24.10.0/24'].join('\n')}\n`);
    const moved = await cli(['apply', saved, '--json']);
    expect(moved.code).toBe(3);
    expect(JSON.parse(moved.stdout)).toMatchObject({ status: 'refused', approvable: false });
    expect(await readFile(policy, 'utf8')).toBe(serializePolicy(renderDenyPolicy(CURRENT)));
  });

  it('a file that is not exactly a saved plan is an error naming what is wrong; FILE takes no --target', async () => {
    expect((await cli(planArgs())).code).toBe(2);
    const good = JSON.parse(await readFile(saved, 'utf8')) as Record<string, unknown>;
    await writeFile(saved, JSON.stringify({ ...good, planId: 'not-an-id', extra: true }));
    const bad = await cli(['apply', saved]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${saved} is not a saved plan of this version (allowlist-sync/plan-v1)`);
    expect(bad.stderr).toContain('planId: a plan id is 16 hex digits');
    expect(bad.stderr).toMatch(/Unrecognized key: "extra"/);
    await writeFile(saved, JSON.stringify(good));
    const both = await cli(['apply', saved, '--target', `file:${policy}`]);
    expect(both).toEqual({ code: 1, stdout: '', stderr: 'allowlist-sync: apply FILE takes its target and sources from the saved plan; --target cannot be given with it. Run "allowlist-sync apply --help" for usage.\n' });
    const missing = await cli(['apply', join(dir, 'nope.plan')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Cannot read the plan file');
    expect(await readFile(policy, 'utf8')).toBe(serializePolicy(renderDenyPolicy(CURRENT)));
  });

  it('an edited plan file is refused, writing nothing: another target (its id covers the target), other sources with their id', async () => {
    expect((await cli(planArgs())).code).toBe(2);
    const good = JSON.parse(await readFile(saved, 'utf8')) as { origin: Record<string, unknown>; planId: string };

    const other = join(dir, 'other.json');
    await writeFile(other, serializePolicy(renderDenyPolicy(CURRENT)));
    await writeFile(saved, JSON.stringify({ ...good, origin: { ...good.origin, target: `file:${other}` } }));
    const retargeted = await cli(['apply', saved, '--json']);
    expect(retargeted.code).toBe(3);
    expect(JSON.parse(retargeted.stdout)).toMatchObject({ status: 'refused', approvable: false });
    expect(await readFile(other, 'utf8')).toBe(serializePolicy(renderDenyPolicy(CURRENT)));

    // Sources swapped for a list that adds something else, with that list's own plan id: the document differs from the file's.
    const sneaky = join(dir, 'sneaky.txt');
    await writeFile(sneaky, `${[...CURRENT, '100.24.10.0/24'].join('\n')}\n`);
    const sneakyPlan = await cli(['plan', '--source', `file:${sneaky}`, '--target', `file:${policy}`, '--json']);
    const sneakyId = (JSON.parse(sneakyPlan.stdout) as { planId: string }).planId;
    await writeFile(saved, JSON.stringify({ ...good, planId: sneakyId, origin: { ...good.origin, sources: [`file:${sneaky}`] } }));
    const swapped = await cli(['apply', saved]);
    expect(swapped).toEqual({ code: 1, stdout: '', stderr: 'allowlist-sync: The plan file was edited: its document and its entries are not what its target and sources give; nothing was written. Plan again and review. Run "allowlist-sync apply --help" for usage.\n' });
    // The same with the document taken out of the file, so there is nothing to compare it with: still refused.
    const withoutDocument: Record<string, unknown> = { ...good };
    delete withoutDocument.document;
    await writeFile(saved, JSON.stringify({ ...withoutDocument, planId: sneakyId, origin: { ...good.origin, sources: [`file:${sneaky}`] } }));
    const undocumented = await cli(['apply', saved]);
    expect(undocumented.code).toBe(1);
    expect(undocumented.stderr).toContain('The plan file was edited: its document and its entries are not what its target and sources give; nothing was written.');
    expect(await readFile(policy, 'utf8')).toBe(serializePolicy(renderDenyPolicy(CURRENT)));
  });

  it('--json stays one object when the plan cannot be saved: the error, not the plan and then the error', async () => {
    const run = await cli(['plan', '--source', `file:${source}`, '--target', `file:${policy}`, '--out', join(dir, 'missing', 'x.plan'), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'error', code: 'usage', error: expect.stringContaining('Cannot write the plan to') });
  });

  it('a refused saved plan is applied only with --approve of its id', async () => {
    await writeFile(source, '203.0.113.0/24\n');
    const plan = await cli([...planArgs(), '--json']);
    expect(plan.code).toBe(3);
    const planId = (JSON.parse(plan.stdout) as { planId: string }).planId;
    const unapproved = await cli(['apply', saved]);
    expect(unapproved.code).toBe(1);
    expect(unapproved.stderr).toContain(`after review, apply it with --approve ${planId}`);
    const wrong = await cli(['apply', saved, '--approve', '0123456789abcdef']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`--approve 0123456789abcdef is not the saved plan's id (${planId})`);
    expect(await readFile(policy, 'utf8')).toBe(serializePolicy(renderDenyPolicy(CURRENT)));
    const approved = await cli(['apply', saved, '--approve', planId, '--json']);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ status: 'updated', approved: true, planId });
    expect(JSON.parse(await readFile(policy, 'utf8'))).toEqual(renderDenyPolicy(['203.0.113.0/24']));
  });
});
