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

/** How a run asks for entries. */
export interface FetchOptions {
  /** 2 for the second, fresh read of a run whose plan removes entries. */
  read?: number;
  /** Epoch ms: the source must answer (or fail) by then, leaving the run time to write and announce. */
  deadline?: number;
}

/** Port: anything that yields allowlist entries (OCM, a file, a static list). */
export interface Source {
  /** Short name used in messages and results. */
  readonly name: string;
  /**
   * Fetches the entries; throws a SyncError when the source cannot be read. `read` 2 asks for a second, fresh
   * read in the same run (a plan that removes entries reads its sources twice and removes only what both lack).
   */
  fetch(options?: FetchOptions): Promise<SourceResult>;
}
