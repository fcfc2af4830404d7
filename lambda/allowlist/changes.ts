import { blockSize, formatAddresses, formatCount } from './addresses';
import { Cidr, Family, parseEntry, subtract } from './cidr';
import type { Plan } from './plan';

// A plan's change as people read it: the entries added to and removed from the list as written, each with its
// address count, and the statements a hand edit had added or changed. Pure.

/** One line of a change: `+ 3.132.100.80/28 (16 addresses)`. */
export interface EntryLine {
  sign: '+' | '-';
  entry: string;
  /** `16 addresses`, or `256 addresses, 128 newly allowed` when part of it was allowed already. */
  note: string;
}

function parsed(entries: readonly string[]): Cidr[] {
  return entries.flatMap((e) => {
    const p = parseEntry(e);
    return p.ok ? [p.cidr] : [];
  });
}

function sizeOf(c: Cidr): bigint {
  return blockSize(c);
}

function countIn(blocks: readonly Cidr[]): bigint {
  return blocks.reduce((sum, c) => sum + sizeOf(c), 0n);
}

/** The entry lines of a plan: added entries first, then removed ones, each in list order. */
export function entryLines(plan: Pick<Plan, 'addedEntries' | 'removedEntries' | 'entries' | 'currentEntries'>): EntryLine[] {
  const current = parsed(plan.currentEntries);
  const desired = parsed(plan.entries);
  const lines: EntryLine[] = [];
  for (const entry of plan.addedEntries) {
    const p = parseEntry(entry);
    if (!p.ok) continue;
    const size = sizeOf(p.cidr);
    const fresh = countIn(subtract([p.cidr], current));
    lines.push({ sign: '+', entry, note: fresh === size ? formatAddresses(size) : `${formatAddresses(size)}, ${formatCount(fresh)} newly allowed` });
  }
  for (const entry of plan.removedEntries) {
    const p = parseEntry(entry);
    if (!p.ok) {
      lines.push({ sign: '-', entry, note: 'unreadable entry' });
      continue;
    }
    const size = sizeOf(p.cidr);
    const gone = countIn(subtract([p.cidr], desired));
    lines.push({ sign: '-', entry, note: gone === size ? formatAddresses(size) : `${formatAddresses(size)}, ${gone === 0n ? 'all still allowed' : `${formatCount(gone)} no longer allowed`}` });
  }
  return lines;
}

/** `+2 -1 entries (+272 / -32 IPv4 addresses)`: a one-line summary of the exact address difference. */
export function changeSummary(plan: Pick<Plan, 'addedEntries' | 'removedEntries' | 'added' | 'removed'>): string {
  const count = (blocks: readonly string[], family: Family): bigint => countIn(parsed(blocks).filter((c) => c.family === family));
  const parts: string[] = [];
  for (const family of [4, 6] as const) {
    const plus = count(plan.added, family);
    const minus = count(plan.removed, family);
    if (plus > 0n || minus > 0n) parts.push(`+${formatCount(plus)} / -${formatCount(minus)} IPv${family} addresses`);
  }
  return `+${plan.addedEntries.length} -${plan.removedEntries.length} entries${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** Lines about statements a hand edit added or changed, an Allow shouted. */
export function statementLines(plan: Pick<Plan, 'statementChanges'>): string[] {
  return plan.statementChanges.map((c) => {
    const alarm = c.allow ? 'ALLOW STATEMENT ' : '';
    if (c.change === 'removed') return `${alarm}removed: ${c.label} (added by hand, not by allowlist-sync)`;
    if (c.change === 'added') return `${alarm}brought back: ${c.label} (not written by allowlist-sync)`;
    if (c.change === 'adopted') return `${alarm}adopted: ${c.label}, rewritten as allowlist-sync's own statement (${c.detail ?? 'rewritten'})`;
    return `${alarm}edited: ${c.label}: ${c.detail ?? 'edited'}`;
  });
}

/** True when a hand edit put an Allow in the document: on a deny policy attached to roles that is an attack. */
export function hasAllow(plan: Pick<Plan, 'statementChanges'>): boolean {
  return plan.statementChanges.some((c) => c.allow);
}

/** How many filter lines a report shows before `and N more`. */
const FILTER_LINES = 20;

/** Lines about what the target's include / exclude filters left out of its sources' list, at most 20 and a count. */
export function filterLines(plan: Pick<Plan, 'filtered'>): string[] {
  const filtered = plan.filtered ?? [];
  const lines = filtered.slice(0, FILTER_LINES).map((f) => {
    const whole = f.left.length === 1 && f.left[0] === f.entry;
    return `${f.reason === 'inside exclude' ? 'excluded' : 'not included'}: ${whole ? f.entry : `${f.left.join(', ')} of ${f.entry}`}`;
  });
  if (filtered.length > FILTER_LINES) lines.push(`and ${filtered.length - FILTER_LINES} more`);
  return lines;
}
