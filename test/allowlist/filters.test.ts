import { applyFilters, filterLines, hasFilters, managedPolicyShape, normalize, plan, renderCondition, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist';

const entries = (values: string[]) => normalize(values.map((value) => ({ value, source: 'test' })));

describe('include / exclude filters', () => {
  test('include keeps only the addresses inside it, naming what it left out (half an entry stays half)', () => {
    const { kept, filtered } = applyFilters(entries(['3.0.0.0/23', '52.1.2.3', '2600:1f18::/48']).cidrs, { include: ['3.0.0.0/24', '2600:1f18::/32'] });
    expect(kept.map((c) => `${c.family}:${c.prefix}`)).toEqual(['4:24', '6:48']);
    expect(filtered).toEqual([
      { entry: '3.0.0.0/23', left: ['3.0.1.0/24'], reason: 'not inside include' },
      { entry: '52.1.2.3/32', left: ['52.1.2.3/32'], reason: 'not inside include' },
    ]);
  });

  test('exclude drops the addresses inside it; both together apply include first', () => {
    const { kept, filtered } = applyFilters(entries(['3.0.0.0/24', '52.1.2.0/24', '52.9.0.1']).cidrs, { include: ['52.0.0.0/8'], exclude: ['52.1.2.128/25'] });
    expect(filterLines({ filtered })).toEqual(['not included: 3.0.0.0/24', 'excluded: 52.1.2.128/25 of 52.1.2.0/24']);
    expect(kept).toHaveLength(2);
  });

  test('no filters, an empty exclude: nothing changes; an empty include is a filter that keeps nothing', () => {
    expect(hasFilters(undefined)).toBe(false);
    expect(hasFilters({ exclude: [] })).toBe(false);
    expect(hasFilters({ include: [] })).toBe(true);
    expect(applyFilters(entries(['3.0.0.0/24']).cidrs, { include: [] }).kept).toEqual([]);
  });

  test('a plan with filters renders the subset and names what was left out', () => {
    const p = plan({}, entries(['3.0.0.0/24', '52.1.2.3', '54.0.0.1']), { filters: { exclude: ['52.0.0.0/8'] } });
    expect(p.entries).toEqual(['3.0.0.0/24', '54.0.0.1/32']);
    expect(p.document).not.toContain('52.1.2.3');
    expect(p.filtered).toEqual([{ entry: '52.1.2.3/32', left: ['52.1.2.3/32'], reason: 'inside exclude' }]);
    expect(p.status).toBe('changes');
  });

  test('a filter that leaves nothing is a refusal that cannot be approved, naming the filters', () => {
    const p = plan({}, entries(['3.0.0.0/24', '52.1.2.3']), { filters: { include: ['198.51.100.0/24'] } });
    expect(p.status).toBe('refused');
    const refusal = p.refusals.find((r) => r.code === 'filtered-everything');
    expect(refusal).toMatchObject({ approvable: false });
    expect(refusal?.message).toBe("the target's include/exclude filters leave nothing of the 2 entries its sources give: fix the filters (or the sources)");
  });

  test('without filters a plan carries no `filtered` field (results stay as they were)', () => {
    expect(plan({}, entries(['3.0.0.0/24'])).filtered).toBeUndefined();
  });

  test('more than 20 filtered entries are shown as 20 lines and a count', () => {
    const many = Array.from({ length: 25 }, (_, i) => `52.${i}.0.1`);
    const p = plan({}, entries([...many, '3.0.0.1']), { filters: { exclude: ['52.0.0.0/8'] } });
    const lines = filterLines(p);
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('and 5 more');
  });
});

describe('the VPC exemption', () => {
  test('renders StringNotEqualsIfExists on aws:SourceVpc and aws:SourceVpce, a key only when it has ids', () => {
    expect(renderCondition(['3.0.0.0/24'], { vpcExemption: ['vpc-0123456789abcdef0', 'vpce-01234567'] })).toEqual({
      NotIpAddress: { 'aws:SourceIp': ['3.0.0.0/24'] },
      Bool: { 'aws:ViaAWSService': 'false' },
      StringNotEqualsIfExists: { 'aws:SourceVpc': ['vpc-0123456789abcdef0'], 'aws:SourceVpce': ['vpce-01234567'] },
    });
    expect(renderCondition(['3.0.0.0/24'], { vpcExemption: ['vpce-0123456789abcdef0'] }).StringNotEqualsIfExists).toEqual({ 'aws:SourceVpce': ['vpce-0123456789abcdef0'] });
    expect(renderCondition(['3.0.0.0/24'], { vpcExemption: [] }).StringNotEqualsIfExists).toBeUndefined();
  });

  test('an exemption added to a target in force is a change of the document (planned, not silent)', () => {
    const current = { document: serializePolicy(renderDenyPolicy(['3.0.0.0/24'])), versionId: 'v1' };
    const p = plan(current, entries(['3.0.0.0/24']), { shape: managedPolicyShape({ vpcExemption: ['vpce-0123456789abcdef0'] }) });
    expect(p.status).toBe('changes');
    expect(p.addedEntries).toEqual([]);
    expect(p.document).toContain('"aws:SourceVpce":["vpce-0123456789abcdef0"]');
  });
});
