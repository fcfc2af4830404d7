// IP addresses and blocks as the evaluator reads them: a request's `aws:SourceIp`, a policy's blocks, and sorted
// ranges of blocks that answer "which block holds this address?" by binary search. Pure.
import { Family, lastAddress, parseEntry } from './cidr';
import { fastIpv4Key, fastIpv6 } from './fast-parse';

/** One IP address: IPv4-mapped IPv6 addresses are IPv4. */
export type SourceAddress = { family: Family; value: bigint };

/** Parses a request's `aws:SourceIp` (an address, no prefix). Throws on anything else. */
export function parseSourceAddress(text: string): SourceAddress {
  const key = text.includes('/') ? -1 : fastIpv4Key(text);
  if (key >= 0) return { family: 4, value: BigInt(Math.floor(key / 64)) };
  const parsed = text.includes('/') ? undefined : parseEntry(text);
  if (!parsed?.ok) throw new Error(`the request's sourceIp ${JSON.stringify(text)} is not an IP address`);
  return { family: parsed.cidr.family, value: parsed.cidr.network };
}

/** The index of the range holding `value` in sorted, disjoint ranges, or -1. */
function search<T extends number | bigint>(firsts: readonly T[], lasts: readonly T[], value: T): number {
  let low = 0;
  let high = firsts.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (firsts[mid] <= value) low = mid + 1;
    else high = mid - 1;
  }
  return high >= 0 && lasts[high] >= value ? high : -1;
}

/** An address inside the evaluator: IPv4 as a plain number, so the hot path makes no BigInt. */
export type FastAddress = { family: 4; value: number } | { family: 6; value: bigint };

/** The address in the form the hot paths compare: IPv4 as a number, IPv6 as a bigint. */
export const fast = (address: SourceAddress): FastAddress => (address.family === 4 ? { family: 4, value: Number(address.value) } : { family: 6, value: address.value });

function open<T>(ranges: { firsts: T[]; lasts: T[] }, first: T, last: T): void {
  ranges.firsts.push(first);
  ranges.lasts.push(last);
}

/** Sorted, merged address ranges of both families, searched in O(log n). */
export class AddressRanges {
  private constructor(
    private readonly v4: { firsts: number[]; lasts: number[] },
    private readonly v6: { firsts: bigint[]; lasts: bigint[] },
  ) {}

  /** The ranges of blocks as written (policy values, entries), or why one is not a block. IPv4 takes no BigInt. */
  static parse(texts: readonly string[]): AddressRanges | { reason: string } {
    const keys = new Float64Array(texts.length); // IPv4 as network * 64 + prefix: sorts natively (see fast-parse.ts)
    let count = 0;
    const v6: { first: bigint; last: bigint }[] = [];
    for (const text of texts) {
      const key = fastIpv4Key(text);
      if (key >= 0) {
        keys[count++] = key;
        continue;
      }
      const block = parseBlock(text);
      if ('reason' in block) return block;
      if (block.family === 4) keys[count++] = Number(block.first) * 64 + 32 - Math.round(Math.log2(Number(block.last - block.first) + 1));
      else v6.push(block);
    }
    const sorted = keys.subarray(0, count).sort();
    const v4 = { firsts: [] as number[], lasts: [] as number[] };
    for (const key of sorted) {
      const first = Math.floor(key / 64);
      const last = first + 2 ** (32 - (key - first * 64)) - 1;
      const end = v4.lasts.length - 1;
      if (end >= 0 && first <= v4.lasts[end] + 1) v4.lasts[end] = Math.max(v4.lasts[end], last);
      else open(v4, first, last);
    }
    const ranges = { firsts: [] as bigint[], lasts: [] as bigint[] };
    for (const { first, last } of v6.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))) {
      const end = ranges.lasts.length - 1;
      if (end >= 0 && first <= ranges.lasts[end] + 1n) ranges.lasts[end] = last > ranges.lasts[end] ? last : ranges.lasts[end];
      else open(ranges, first, last);
    }
    return new AddressRanges(v4, ranges);
  }

  /** The index of the merged range holding the address, or -1. */
  indexOf(address: FastAddress): number {
    return address.family === 4 ? search(this.v4.firsts, this.v4.lasts, address.value) : search(this.v6.firsts, this.v6.lasts, address.value);
  }

  contains(address: SourceAddress): boolean {
    return this.indexOf(fast(address)) !== -1;
  }

  /** The merged range holding the address, or undefined. */
  rangeOf(address: SourceAddress): { first: bigint; last: bigint } | undefined {
    const { firsts, lasts } = address.family === 4 ? this.v4 : this.v6;
    const i = this.indexOf(fast(address));
    return i === -1 ? undefined : { first: BigInt(firsts[i]), last: BigInt(lasts[i]) };
  }
}

/** The address range of a block as written in a policy or a list, or why it is not one. */
export function parseBlock(text: string): { family: Family; first: bigint; last: bigint } | { reason: string } {
  const key = fastIpv4Key(text);
  if (key >= 0) {
    const network = Math.floor(key / 64);
    const first = BigInt(network);
    return { family: 4, first, last: first + (1n << BigInt(32 - (key - network * 64))) - 1n };
  }
  if (text.includes(':') && !text.includes('/')) {
    // IAM: "If you specify an IP address without the associated routing prefix, IAM uses the default prefix value of
    // /32" — for IPv6 that is not the address alone, so the evaluator does not guess.
    return { reason: `the IPv6 address ${JSON.stringify(text)} has no prefix, which IAM reads as /32` };
  }
  const v6 = fastIpv6(text);
  if (v6) return { family: 6, first: v6.network, last: v6.network + (1n << BigInt(128 - v6.prefix)) - 1n };
  const parsed = parseEntry(text);
  if (!parsed.ok) return { reason: `${JSON.stringify(text)} is not an IP address or block (${parsed.reason})` };
  return { family: parsed.cidr.family, first: parsed.cidr.network, last: lastAddress(parsed.cidr) };
}
