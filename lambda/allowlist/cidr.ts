import * as ipaddr from 'ipaddr.js';
import { Ipv6Keys, aggregateIpv4, aggregateIpv6, fastIpv4Key, fastIpv6Key, packIpv4, wordsToBigint } from './fast-parse';
import type { Cidr, Family } from './block';
import { ipv4NeverSeen, ipv6NeverSeen, neverSeenReason } from './never-seen';

export type { Cidr, Family } from './block';

/** An entry that could not be understood; `source` says where it came from. */
export interface InvalidEntry {
  value: string;
  source: string;
  reason: string;
}

/** The result of parsing one entry: a block, possibly with a warning about how it was read. */
export type ParsedEntry =
  | { ok: true; cidr: Cidr; warning?: string }
  | { ok: false; reason: string };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const PREFIX_TEXT = /^(0|[1-9][0-9]{0,2})$/;
const MAPPED_V4_NETWORK = 0xffffn << 32n;

/** Number of bits in an address of this family. */
export function familyBits(family: Family): number {
  return BITS[family];
}

/** The last address of a block. */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.network + (1n << BigInt(BITS[cidr.family] - cidr.prefix)) - 1n;
}

function bytesToBigint(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

/**
 * Parses one allowlist entry: bare IPv4 (/32), IPv4 CIDR, IPv6 CIDR (any spelling), bare IPv6 (/128).
 * Host bits are cleared with a warning; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes plain IPv4, also
 * with a warning, because `aws:SourceIp` compares IPv4 callers against IPv4 blocks.
 */
export function parseEntry(text: string): ParsedEntry {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'empty entry' };
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash === -1 ? undefined : trimmed.slice(slash + 1);

  let family: Family;
  let address: bigint;
  // Checking the family first matters: ipaddr.js's validators throw and catch internally on a mismatch,
  // which costs tens of microseconds per entry.
  const looksV6 = addressText.includes(':');
  if (!looksV6 && ipaddr.IPv4.isValidFourPartDecimal(addressText)) {
    family = 4;
    address = bytesToBigint(ipaddr.IPv4.parse(addressText).toByteArray());
  } else if (looksV6 && !addressText.includes('%') && ipaddr.IPv6.isValid(addressText)) {
    // ipaddr.js reads an embedded IPv4 tail with its lenient IPv4 parser (hex, leading zeros) and turns the
    // deprecated IPv4-compatible `::a.b.c.d` into the IPv4-mapped `::ffff:a.b.c.d`: hold both to our rules.
    const tailStart = addressText.lastIndexOf(':') + 1;
    if (addressText.includes('.')) {
      if (!ipaddr.IPv4.isValidFourPartDecimal(addressText.slice(tailStart))) {
        return { ok: false, reason: 'the IPv4 part of an IPv6 address must be four decimal parts without leading zeros' };
      }
      if (addressText.slice(0, tailStart) === '::') {
        return { ok: false, reason: 'IPv4-compatible IPv6 (::a.b.c.d) is deprecated and ambiguous: write a.b.c.d or ::ffff:a.b.c.d' };
      }
    }
    family = 6;
    address = bytesToBigint(ipaddr.IPv6.parse(addressText).toByteArray());
  } else {
    return { ok: false, reason: 'not an IPv4 or IPv6 address (IPv4 must be four decimal parts without leading zeros)' };
  }

  let prefix = BITS[family];
  if (prefixText !== undefined) {
    if (!PREFIX_TEXT.test(prefixText)) return { ok: false, reason: `prefix "/${prefixText}" is not a number` };
    prefix = Number(prefixText);
    if (prefix > BITS[family]) {
      return { ok: false, reason: `prefix /${prefix} is longer than IPv${family} allows (/${BITS[family]})` };
    }
  }

  const warnings: string[] = [];
  const network = address & ~hostMask(family, prefix);
  if (network !== address) {
    warnings.push(`host bits set; using the network ${formatCidr({ family, network, prefix })}`);
  }
  let cidr: Cidr = { family, network, prefix };
  if (family === 6 && prefix >= 96 && network >> 32n === MAPPED_V4_NETWORK >> 32n) {
    cidr = { family: 4, network: network & 0xffffffffn, prefix: prefix - 96 };
    warnings.push(`IPv4-mapped IPv6 address; using ${formatCidr(cidr)}`);
  }
  return warnings.length > 0 ? { ok: true, cidr, warning: warnings.join('; ') } : { ok: true, cidr };
}

