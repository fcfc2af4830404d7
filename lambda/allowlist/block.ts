// The value types of an address block, apart from the code that parses and aggregates them (cidr.ts) and the code
// that judges them (never-seen.ts), so neither has to import the other's module for its types.

/** An IP family: 4 or 6. */
export type Family = 4 | 6;

/** A canonical CIDR block: the network address (host bits clear) and its prefix length. */
export interface Cidr {
  readonly family: Family;
  /** The first address of the block, as an unsigned integer. */
  readonly network: bigint;
  readonly prefix: number;
}
