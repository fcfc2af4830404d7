import { addressCount } from './addresses';
import { Cidr, parseEntry } from './cidr';
import type { Baseline } from './plan';

// The removal guard's memory: the largest allowlist in force within a window (default 7 days). Twelve runs
// that each remove 29% would otherwise take 100 entries to 3 without one refusal. Pure.

/** The baseline as kept between runs. */
export interface BaselineState {
  entries: string[];
  versionId?: string;
  /** When it became the baseline (ISO 8601). */
  since: string;
  /** When a smaller allowlist replaced it in force (ISO 8601); the window runs from then. */
  supersededAt?: string;
}

const DAY_MS = 86_400_000;

/** The baseline to measure against now, or undefined once its window has passed (or there is none). */
export function baselineInForce(state: BaselineState | undefined, now: Date, windowDays: number): Baseline | undefined {
  if (!state) return undefined;
  if (state.supersededAt && now.getTime() - Date.parse(state.supersededAt) > windowDays * DAY_MS) return undefined;
  return { entries: state.entries, ...(state.versionId !== undefined ? { versionId: state.versionId } : {}), since: state.since };
}

function cidrs(entries: readonly string[]): Cidr[] {
  return entries.flatMap((e) => {
    const p = parseEntry(e);
    return p.ok ? [p.cidr] : [];
  });
}

/** Larger: more entries; as many, more addresses (IPv4, then IPv6). */
function compare(a: readonly string[], b: readonly string[]): number {
  if (a.length !== b.length) return a.length - b.length;
  const [ca, cb] = [cidrs(a), cidrs(b)];
  for (const family of [4, 6] as const) {
    const d = addressCount(ca, family) - addressCount(cb, family);
    if (d !== 0n) return d > 0n ? 1 : -1;
  }
  return 0;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((e, i) => e === b[i]);

/**
 * The baseline once `entries` (at `versionId`) are in force: they become it when there is none in force, when
 * they are at least as large, or when an operator approved them (an approved mass removal starts a new
 * baseline, else every change for a week would be refused). A smaller list leaves the baseline standing, and
 * starts its window.
 */
export function nextBaseline(
  state: BaselineState | undefined,
  inForce: { entries: readonly string[]; versionId?: string },
  now: Date,
  windowDays: number,
  options: { approved?: boolean } = {},
): BaselineState {
  const at = now.toISOString();
  const fresh: BaselineState = { entries: [...inForce.entries], ...(inForce.versionId !== undefined ? { versionId: inForce.versionId } : {}), since: at };
  const current = baselineInForce(state, now, windowDays);
  if (!state || !current || options.approved) return fresh;
  if (sameList(inForce.entries, state.entries)) {
    // The baseline itself is back in force (a rollback, say): its window stops running.
    return { entries: state.entries, ...(inForce.versionId !== undefined ? { versionId: inForce.versionId } : state.versionId !== undefined ? { versionId: state.versionId } : {}), since: state.since };
  }
  if (compare(inForce.entries, state.entries) >= 0) return fresh;
  return { ...state, supersededAt: state.supersededAt ?? at };
}

/** Whether two baseline states differ (so a run knows whether to store one). */
export function baselineChanged(a: BaselineState | undefined, b: BaselineState | undefined): boolean {
  return JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);
}
