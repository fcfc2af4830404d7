import { normalize } from '../../lambda/allowlist/cidr';
import { plan } from '../../lambda/allowlist/plan';
import { policySize, renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';

const desired = (...values: string[]) => normalize(values.map((value) => ({ value, source: 'test' })));
/** `20.0.0.0/24`, `20.0.2.0/24`, ...: n blocks that never merge. */
const spaced = (n: number): string[] => Array.from({ length: n }, (_, i) => `20.0.${i * 2}.0/24`);

describe('plan: the target\'s own size limit', () => {
  const entries = spaced(20);
  const size = policySize(serializePolicy(renderDenyPolicy(entries)));

  it('is ignored when the target gives none: the guard alone decides', () => {
    const p = plan({}, desired(...entries));
    expect(p).toMatchObject({ status: 'changes', sizeLimit: 6144, documentSize: size });
  });

  it('wins when it is lower than the guard, and refuses a document over it', () => {
    const p = plan({ sizeLimit: size - 1 }, desired(...entries));
    expect(p.sizeLimit).toBe(size - 1);
    expect(p.status).toBe('refused');
    expect(p.refusals).toEqual([{ code: 'size-limit', approvable: false, message: `the document would be ${size} characters, over the limit of ${size - 1}` }]);
  });

  it('accepts a document exactly at the target\'s limit', () => {
    expect(plan({ sizeLimit: size }, desired(...entries))).toMatchObject({ status: 'changes', sizeLimit: size });
  });

  it('never raises the guard: the lower of the two wins', () => {
    expect(plan({ sizeLimit: 10240 }, desired(...entries)).sizeLimit).toBe(6144);
    const p = plan({ sizeLimit: 10240 }, desired(...entries), { guards: { sizeLimit: size - 1 } });
    expect(p).toMatchObject({ status: 'refused', sizeLimit: size - 1 });
  });

  it('raises nothing for a higher guard either: a larger trust-policy quota needs both', () => {
    expect(plan({ sizeLimit: 2048 }, desired(...entries), { guards: { sizeLimit: 4096 } }).sizeLimit).toBe(2048);
    expect(plan({ sizeLimit: 4096 }, desired(...entries), { guards: { sizeLimit: 4096 } }).sizeLimit).toBe(4096);
  });

  it('keeps an undefined guard override from switching the target\'s limit off', () => {
    expect(plan({ sizeLimit: 100 }, desired(...entries), { guards: { sizeLimit: undefined } })).toMatchObject({ status: 'refused', sizeLimit: 100 });
  });

  it('does not enter the plan id: the same current document and desired list give the same id', () => {
    const current = serializePolicy(renderDenyPolicy(entries.slice(1)));
    expect(plan({ document: current, sizeLimit: 9000 }, desired(...entries)).planId).toBe(plan({ document: current }, desired(...entries)).planId);
  });
});
