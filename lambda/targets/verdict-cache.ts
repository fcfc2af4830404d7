import { createHash } from 'node:crypto';
import type { Refusal } from '../allowlist/guards';
import type { PolicyCheckRequest, PolicyVerifier } from '../ports';

// A fleet renders the same document for every account: asking IAM's simulator and Access Analyzer again for each
// would spend the hub's IAM rate on identical questions (50 accounts, ~600 simulations). So the shared verifier keeps
// each verdict for a while, keyed by what decides it: the policy type, the document, the tool's statement in it and
// the probe set. A check that throws (a failure, an unavailable check under `required`) is not kept: the next caller
// asks again. Callers of the same key at once share the one check under way.

/** How long a verdict is kept, and how many are. */
export interface VerdictCacheOptions {
  /** Milliseconds a verdict stays good (default an hour). */
  ttlMs?: number;
  /** Verdicts kept at most; the oldest goes first (default 100). */
  maxEntries?: number;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
  /** What besides the request's own fields decides the verdict (the probe set), as text to hash. */
  probeKey?: (request: PolicyCheckRequest) => string;
}

export const VERDICT_TTL_MS = 60 * 60 * 1000;
export const MAX_VERDICTS = 100;

interface Kept {
  at: number;
  verdict: Promise<Refusal | undefined>;
  settled: boolean;
}

/** The key of a request's verdict: a hash of everything that decides it, and of nothing else (not the target's name). */
export function verdictKey(request: PolicyCheckRequest, probes = ''): string {
  const parts = [request.policyType, request.document, String(request.ownStatement ?? ''), request.proof.action, String(request.proof.viaAwsServiceExemption), probes];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** `inner` with its verdicts kept as described above. */
export function cachedVerifier(inner: PolicyVerifier, options: VerdictCacheOptions = {}): PolicyVerifier {
  const ttl = options.ttlMs ?? VERDICT_TTL_MS;
  const max = options.maxEntries ?? MAX_VERDICTS;
  const now = options.now ?? Date.now;
  const kept = new Map<string, Kept>();
  return {
    async verify(request) {
      const key = verdictKey(request, options.probeKey?.(request) ?? '');
      const hit = kept.get(key);
      // One under way is shared whatever its age; a settled one only while it is fresh.
      if (hit && (!hit.settled || now() - hit.at < ttl)) return copy(await hit.verdict);
      if (hit) kept.delete(key);
      const entry: Kept = { at: now(), verdict: inner.verify(request), settled: false };
      kept.set(key, entry);
      while (kept.size > max) kept.delete(kept.keys().next().value as string);
      try {
        const verdict = await entry.verdict;
        entry.settled = true;
        entry.at = now();
        return copy(verdict);
      } catch (err) {
        if (kept.get(key) === entry) kept.delete(key);
        throw err;
      }
    },
  };
}

/** Each caller gets its own refusal object (a caller may add to it). */
const copy = (refusal: Refusal | undefined): Refusal | undefined => (refusal ? { ...refusal } : undefined);
