import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist/policy';
import { SyncError } from '../lambda/errors';
import { fileSource } from '../lambda/sources/file';
import { Source } from '../lambda/ports';
import { staticSource } from '../lambda/sources/static';
import { memoryStateStore } from '../lambda/state/json-store';
import { Log, sync } from '../lambda/sync';
import { fileTarget } from '../lambda/targets/file';
import { CurrentPolicy, Target, TargetRefusedError, WriteRequest, WriteResult } from '../lambda/ports';

const doc = (...entries: string[]): string => serializePolicy(renderDenyPolicy(entries));
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.0.${i * 2}.0/24`);

/** An IAM-like target in memory: versions v1, v2, ...; `writes` records every write. */
class MemoryTarget implements Target {
  readonly name = 'memory';
  readonly key = 'memory';
  readonly versioned = true;
  readonly writes: WriteRequest[] = [];
  failWith?: Error;
  constructor(
    public document?: string,
    public version = 1,
  ) {}
  async read(): Promise<CurrentPolicy> {
    return this.document === undefined ? {} : { document: encodeURIComponent(JSON.stringify(JSON.parse(this.document), null, 4)), versionId: `v${this.version}` };
  }
  async write(request: WriteRequest): Promise<WriteResult> {
    if (this.failWith) throw this.failWith;
    this.writes.push(request);
    const previousVersionId = this.document === undefined ? undefined : `v${this.version}`;
    this.document = request.document;
    this.version++;
    return previousVersionId ? { versionId: `v${this.version}`, previousVersionId } : { versionId: `v${this.version}` };
  }
}

function recordingLog(): Log & { lines: [string, string, Record<string, unknown> | undefined][] } {
  const lines: [string, string, Record<string, unknown> | undefined][] = [];
  return {
    lines,
    info: (message, extra) => lines.push(['info', message, extra]),
    warn: (message, extra) => lines.push(['warn', message, extra]),
  };
}

describe('sync', () => {
  it('dry run: reports the changes and writes nothing', async () => {
    const target = new MemoryTarget(doc(...spaced(3)));
    const result = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, dryRun: true });
    expect(result).toMatchObject({ status: 'changes', target: 'memory', approved: false, warnings: [] });
    expect(result.plan).toMatchObject({ status: 'changes', added: ['192.0.2.0/24'], removed: [], baseVersionId: 'v1' });
    expect(target.writes).toEqual([]);
  });

  it('applies a plan: writes its document once, with plan id and base version', async () => {
    const target = new MemoryTarget(doc(...spaced(3)));
    const log = recordingLog();
    const result = await sync({ sources: [staticSource([...spaced(3), '192.0.2.0/24'])], target, log });
    expect(result).toMatchObject({ status: 'updated', versionId: 'v2', previousVersionId: 'v1', approved: false });
    expect(target.writes).toEqual([{ document: doc(...spaced(3), '192.0.2.0/24'), planId: result.plan.planId, baseVersionId: 'v1' }]);
    expect(log.lines).toEqual([
      ['info', 'policy updated', { target: 'memory', planId: result.plan.planId, added: ['192.0.2.0/24'], removed: [], versionId: 'v2', previousVersionId: 'v1' }],
    ]);
  });

  it('is idempotent: a second run changes nothing', async () => {
    const target = new MemoryTarget();
    const sources = [staticSource(['20.0.0.0/25', '20.0.0.128/25'])];
    expect((await sync({ sources, target })).status).toBe('updated');
    const again = await sync({ sources, target });
    expect(again.status).toBe('unchanged');
    expect(again.plan).toMatchObject({ added: [], removed: [], entries: ['20.0.0.0/24'] });
    expect(target.writes).toHaveLength(1);
  });

  it('is idempotent against a real file target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'allowlist-sync-'));
    try {
      const target = fileTarget(join(dir, 'policy.json'));
      const sources = [fileSource(join(__dirname, 'fixtures', 'ocm-trusted-ips.json'))];
      const first = await sync({ sources, target });
      expect(first.status).toBe('updated');
      expect(first.plan.entries).toEqual(['3.20.58.12/32', '3.21.130.171/32', '3.132.100.80/28', '52.15.23.0/26', '2600:1f18:24d7:1000::/56', '2a05:d018:1234::/48']);
      expect(first.sources).toEqual([{ source: `file:${join(__dirname, 'fixtures', 'ocm-trusted-ips.json')}`, entries: 7, skipped: 1 }]);
      const written = await readFile(join(dir, 'policy.json'), 'utf8');
      expect((await sync({ sources, target })).status).toBe('unchanged');
      expect(await readFile(join(dir, 'policy.json'), 'utf8')).toBe(written);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unions several sources and reports each', async () => {
    const target = new MemoryTarget();
    const result = await sync({
      sources: [staticSource('20.0.0.0/25, 2001:db8::/32', 'static:a'), staticSource(['20.0.0.128/25', '2001:DB8::/32'], 'static:b')],
      target,
      dryRun: true,
    });
    expect(result.plan.entries).toEqual(['20.0.0.0/24', '2001:db8::/32']);
    expect(result.sources).toEqual([
      { source: 'static:a', entries: 2, skipped: 0 },
      { source: 'static:b', entries: 2, skipped: 0 },
    ]);
  });

  it('reports and logs normalization warnings', async () => {
    const log = recordingLog();
    const result = await sync({ sources: [staticSource(['20.0.0.1/24'], 'static:x')], target: new MemoryTarget(), dryRun: true, log });
    expect(result.warnings).toEqual(['"20.0.0.1/24" from static:x: host bits set; using the network 20.0.0.0/24']);
    expect(log.lines).toEqual([['warn', '"20.0.0.1/24" from static:x: host bits set; using the network 20.0.0.0/24', undefined]]);
  });

  it('a refusal writes nothing and names the invalid entry and its source', async () => {
    const target = new MemoryTarget(doc(...spaced(3)));
    const result = await sync({ sources: [staticSource([...spaced(3), '10.0.0'], 'static:EXTRA_CIDRS')], target });
    expect(result.status).toBe('refused');
    expect(result.plan.reasons).toEqual([
      '1 invalid entry: "10.0.0" from static:EXTRA_CIDRS (not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros))',
    ]);
    expect(target.writes).toEqual([]);
  });

  it('applies a refused plan approved by its exact id', async () => {
    const target = new MemoryTarget(doc(...spaced(10)));
    const sources = [staticSource(spaced(5))];
    // The refusal is recorded in the state store: the approval answers it.
    const state = memoryStateStore();
    const refused = await sync({ sources, target, state });
    expect(refused.status).toBe('refused');
    expect(refused.plan.refusals).toEqual([
      { code: 'mass-removal', approvable: true, message: '5 of 10 current entries would be removed (50%), more than the 30% allowed' },
    ]);
    expect(target.writes).toEqual([]);

    const approved = await sync({ sources, target, state, approve: refused.plan.planId });
    expect(approved).toMatchObject({ status: 'updated', approved: true, versionId: 'v2' });
    expect(approved.plan.planId).toBe(refused.plan.planId);
    // v1 became the removal baseline when the refused run first saw it: it is protected from pruning.
    expect(target.writes).toEqual([{ document: doc(...spaced(5)), planId: refused.plan.planId, baseVersionId: 'v1', protect: ['v1'] }]);
  });

  it('writes no new version when an approved plan is already in place', async () => {
    // One entry, below a minimum of 2: refused, approvable, but the document is already current.
    const target = new MemoryTarget(doc('20.0.0.0/24'));
    const sources = [staticSource(['20.0.0.0/24'])];
    const state = memoryStateStore();
    const refused = await sync({ sources, target, state, plan: { guards: { minEntries: 2 } } });
    expect(refused.plan.refusals.map((r) => r.code)).toEqual(['min-entries']);
    const approved = await sync({ sources, target, state, plan: { guards: { minEntries: 2 } }, approve: refused.plan.planId });
    expect(approved).toMatchObject({ status: 'unchanged', approved: true });
    expect(target.writes).toEqual([]);
  });

  it('keeps refusing when the approved id is not the plan computed now', async () => {
    const target = new MemoryTarget(doc(...spaced(10)));
    const refused = await sync({ sources: [staticSource(spaced(5))], target });
    // The list changed between review and approval.
    const result = await sync({ sources: [staticSource(spaced(4))], target, approve: refused.plan.planId });
    expect(result).toMatchObject({ status: 'refused', approved: false });
    expect(result.plan.planId).not.toBe(refused.plan.planId);
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['mass-removal', 'approval-mismatch']);
    expect(result.plan.refusals[1]).toEqual({
      code: 'approval-mismatch',
      approvable: true,
      message: `the plan changed since it was approved: approved ${refused.plan.planId}, the plan is now ${result.plan.planId}; review it and approve the new id`,
    });
    expect(result.plan.reasons).toEqual(result.plan.refusals.map((r) => r.message));
    expect(target.writes).toEqual([]);
  });

  it('keeps refusing when the target moved to another version since the approval', async () => {
    const target = new MemoryTarget(doc(...spaced(10)));
    const sources = [staticSource(spaced(5))];
    const refused = await sync({ sources, target });
    target.version = 2;
    const result = await sync({ sources, target, approve: refused.plan.planId });
    expect(result.status).toBe('refused');
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['mass-removal', 'approval-mismatch']);
    expect(target.writes).toEqual([]);
  });

  it('cannot approve an empty list', async () => {
    const target = new MemoryTarget(doc('20.0.0.0/24'));
    const refused = await sync({ sources: [staticSource('')], target });
    expect(refused.plan.refusals.map((r) => [r.code, r.approvable])).toEqual([
      ['empty', false],
      ['mass-removal', true],
    ]);
    const result = await sync({ sources: [staticSource('')], target, approve: refused.plan.planId });
    expect(result).toMatchObject({ status: 'refused', approved: false });
    expect(result.plan.refusals.at(-1)).toEqual({ code: 'not-approvable', approvable: false, message: 'approval cannot override: empty' });
    expect(target.writes).toEqual([]);
  });

  it('cannot approve invalid entries or a catch-all', async () => {
    const target = new MemoryTarget(doc('20.0.0.0/24'));
    const sources = [staticSource(['20.0.0.0/24', '0.0.0.0/0', 'bogus'])];
    const refused = await sync({ sources, target });
    const result = await sync({ sources, target, approve: refused.plan.planId });
    expect(result.plan.reasons.at(-1)).toBe('approval cannot override: invalid-entries, catch-all');
    expect(target.writes).toEqual([]);
  });

  it('reports a target’s refusal as a refused run', async () => {
    const target = new MemoryTarget();
    target.failWith = new TargetRefusedError('IAM refused the document: it exceeds the managed policy size limit');
    const result = await sync({ sources: [staticSource('20.0.0.0/24')], target });
    expect(result.status).toBe('refused');
    expect(result.plan.refusals).toEqual([
      { code: 'target-refused', approvable: false, message: 'IAM refused the document: it exceeds the managed policy size limit' },
    ]);
    expect(result.plan.reasons).toEqual(['IAM refused the document: it exceeds the managed policy size limit']);
  });

  it('lets any other write failure through', async () => {
    const target = new MemoryTarget();
    target.failWith = new SyncError('target-file', 'Cannot write the policy file x: EACCES.');
    await expect(sync({ sources: [staticSource('20.0.0.0/24')], target })).rejects.toBe(target.failWith);
  });

  it('writes nothing when a source fails', async () => {
    const target = new MemoryTarget(doc('20.0.0.0/24'));
    const broken: Source = {
      name: 'broken',
      fetch: async () => {
        throw new SyncError('source-ocm', 'OCM answered 503.');
      },
    };
    await expect(sync({ sources: [staticSource('20.0.0.0/24'), broken], target })).rejects.toThrow('OCM answered 503.');
    expect(target.writes).toEqual([]);
  });

  it('passes plan options through (guards and shape)', async () => {
    const target = new MemoryTarget();
    const result = await sync({ sources: [staticSource('20.0.0.0/24')], target, dryRun: true, plan: { guards: { minEntries: 2 } } });
    expect(result.plan.refusals.map((r) => r.code)).toEqual(['min-entries']);
  });
});
