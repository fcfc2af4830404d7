/** Small helpers shared by the figures: statistics, formatting, the table's row type. */

/** One line of the table. `result` is left out for information-only lines. */
export interface Row {
  figure: string;
  measured: string;
  /** Spread of repeated runs, e.g. "min–max 41–57 ms, n=15". */
  spread?: string;
  target?: string;
  result?: 'pass' | 'MISS';
  /** Why a miss happened or how to read the line; printed under the table. */
  note?: string;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "min–max <unit>, n=<count>" of repeated measurements. */
export function spread(values: readonly number[], format: (v: number) => string): string {
  return `${format(Math.min(...values))}–${format(Math.max(...values))}, n=${values.length}`;
}

export function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}

/** Bytes in SI units (1 MB = 1,000,000 bytes), as the targets are written. */
export function bytes(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} MB`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} kB`;
  return `${value} B`;
}

export function rate(entriesPerSecond: number): string {
  return entriesPerSecond >= 1e6 ? `${(entriesPerSecond / 1e6).toFixed(2)} M/s` : `${(entriesPerSecond / 1e3).toFixed(0)} k/s`;
}

export function passIf(ok: boolean): 'pass' | 'MISS' {
  return ok ? 'pass' : 'MISS';
}

/** Deterministic PRNG (mulberry32): the same seed gives the same benchmark input on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` and returns its duration in milliseconds. */
export function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
