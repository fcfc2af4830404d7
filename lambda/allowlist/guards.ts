import { addressCount, formatAddresses, fraction } from './addresses';
import { Cidr, Family, NormalizedEntries, formatCidr, isCovered, subtract } from './cidr';
import { NEVER_SEEN_EXPLANATION } from './never-seen';
import { MANAGED_POLICY_SIZE_LIMIT } from './policy';
import type { StatementChange } from './statements';

/** Safety limits checked before anything is written. */
export interface Guards {
  /** Refuse a list with fewer entries than this (after aggregation). */
  minEntries: number;
  /** Refuse an IPv4 block broader than this prefix (8 means /0 to /7 are refused). */
  broadestIpv4Prefix: number;
  /** Refuse an IPv6 block broader than this prefix. */
  broadestIpv6Prefix: number;
  /**
   * Refuse removing more than this fraction (0..1) of the allowlist: of its entries, or of its IPv4 or IPv6
   * addresses, whichever is largest, measured against the current document and against the baseline.
   */
  maxRemovalFraction: number;
  /** Refuse a plan that newly allows more IPv4 addresses than this (65,536: one /16 worth). */
  maxAddedIpv4Addresses: number;
  /** Refuse a plan that newly allows more IPv6 addresses than one block of this prefix holds (40: one /40 worth). */
  maxAddedIpv6Prefix: number;
  /** How long the largest allowlist in force stays the removal guard's baseline, in days. */
  baselineWindowDays: number;
  /** How long an approval of a refused plan stays valid after the refusal, in hours. */
  approvalMaxAgeHours: number;
  /** Refuse a document larger than this many non-whitespace characters. */
  sizeLimit: number;
}

/** The defaults: at least one entry, nothing broader than /8 or /32, at most 30% removed, one /16 or /40 added, 6,144 characters. */
export const DEFAULT_GUARDS: Guards = {
  minEntries: 1,
  broadestIpv4Prefix: 8,
  broadestIpv6Prefix: 32,
  maxRemovalFraction: 0.3,
  maxAddedIpv4Addresses: 65_536,
  maxAddedIpv6Prefix: 40,
  baselineWindowDays: 7,
  approvalMaxAgeHours: 24,
  sizeLimit: MANAGED_POLICY_SIZE_LIMIT,
};

/**
 * The range of every guard setting: one table, read by the function's configuration, the CLI and the construct.
 * `[min, max, integer]`.
 */
export const GUARD_RANGES: Readonly<Record<keyof Guards, readonly [min: number, max: number, integer: boolean]>> = {
  minEntries: [1, 100_000, true],
  broadestIpv4Prefix: [0, 32, true],
  broadestIpv6Prefix: [0, 128, true],
  maxRemovalFraction: [0, 1, false],
  maxAddedIpv4Addresses: [0, 4_294_967_296, true],
  maxAddedIpv6Prefix: [0, 128, true],
  baselineWindowDays: [0, 90, false],
  approvalMaxAgeHours: [0, 24 * 30, false],
  sizeLimit: [1, 10_240, true],
};

/** Why a plan was refused. */
export interface Refusal {
  /**
   * Stable code: `empty`, `min-entries`, `catch-all`, `too-broad`, `never-seen`, `mass-removal`, `mass-addition`,
   * `foreign-statements`, `size-limit`, `invalid-entries`, `unreadable-current`, and those the run adds.
   */
  code: string;
  message: string;
  /** Whether an operator may apply the plan anyway by approving its id (an empty list never is). */
  approvable: boolean;
}

/** True when the plan was refused and every refusal may be overridden by approving its id. */
export function isApprovable(p: { refusals: readonly Refusal[] }): boolean {
  return p.refusals.length > 0 && p.refusals.every((r) => r.approvable);
}

/** A list the removal guard measures against: parsed entries plus how many could not be parsed (those vanish). */
export interface MeasuredList {
  cidrs: readonly Cidr[];
  unparsed: number;
}

/** How much of `reference` a desired list loses: of its entries, and of its addresses per family. */
export interface RemovalMeasure {
  lostEntries: number;
  totalEntries: number;
  /** Lost fraction of the reference's IPv4 / IPv6 addresses (0 for a family it does not hold). */
  ipv4: number;
  ipv6: number;
  /** The largest of the entry fraction and the two address fractions. */
  worst: number;
}

