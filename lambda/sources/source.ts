/** One allowlist entry exactly as a source gave it, before validation. */
export interface RawEntry {
  /** The text as received, e.g. `10.0.0.1`, `2001:DB8::/32`. */
  value: string;
  /** Where it came from, for error messages, e.g. `ocm`, `file:ips.json`, `static:EXTRA_CIDRS`. */
  source: string;
}

/** What one source returned. */
export interface SourceResult {
  /** The source's name, as in `RawEntry.source`. */
  source: string;
  /** Every entry to allow, unvalidated. */
  entries: RawEntry[];
  /** Entries the source deliberately left out (e.g. OCM items with `enabled: false`). */
  skipped: number;
}

/** Port: anything that yields allowlist entries (OCM, a file, a static list). */
export interface Source {
  /** Short name used in messages and results. */
  readonly name: string;
  /** Fetches the entries; throws a SyncError when the source cannot be read. */
  fetch(): Promise<SourceResult>;
}
