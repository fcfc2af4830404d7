import { Cidr, aggregate, formatCidr, parseEntry, subtract } from './cidr';

// Per-target subsets of a shared list: a trust policy holds 2,048 characters, so a target may keep only the part
// of OCM's list it needs (`include`), or leave some out (`exclude`). Applied to addresses, not to spellings: an
// entry half inside an `include` block keeps that half.

/** A target's subset of its sources: CIDRs, canonical or not. */
export interface EntryFilters {
  /** Only addresses inside these blocks are kept. */
  include?: readonly string[];
  /** No address inside these blocks is kept. */
  exclude?: readonly string[];
}

/** One entry the filters changed: what was left out of it, and why. */
export interface FilteredEntry {
  /** The entry as the sources gave it (canonical, aggregated). */
  entry: string;
  /** The blocks of it left out (all of it when it is dropped whole). */
  left: string[];
  /** `not inside include` or `inside exclude`. */
  reason: 'not inside include' | 'inside exclude';
}

/** What the filters keep, and what they changed. */
export interface FilterOutcome {
  kept: Cidr[];
  filtered: FilteredEntry[];
}

function blocks(values: readonly string[] | undefined, what: string): Cidr[] | undefined {
  if (values === undefined) return undefined;
  return values.map((value) => {
    const parsed = parseEntry(value);
    if (!parsed.ok) throw new Error(`${what}: "${value}" is not a CIDR block (${parsed.reason})`);
    return parsed.cidr;
  });
}

/** True when a filter is set (an empty `include` is set, and keeps nothing). */
export function hasFilters(filters: EntryFilters | undefined): boolean {
  return filters?.include !== undefined || (filters?.exclude?.length ?? 0) > 0;
}

/**
 * Applies `include` then `exclude` to canonical blocks. Pure. Throws on a filter that is not a CIDR list (the
 * configuration is validated before; this is the last line).
 */
export function applyFilters(cidrs: readonly Cidr[], filters: EntryFilters | undefined): FilterOutcome {
  const include = blocks(filters?.include, 'include');
  const exclude = blocks(filters?.exclude, 'exclude') ?? [];
  const filtered: FilteredEntry[] = [];
  const kept: Cidr[] = [];
  for (const cidr of cidrs) {
    const outsideInclude = include ? subtract([cidr], include) : [];
    const inside = outsideInclude.length ? subtract([cidr], outsideInclude) : [cidr];
    if (outsideInclude.length) filtered.push({ entry: formatCidr(cidr), left: outsideInclude.map(formatCidr), reason: 'not inside include' });
    const left = exclude.length ? subtract(inside, exclude) : inside;
    const excluded = exclude.length ? subtract(inside, left) : [];
    if (excluded.length) filtered.push({ entry: formatCidr(cidr), left: excluded.map(formatCidr), reason: 'inside exclude' });
    kept.push(...left);
  }
  return { kept: aggregate(kept), filtered };
}