/**
 * The removal measure: the larger of the fraction of entries no longer fully allowed and, per family, the
 * fraction of addresses no longer allowed. Dropping a /16 that is 1 of 10 entries is 10% of the entries but
 * 99.99% of the addresses, and counts as the latter. Families are measured apart: one IPv6 /56 outweighs every
 * IPv4 address there is.
 */
export function removalMeasure(reference: MeasuredList, desired: readonly Cidr[]): RemovalMeasure {
  const totalEntries = reference.cidrs.length + reference.unparsed;
  const lostEntries = reference.cidrs.filter((c) => !isCovered(c, desired)).length + reference.unparsed;
  const lost = subtract(reference.cidrs, desired);
  const share = (family: Family): number => fraction(addressCount(lost, family), addressCount(reference.cidrs, family));
  const ipv4 = share(4);
  const ipv6 = share(6);
  const entryShare = totalEntries === 0 ? 0 : lostEntries / totalEntries;
  return { lostEntries, totalEntries, ipv4, ipv6, worst: Math.max(entryShare, ipv4, ipv6) };
}

const percent = (f: number): string => `${f >= 0.995 && f < 1 ? '99.5+' : Math.round(f * 100)}%`;

/** `4 of 10 current entries ... (40%)`, with the address shares that are worse than the entry share. */
function describeRemoval(m: RemovalMeasure, which: string): string {
  const entryShare = m.totalEntries === 0 ? 0 : m.lostEntries / m.totalEntries;
  const parts = [percent(entryShare)];
  if (m.ipv4 > entryShare) parts.push(`${percent(m.ipv4)} of the IPv4 addresses`);
  if (m.ipv6 > entryShare) parts.push(`${percent(m.ipv6)} of the IPv6 addresses`);
  return `${m.lostEntries} of ${m.totalEntries} ${which} entries would be removed (${parts.join(', ')})`;
}

/** What the guards look at. */
export interface GuardInput {
  desired: NormalizedEntries;
  /** The allowlist in force; undefined when adopting (nothing, the placeholder, no `aws:SourceIp` statement). */
  current?: MeasuredList;
  /** The baseline in force, when there is one (and not adopting). */
  baseline?: MeasuredList & { versionId?: string; since?: string };
  size: number;
  guards: Guards;
  /** Statements an adoption would drop (the policy was not written by allowlist-sync). */
  foreign: readonly StatementChange[];
  /**
   * The sources' blocks before the target's include / exclude filters, when it has them: a catch-all or a too-broad
   * entry in the sources is refused even when the filters cut it down (they narrow a list; they do not make a
   * hostile one safe).
   */
  unfiltered?: readonly Cidr[];
}

function quoted(values: readonly { value: string; source: string; reason: string }[]): string {
  const shown = values.slice(0, 20).map((e) => `${JSON.stringify(e.value.length > 100 ? `${e.value.slice(0, 97)}...` : e.value)} from ${e.source} (${e.reason})`);
  return `${shown.join(', ')}${values.length > 20 ? `, and ${values.length - 20} more` : ''}`;
}

