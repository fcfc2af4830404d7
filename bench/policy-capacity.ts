/**
 * Figure: how many distinct, non-adjacent IPv4 hosts fit one managed policy as the function renders it
 * (normalize → plan, measured with policySize), beside the most that 6,144 characters allow for that statement.
 *
 * The maximum: the rendered document with zero entries takes E characters (its source list is `[]`); n entries
 * add n × (length + 2 quotes) + (n − 1) commas. The shortest dotted quads are 7 characters (a.b.c.d, one digit
 * each), and there are thousands of them that are distinct and non-adjacent (d even), so
 * max = floor((6144 − E + 1) / (7 + 3)).
 */
import { MANAGED_POLICY_SIZE_LIMIT, type SourcedValue, normalize, plan, policySize, renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { Row, passIf, prng } from './stats';

/** 1.0.0.0, 1.0.0.2, … 9.9.9.8: 7-character hosts in ascending order, no two adjacent (so none merge). */
function shortestHosts(): string[] {
  const hosts: string[] = [];
  for (let a = 1; a <= 9; a++) for (let b = 0; b <= 9; b++) for (let c = 0; c <= 9; c++) for (let d = 0; d <= 8; d += 2) hosts.push(`${a}.${b}.${c}.${d}`);
  return hosts;
}

/** Hosts as they look in real lists (random public addresses, 11–15 characters), non-adjacent. */
function typicalHosts(count: number): string[] {
  const random = prng(7);
  const seen = new Set<number>();
  const hosts: string[] = [];
  while (hosts.length < count) {
    const n = ((16 + Math.floor(random() * 200)) * 2 ** 24 + Math.floor(random() * 2 ** 23) * 2) >>> 0;
    if (seen.has(n)) continue;
    seen.add(n);
    const host = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    // Only addresses a public list can hold: the never-seen ranges (private, shared, documentation...) are dropped.
    if (normalize([{ value: host, source: 'bench' }]).cidrs.length === 1) hosts.push(host);
  }
  return hosts;
}

/** The largest prefix of `hosts` whose plan is not refused for size (binary search; plan() sorts the entries). */
function fits(hosts: readonly string[]): { count: number; size: number } {
  const planFor = (n: number) => plan({}, normalize(hosts.slice(0, n).map((value): SourcedValue => ({ value, source: 'bench' }))));
  let low = 0;
  let high = hosts.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (planFor(mid).documentSize <= MANAGED_POLICY_SIZE_LIMIT) low = mid;
    else high = mid - 1;
  }
  const best = planFor(low);
  if (best.entries.length !== low) throw new Error(`capacity: ${low} hosts aggregated to ${best.entries.length} entries; the input must not merge`);
  if (best.refusals.some((r) => r.code === 'size-limit')) throw new Error('capacity: the plan refused a document within the size limit');
  return { count: low, size: best.documentSize };
}

export function policyCapacity(): Row[] {
  const empty = policySize(serializePolicy(renderDenyPolicy([])));
  const max = Math.floor((MANAGED_POLICY_SIZE_LIMIT - empty + 1) / (7 + 3));
  const shortest = fits(shortestHosts());
  const typical = fits(typicalHosts(2000));
  const share = shortest.count / max;
  return [
    {
      figure: 'Policy capacity, shortest IPv4 hosts',
      measured: `${shortest.count} of max ${max} (${(share * 100).toFixed(1)}%)`,
      spread: `${shortest.size} chars; empty doc ${empty}`,
      target: '≥ 99% of max',
      result: passIf(share >= 0.99),
      note: share < 0.99 ? `${max - shortest.count} entries short of the maximum` : undefined,
    },
    { figure: '  typical public IPv4 hosts (11–15 chars)', measured: `${typical.count} hosts`, spread: `${typical.size} chars` },
  ];
}
