import type { Cidr, Family } from './block';

// Blocks `aws:SourceIp` can never see. Imports nothing at run time from cidr.ts, which uses it while normalizing.

/** Said once after the entries a plan refuses for it. */
export const NEVER_SEEN_EXPLANATION =
  'never seen by aws:SourceIp: IAM compares public source addresses only, and a request through a VPC endpoint carries none (for that traffic see the VPC exemption)';

/** A range whose addresses never appear as `aws:SourceIp`, and why. */
interface NeverSeen {
  family: Family;
  /** The first address, as a number (IPv4) or four 32-bit words (IPv6), for the fast paths. */
  network: bigint;
  prefix: number;
  text: string;
  why: string;
}

const RANGES: ReadonlyArray<[family: Family, network: bigint, prefix: number, text: string, why: string]> = [
  [4, 0x00000000n, 8, '0.0.0.0/8', '"this network" (RFC 791), never a source address'],
  [4, 0x0a000000n, 8, '10.0.0.0/8', 'private (RFC 1918)'],
  [4, 0x64400000n, 10, '100.64.0.0/10', 'shared carrier-grade NAT space (RFC 6598)'],
  [4, 0x7f000000n, 8, '127.0.0.0/8', 'loopback'],
  [4, 0xa9fe0000n, 16, '169.254.0.0/16', 'link-local'],
  [4, 0xac100000n, 12, '172.16.0.0/12', 'private (RFC 1918)'],
  [4, 0xc0a80000n, 16, '192.168.0.0/16', 'private (RFC 1918)'],
  [4, 0xe0000000n, 4, '224.0.0.0/4', 'multicast'],
  [4, 0xf0000000n, 4, '240.0.0.0/4', 'reserved (including the broadcast address)'],
  [6, 0n, 127, '::/127', 'the unspecified and loopback addresses'],
  [6, 0xfcn << 120n, 7, 'fc00::/7', 'unique-local (RFC 4193)'],
  [6, 0xfe80n << 112n, 10, 'fe80::/10', 'link-local'],
  [6, 0xffn << 120n, 8, 'ff00::/8', 'multicast'],
];

const NEVER_SEEN: readonly NeverSeen[] = RANGES.map(([family, network, prefix, text, why]) => ({ family, network, prefix, text, why }));

/**
 * Why (`private (RFC 1918), inside 10.0.0.0/8`) `aws:SourceIp` can never match a block wholly inside a private, shared, loopback, link-local,
 * "this network", multicast or reserved range (IAM sees public source addresses only, and a request through
 * a VPC endpoint carries none), or undefined for a block that may be seen. Documentation ranges (TEST-NET)
 * are not in the list: examples and tests use them. A block that merely contains such a range (a broad
 * public block) is judged by the breadth guard, not here.
 */
export function neverSeenReason(cidr: Cidr): string | undefined {
  const bits = cidr.family === 4 ? 32 : 128;
  for (const range of NEVER_SEEN) {
    if (range.family !== cidr.family || cidr.prefix < range.prefix) continue;
    const shift = BigInt(bits - range.prefix);
    if (cidr.network >> shift === range.network >> shift) {
      return `${range.why}, inside ${range.text}`;
    }
  }
  return undefined;
}

/** The same test for an IPv4 block as the fast path holds it (network as an unsigned 32-bit number). */
export function ipv4NeverSeen(network: number, prefix: number): boolean {
  for (const range of NEVER_SEEN) {
    if (range.family !== 4 || prefix < range.prefix) continue;
    const size = 2 ** (32 - range.prefix);
    if (Math.floor(network / size) === Number(range.network) / size) return true;
  }
  return false;
}

/** The same test for an IPv6 block as four 32-bit words, without BigInt (all the ranges sit in the first word but ::/127). */
export function ipv6NeverSeen(w0: number, w1: number, w2: number, w3: number, prefix: number): boolean {
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 <= 1 && prefix >= 127) return true;
  for (const range of NEVER_SEEN) {
    if (range.family !== 6 || range.prefix > 32 || prefix < range.prefix) continue;
    const top = Number(range.network >> 96n);
    const shift = 32 - range.prefix;
    if (w0 >>> shift === top >>> shift) return true;
  }
  return false;
}
