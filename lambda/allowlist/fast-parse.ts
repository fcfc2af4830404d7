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

/** A 128-bit number from four 32-bit words, most significant first. */
export function wordsToBigint(w0: number, w1: number, w2: number, w3: number): bigint {
  return (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
}

/**
 * The network and prefix of the common IPv6 spelling: hex groups with or without `::`, optional `/n`, host
 * bits clear, not IPv4-mapped. Undefined for anything else: those take the full parser. (normalize() uses
 * fastIpv6Key, which does the same without allocating.)
 */
export function fastIpv6(text: string): { network: bigint; prefix: number } | undefined {
  const keys = new Ipv6Keys();
  if (!fastIpv6Key(text, keys)) return undefined;
  const w = keys.words;
  return { network: wordsToBigint(w[0], w[1], w[2], w[3]), prefix: keys.prefixes[0] };
}

// IPv6 blocks as four 32-bit words, no BigInt until the output: BigInt arithmetic per entry made an IPv6
// entry cost ~5x an IPv4 one.

/** IPv6 blocks as four 32-bit words per network (most significant first) and a prefix, in growable typed arrays. */
export class Ipv6Keys {
  words = new Uint32Array(64);
  prefixes = new Uint8Array(16);
  count = 0;

  add(w0: number, w1: number, w2: number, w3: number, prefix: number): void {
    if (this.count === this.prefixes.length) {
      const words = new Uint32Array(this.words.length * 2);
      words.set(this.words);
      this.words = words;
      const prefixes = new Uint8Array(this.prefixes.length * 2);
      prefixes.set(this.prefixes);
      this.prefixes = prefixes;
    }
    const at = this.count * 4;
    this.words[at] = w0;
    this.words[at + 1] = w1;
    this.words[at + 2] = w2;
    this.words[at + 3] = w3;
    this.prefixes[this.count++] = prefix;
  }

  addBigint(network: bigint, prefix: number): void {
    this.add(Number((network >> 96n) & 0xffffffffn), Number((network >> 64n) & 0xffffffffn), Number((network >> 32n) & 0xffffffffn), Number(network & 0xffffffffn), prefix);
  }
}

const groups6 = new Array<number>(8).fill(0);
const words6 = [0, 0, 0, 0];

/** Like fastIpv6, but adds the block to `keys` without allocating; false for anything else (the full parser decides). */
export function fastIpv6Key(text: string, keys: Ipv6Keys): boolean {
  const n = text.length;
  let count = 0;
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
      if (++digits > 4) return false;
    }
    if (digits === 0 || count === 8) return false;
    groups6[count++] = group;
    if (i === n || text.charCodeAt(i) === 47) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n || text.charCodeAt(i) === 47) {
      return false;
    }
  }
  // `::` stands for one zero group or more (RFC 4291, and ipaddr.js agrees): with it, at most seven are written.
  if (gap >= 0 ? count > 7 : count !== 8) return false;
  let prefix = 128;
  if (i < n) {
    i++;
    if (i >= n || !isDigit(text.charCodeAt(i))) return false;
    prefix = text.charCodeAt(i++) - 48;
    while (prefix !== 0 && prefix <= 12 && i < n && isDigit(text.charCodeAt(i))) prefix = prefix * 10 + text.charCodeAt(i++) - 48;
    if (i !== n || prefix > 128) return false;
  }
  words6[0] = words6[1] = words6[2] = words6[3] = 0;
  const fill = 8 - count;
  for (let g = 0; g < count; g++) {
    const at = gap >= 0 && g >= gap ? g + fill : g;
    words6[at >> 1] += at % 2 === 0 ? groups6[g] * 65536 : groups6[g];
  }
  if (words6[0] === 0 && words6[1] === 0 && words6[2] === 0xffff) return false; // IPv4-mapped
  for (let w = 0; w < 4; w++) if ((words6[w] & hostMask32(prefix, w)) !== 0) return false; // host bits set
  keys.add(words6[0], words6[1], words6[2], words6[3], prefix);
  return true;
}