/** Every guard, in a fixed order. Pure. */
export function guardRefusals(input: GuardInput): Refusal[] {
  const { desired, current, baseline, size, guards } = input;
  const cidrs = desired.cidrs;
  const refusals: Refusal[] = [];
  if (desired.invalid.length > 0) {
    const n = desired.invalid.length;
    refusals.push({ code: 'invalid-entries', approvable: false, message: `${n} invalid entr${n === 1 ? 'y' : 'ies'}: ${quoted(desired.invalid)}` });
  }
  if (desired.neverSeen.length > 0) {
    const n = desired.neverSeen.length;
    refusals.push({ code: 'never-seen', approvable: false, message: `${n} entr${n === 1 ? 'y' : 'ies'} can never match a request: ${quoted(desired.neverSeen)}; ${NEVER_SEEN_EXPLANATION}` });
  }
  if (cidrs.length === 0) {
    refusals.push({ code: 'empty', approvable: false, message: 'the allowlist is empty: writing it would deny every request' });
  } else if (cidrs.length < guards.minEntries) {
    refusals.push({ code: 'min-entries', approvable: true, message: `only ${cidrs.length} entries, fewer than the minimum of ${guards.minEntries}` });
  }
  const judged = input.unfiltered ?? cidrs;
  const before = input.unfiltered ? ' in the sources (before the target\'s include/exclude)' : '';
  const catchAll = judged.filter((c) => c.prefix === 0);
  if (catchAll.length > 0) {
    refusals.push({ code: 'catch-all', approvable: false, message: `${catchAll.map(formatCidr).join(' and ')}${before} allows every address: the policy would protect nothing` });
  }
  const broad = judged.filter((c) => c.prefix > 0 && c.prefix < (c.family === 4 ? guards.broadestIpv4Prefix : guards.broadestIpv6Prefix));
  if (broad.length > 0) {
    refusals.push({
      code: 'too-broad',
      approvable: true,
      message: `entries${before} broader than IPv4 /${guards.broadestIpv4Prefix} or IPv6 /${guards.broadestIpv6Prefix} would allow too much: ${broad.map(formatCidr).join(', ')}`,
    });
  }
  if (current) {
    const removes = current.unparsed > 0 || subtract(current.cidrs, cidrs).length > 0;
    const vsCurrent = removalMeasure(current, cidrs);
    const vsBaseline = baseline && removes ? removalMeasure(baseline, cidrs) : undefined;
    if (removes && vsCurrent.worst > guards.maxRemovalFraction) {
      refusals.push({
        code: 'mass-removal',
        approvable: true,
        message: `${describeRemoval(vsCurrent, 'current')}, more than the ${percent(guards.maxRemovalFraction)} allowed`,
      });
    } else if (vsBaseline && vsBaseline.worst > guards.maxRemovalFraction) {
      // Many small removals add up: measured against the largest allowlist in force within the window.
      refusals.push({
        code: 'mass-removal',
        approvable: true,
        message:
          `${describeRemoval(vsBaseline, 'baseline')} counting earlier changes, more than the ${percent(guards.maxRemovalFraction)} allowed: ` +
          `the baseline is the largest allowlist in force within ${guards.baselineWindowDays} days (${baseline?.versionId ?? 'kept in the state store'}${baseline?.since ? `, since ${baseline.since}` : ''})`,
      });
    }
    const added = subtract(cidrs, current.cidrs);
    const added4 = addressCount(added, 4);
    const added6 = addressCount(added, 6);
    const budget6 = 1n << BigInt(128 - guards.maxAddedIpv6Prefix);
    if (added4 > BigInt(guards.maxAddedIpv4Addresses) || added6 > budget6) {
      const over = [
        ...(added4 > BigInt(guards.maxAddedIpv4Addresses) ? [`${formatAddresses(added4)} of IPv4 (at most ${formatAddresses(BigInt(guards.maxAddedIpv4Addresses))})`] : []),
        ...(added6 > budget6 ? [`${formatAddresses(added6)} of IPv6 (at most one /${guards.maxAddedIpv6Prefix}, ${formatAddresses(budget6)})`] : []),
      ];
      refusals.push({ code: 'mass-addition', approvable: true, message: `the change would newly allow ${over.join(' and ')} in one step` });
    }
  }
  if (input.foreign.length > 0) {
    const names = input.foreign.map((c) => `${c.allow ? 'an ALLOW statement, ' : ''}${c.label}`);
    refusals.push({
      code: 'foreign-statements',
      approvable: true,
      message: `adopting this policy would drop ${names.length} statement${names.length === 1 ? '' : 's'} allowlist-sync did not write: ${names.join('; ')}; move ${names.length === 1 ? 'it' : 'them'} to another policy, or approve to drop ${names.length === 1 ? 'it' : 'them'}`,
    });
  }
  if (size > guards.sizeLimit) {
    refusals.push({ code: 'size-limit', approvable: false, message: `the document would be ${size} characters, over the limit of ${guards.sizeLimit}` });
  }
  return refusals;
}