function bigintToBytes(value: bigint, length: number): number[] {
  const bytes = new Array<number>(length);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** Canonical text: IPv4 `a.b.c.d/n`, IPv6 RFC 5952 (compressed, lower case) with its prefix. */
export function formatCidr(cidr: Cidr): string {
  if (cidr.family === 4) {
    const n = Number(cidr.network);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${cidr.prefix}`;
  }
  const address = ipaddr.fromByteArray(bigintToBytes(cidr.network, 16)) as ipaddr.IPv6;
  return `${address.toRFC5952String()}/${cidr.prefix}`;
}

/** An inclusive address range within one family. */
interface Range {
  family: Family;
  first: bigint;
  last: bigint;
}

function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

/** Sorted, merged ranges covering exactly the blocks' addresses (overlapping or adjacent ones joined). */
function toRanges(cidrs: readonly Cidr[]): Range[] {
  const sorted = [...cidrs].sort(compareCidrs);
  const ranges: Range[] = [];
  let current: Range | undefined;
  for (const cidr of sorted) {
    const last = lastAddress(cidr);
    if (current && current.family === cidr.family && cidr.network <= current.last + 1n) {
      if (last > current.last) current.last = last;
    } else {
      current = { family: cidr.family, first: cidr.network, last };
      ranges.push(current);
    }
  }
  return ranges;
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** Splits a range into the fewest CIDR blocks, in address order. */
function rangeToCidrs(range: Range, out: Cidr[]): void {
  const bits = BITS[range.family];
  let first = range.first;
  while (first <= range.last) {
    // The largest block that starts at `first` is bounded by its alignment and by the range's end.
    const alignment = first === 0n ? bits : bitLength(first & -first) - 1;
    const fits = bitLength(range.last - first + 1n) - 1;
    const hostBits = Math.min(alignment, fits);
    out.push({ family: range.family, network: first, prefix: bits - hostBits });
    first += 1n << BigInt(hostBits);
  }
}

function rangesToCidrs(ranges: readonly Range[]): Cidr[] {
  const out: Cidr[] = [];
  for (const range of ranges) rangeToCidrs(range, out);
  return out;
}

/**
 * The minimal list of CIDR blocks covering exactly the same addresses as the input, in canonical order
 * (IPv4 before IPv6, numerically): duplicates and nested blocks vanish, adjacent aligned blocks merge.
 */
export function aggregate(cidrs: readonly Cidr[]): Cidr[] {
  const v4 = cidrs.filter((c) => c.family === 4);
  const keys = new Float64Array(v4.length);
  v4.forEach((c, i) => (keys[i] = packIpv4(Number(c.network), c.prefix)));
  const v6 = new Ipv6Keys();
  for (const c of cidrs) if (c.family === 6) v6.addBigint(c.network, c.prefix);
  return aggregateParts(keys, v4.length, v6);
}

/** IPv4 as packed numbers (the first `count` of `v4`), IPv6 as 32-bit words: see fast-parse.ts. */
function aggregateParts(v4: Float64Array, count: number, v6: Ipv6Keys): Cidr[] {
  const out: Cidr[] = [];
  aggregateIpv4(v4.subarray(0, count), (network, prefix) => out.push({ family: 4, network: BigInt(network), prefix }));
  aggregateIpv6(v6, (w0, w1, w2, w3, prefix) => out.push({ family: 6, network: wordsToBigint(w0, w1, w2, w3), prefix }));
  return out;
}

/** Addresses in `a` that are not in `b`, as a minimal CIDR list. */
export function subtract(a: readonly Cidr[], b: readonly Cidr[]): Cidr[] {
  const remove = toRanges(b);
  const result: Range[] = [];
  let j = 0;
  for (const range of toRanges(a)) {
    let first = range.first;
    const last = range.last;
    // Skip removal ranges entirely before this one (both lists are sorted by family, then address).
    while (j < remove.length && (remove[j].family < range.family || (remove[j].family === range.family && remove[j].last < first))) j++;
    let k = j;
    while (first <= last && k < remove.length && remove[k].family === range.family && remove[k].first <= last) {
      const cut = remove[k];
      if (cut.first > first) result.push({ family: range.family, first, last: cut.first - 1n });
      if (cut.last >= last) {
        first = last + 1n;
      } else {
        first = cut.last + 1n;
      }
      k++;
    }
    if (first <= last) result.push({ family: range.family, first, last });
  }
  return rangesToCidrs(result);
}

/** True when every address of `cidr` is inside the (aggregated or not) list `cover`. */
export function isCovered(cidr: Cidr, cover: readonly Cidr[]): boolean {
  return subtract([cidr], cover).length === 0;
}

/** One raw entry with the name of its source. */
export interface SourcedValue {
  value: string;
  source: string;
}

/** Validated, aggregated entries plus everything that could not be used. */
export interface NormalizedEntries {
  /** The aggregated, canonical blocks. */
  cidrs: Cidr[];
  /** Entries that were not valid addresses or blocks. */
  invalid: InvalidEntry[];
  /** Valid entries `aws:SourceIp` can never match (private, loopback, link-local...): left out, and refused by the plan. */
  neverSeen: InvalidEntry[];
  /** Notes for the operator, e.g. host bits cleared. */
  warnings: string[];
}

/** Validates every entry, then aggregates the valid ones. Invalid ones are reported, never guessed at. */
export function normalize(entries: readonly SourcedValue[]): NormalizedEntries {
  // The common IPv4 and IPv6 spellings skip the full parser (see fast-parse.ts); everything else takes it.
  let keys = new Float64Array(Math.max(16, entries.length));
  let count = 0;
  const v6 = new Ipv6Keys();
  const invalid: InvalidEntry[] = [];
  const neverSeen: InvalidEntry[] = [];
  const warnings: string[] = [];
  // Checked per entry as written, before aggregation: a private block merged into a public neighbour would hide.
  const unseen = (entry: SourcedValue, cidr: Cidr): void => {
    neverSeen.push({ value: entry.value, source: entry.source, reason: neverSeenReason(cidr) ?? 'never seen by aws:SourceIp' });
  };
  for (const entry of entries) {
    const key = fastIpv4Key(entry.value);
    if (key >= 0) {
      const network = Math.floor(key / 64);
      if (ipv4NeverSeen(network, key - network * 64)) unseen(entry, { family: 4, network: BigInt(network), prefix: key - network * 64 });
      else keys[count++] = key;
      continue;
    }
    if (fastIpv6Key(entry.value, v6)) {
      const at = (v6.count - 1) * 4;
      const w = v6.words;
      const prefix = v6.prefixes[v6.count - 1];
      if (ipv6NeverSeen(w[at], w[at + 1], w[at + 2], w[at + 3], prefix)) {
        v6.count--;
        unseen(entry, { family: 6, network: wordsToBigint(w[at], w[at + 1], w[at + 2], w[at + 3]), prefix });
      }
      continue;
    }
    const parsed = parseEntry(entry.value);
    if (!parsed.ok) {
      invalid.push({ value: entry.value, source: entry.source, reason: parsed.reason });
      continue;
    }
    if (parsed.warning) warnings.push(`${JSON.stringify(entry.value)} from ${entry.source}: ${parsed.warning}`);
    if (neverSeenReason(parsed.cidr) !== undefined) {
      unseen(entry, parsed.cidr);
    } else if (parsed.cidr.family === 6) {
      v6.addBigint(parsed.cidr.network, parsed.cidr.prefix);
    } else {
      if (count === keys.length) keys = growKeys(keys) as typeof keys;
      keys[count++] = packIpv4(Number(parsed.cidr.network), parsed.cidr.prefix);
    }
  }
  return { cidrs: aggregateParts(keys, count, v6), invalid, neverSeen, warnings };
}

function growKeys(keys: Float64Array): Float64Array {
  const bigger = new Float64Array(keys.length * 2);
  bigger.set(keys);
  return bigger;
}