/** The host bits of word `w` (0 = most significant) under `prefix`, as a 32-bit mask. */
function hostMask32(prefix: number, w: number): number {
  const keep = prefix - 32 * w;
  return keep >= 32 ? 0 : keep <= 0 ? 0xffffffff : 0xffffffff >>> keep;
}

function trailingZeros128(v: Uint32Array): number {
  for (let w = 3; w >= 0; w--) if (v[w] !== 0) return 32 * (3 - w) + trailingZeros(v[w]);
  return 128;
}

/** floor(log2(last - first + 1)) of a non-empty 128-bit range. */
function floorLog2Span(first: Uint32Array, last: Uint32Array, scratch: Uint32Array): number {
  // span = last - first, then + 1
  let borrow = 0;
  for (let w = 3; w >= 0; w--) {
    let d = last[w] - first[w] - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 4294967296;
    scratch[w] = d;
  }
  let carry = 1;
  for (let w = 3; w >= 0 && carry; w--) {
    const s = scratch[w] + 1;
    carry = s === 4294967296 ? 1 : 0;
    scratch[w] = s;
  }
  if (carry) return 128; // the whole space
  for (let w = 0; w < 4; w++) if (scratch[w] !== 0) return 32 * (3 - w) + 31 - Math.clz32(scratch[w]);
  return 0;
}

/** first += 2^bits; false when it wraps past the end of the address space. */
function addPow2(first: Uint32Array, bits: number): boolean {
  let w = 3 - (bits >> 5);
  let add = 2 ** (bits & 31);
  while (w >= 0) {
    const s = first[w] + add;
    if (s < 4294967296) {
      first[w] = s;
      return true;
    }
    first[w] = s - 4294967296;
    add = 1;
    w--;
  }
  return false;
}

function compareWords(a: Uint32Array, aAt: number, b: Uint32Array, bAt: number): number {
  for (let w = 0; w < 4; w++) if (a[aAt + w] !== b[bAt + w]) return a[aAt + w] - b[bAt + w];
  return 0;
}

/** True when `first` (at words[at]) is at most last + 1. */
function reaches(words: Uint32Array, at: number, last: Uint32Array, next: Uint32Array): boolean {
  if (compareWords(words, at, last, 0) <= 0) return true;
  next.set(last);
  if (!addPow2(next, 0)) return true; // last is the top of the space
  return compareWords(words, at, next, 0) <= 0;
}

/** Aggregates IPv6 keys into the minimal cover, reported in address order as (w0..w3, prefix). */
export function aggregateIpv6(keys: Ipv6Keys, out: (w0: number, w1: number, w2: number, w3: number, prefix: number) => void): void {
  const n = keys.count;
  if (n === 0) return;
  const words = keys.words;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    const x = a * 4;
    const y = b * 4;
    return words[x] - words[y] || words[x + 1] - words[y + 1] || words[x + 2] - words[y + 2] || words[x + 3] - words[y + 3];
  });
  const first = new Uint32Array(4);
  const last = new Uint32Array(4);
  const blockLast = new Uint32Array(4);
  const scratch = new Uint32Array(4);
  let open = false;
  const split = (): void => {
    for (;;) {
      const hostBits = Math.min(trailingZeros128(first), floorLog2Span(first, last, scratch));
      out(first[0], first[1], first[2], first[3], 128 - hostBits);
      if (!addPow2(first, hostBits) || compareWords(first, 0, last, 0) > 0) return;
    }
  };
  for (let k = 0; k < n; k++) {
    const at = order[k] * 4;
    const prefix = keys.prefixes[order[k]];
    for (let w = 0; w < 4; w++) blockLast[w] = (words[at + w] | hostMask32(prefix, w)) >>> 0;
    if (open && reaches(words, at, last, scratch)) {
      if (compareWords(blockLast, 0, last, 0) > 0) last.set(blockLast);
    } else {
      if (open) split();
      for (let w = 0; w < 4; w++) first[w] = words[at + w];
      last.set(blockLast);
      open = true;
    }
  }
  split();
}
