import type { Cidr, Family } from './cidr';
import { familyBits, subtract } from './cidr';

// How many addresses lists of blocks hold, and which blocks `aws:SourceIp` can never see.

/** Addresses of one family in a list of blocks (overlaps counted once). */
export function addressCount(cidrs: readonly Cidr[], family: Family): bigint {
  // subtract(a, []) returns the minimal, non-overlapping cover of a.
  let total = 0n;
  for (const c of subtract(cidrs.filter((x) => x.family === family), [])) total += 1n << BigInt(familyBits(family) - c.prefix);
  return total;
}

/** Addresses of one block. */
export function blockSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
}

/** `a / b` as a number in [0, 1] for address counts up to 2^128 (b > 0). */
export function fraction(a: bigint, b: bigint): number {
  if (b === 0n) return 0;
  // Scale so the division keeps 2^-40 precision without converting 128-bit counts to doubles directly.
  const scale = 1n << 40n;
  return Number((a * scale) / b) / Number(scale);
}

/**
 * A count for people: exact with thousands separators up to a million, else a power of two
 * (`2^72`) or an approximation (`~2^72.6`). Block sizes are always powers of two.
 */
export function formatCount(count: bigint): string {
  if (count < 1_000_000n) return count.toLocaleString('en-US');
  const bits = count.toString(2).length - 1;
  if (count === 1n << BigInt(bits)) return `2^${bits}`;
  const log2 = bits + Math.log2(Number(count >> BigInt(Math.max(0, bits - 52))) / 2 ** Math.min(bits, 52));
  return `~2^${log2.toFixed(1)}`;
}

/** `1 address`, `256 addresses`, `2^72 addresses`. */
export function formatAddresses(count: bigint): string {
  return `${formatCount(count)} address${count === 1n ? '' : 'es'}`;
}
