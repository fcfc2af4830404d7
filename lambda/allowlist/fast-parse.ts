// Fast paths for the common spellings of entries.
//
// IPv4 blocks as plain numbers: lists of 10^5..10^6 entries aggregate in well under a second this way,
// where BigInt arithmetic and ipaddr.js objects per entry cost ~20 µs each. Blocks are packed into one
// double, network * 64 + prefix (< 2^38, exact), so a Float64Array sorts them natively by network, then
// broadest first.

/** Packs an IPv4 block (network as an unsigned 32-bit number) into a sortable number. */
export function packIpv4(network: number, prefix: number): number {
  return network * 64 + prefix;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The packed block for the common spelling `a.b.c.d` or `a.b.c.d/n` (decimal, no leading zeros, host bits
 * clear), or -1 for anything else: those take the full parser, which explains errors and warnings.
 */
export function fastIpv4Key(text: string): number {
  const n = text.length;
  let i = 0;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (i >= n || !isDigit(text.charCodeAt(i))) return -1;
    let octet = text.charCodeAt(i++) - 48;
    if (octet === 0) {
      if (i < n && isDigit(text.charCodeAt(i))) return -1;
    } else {
      while (i < n && isDigit(text.charCodeAt(i))) {
        octet = octet * 10 + text.charCodeAt(i++) - 48;
        if (octet > 255) return -1;
      }
    }
    value = value * 256 + octet;
    if (part < 3) {
      if (i >= n || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  let prefix = 32;
  if (i < n) {
    if (text.charCodeAt(i++) !== 47 || i >= n || !isDigit(text.charCodeAt(i))) return -1;
    prefix = text.charCodeAt(i++) - 48;
    if (prefix !== 0 && i < n && isDigit(text.charCodeAt(i))) prefix = prefix * 10 + text.charCodeAt(i++) - 48;
    if (i !== n || prefix > 32) return -1;
    if (value % 2 ** (32 - prefix) !== 0) return -1;
  }
  return packIpv4(value, prefix);
}

/** Number of trailing zero bits of a 32-bit unsigned number (32 for 0). */
function trailingZeros(value: number): number {
  return value === 0 ? 32 : 31 - Math.clz32(value & -value);
}

/** floor(log2(count)) for 1 <= count <= 2^32. */
function floorLog2(count: number): number {
  return count >= 4294967296 ? 32 : 31 - Math.clz32(count);
}

/** Appends the fewest blocks covering [first, last] to `out` as (network, prefix) pairs. */
function splitRange(first: number, last: number, out: (network: number, prefix: number) => void): void {
  while (first <= last) {
    const hostBits = Math.min(trailingZeros(first), floorLog2(last - first + 1));
    out(first, 32 - hostBits);
    first += 2 ** hostBits;
  }
}

/**
 * Aggregates packed IPv4 blocks (the array is sorted in place) into the minimal cover of the same addresses,
 * reported in address order.
 */
export function aggregateIpv4(keys: Float64Array, out: (network: number, prefix: number) => void): void {
  keys.sort();
  let first = -1;
  let last = -1;
  for (let k = 0; k < keys.length; k++) {
    const network = Math.floor(keys[k] / 64);
    const end = network + 2 ** (32 - (keys[k] - network * 64)) - 1;
    if (first >= 0 && network <= last + 1) {
      if (end > last) last = end;
    } else {
      if (first >= 0) splitRange(first, last, out);
      first = network;
      last = end;
    }
  }
  if (first >= 0) splitRange(first, last, out);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The network and prefix of the common IPv6 spelling: hex groups with or without `::`, optional `/n`, host
 * bits clear, not IPv4-mapped. Undefined for anything else: those take the full parser.
 */
export function fastIpv6(text: string): { network: bigint; prefix: number } | undefined {
  const n = text.length;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (n >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < n && text.charCodeAt(i) !== 47) {
    let group = 0;
    let digits = 0;
    let h: number;
    while (i < n && (h = hexValue(text.charCodeAt(i))) >= 0) {
      group = group * 16 + h;
      i++;
      if (++digits > 4) return undefined;
    }
    if (digits === 0) return undefined;
    groups.push(group);
    if (i === n || text.charCodeAt(i) === 47) break;
    if (text.charCodeAt(i) !== 58) return undefined; // '.', '%' or anything else: the full parser decides
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    } else if (i === n || text.charCodeAt(i) === 47) {
      return undefined; // a trailing single colon
    }
  }
  if (gap >= 0 ? groups.length > 7 : groups.length !== 8) return undefined;
  let prefix = 128;
  if (i < n) {
    i++;
    if (i >= n || !isDigit(text.charCodeAt(i))) return undefined;
    prefix = text.charCodeAt(i++) - 48;
    while (prefix !== 0 && prefix <= 12 && i < n && isDigit(text.charCodeAt(i))) prefix = prefix * 10 + text.charCodeAt(i++) - 48;
    if (i !== n || prefix > 128) return undefined;
  }
  // Four 32-bit words, most significant first; the groups after '::' go to the end.
  const words = [0, 0, 0, 0];
  const fill = 8 - groups.length;
  for (let g = 0; g < groups.length; g++) {
    const at = gap >= 0 && g >= gap ? g + fill : g;
    words[at >> 1] += at % 2 === 0 ? groups[g] * 65536 : groups[g];
  }
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return undefined; // IPv4-mapped
  const network = (BigInt(words[0]) << 96n) | (BigInt(words[1]) << 64n) | (BigInt(words[2]) << 32n) | BigInt(words[3]);
  if (prefix < 128 && (network & ((1n << BigInt(128 - prefix)) - 1n)) !== 0n) return undefined;
  return { network, prefix };
}
