import type { AlertState, StateStore, TargetRecord } from '../state/types';

export type { AlertState, AlertStatus } from '../state/types';

/** Where the alert state is kept. */
export interface AlertStateStore {
  /** The saved state, or undefined when none was ever saved. */
  load(): Promise<AlertState | undefined>;
  save(state: AlertState): Promise<void>;
}

/** A key safe to keep and show anywhere (codes and fingerprints): letters, digits and `_ . : / = + - @`, at most 256. */
export function boundedKey(text: string): string {
  return text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256);
}

const STATUSES: readonly string[] = ['ok', 'refused', 'failed'];

/** Keeps the state in memory only: for tests, and a process that keeps nothing between invocations. */
export class MemoryAlertStateStore implements AlertStateStore {
  constructor(public state?: AlertState) {}

  async load(): Promise<AlertState | undefined> {
    return this.state ? { ...this.state } : undefined;
  }

  async save(state: AlertState): Promise<void> {
    this.state = { ...state };
  }
}

/**
 * The alert state in the target's record of the state store: never in tags on the protected resource, where
 * a full tag set or a hand edit could suppress, repeat or break alerts. `prefetched` is the record the run
 * already loaded (no second read); a value that is not a known state counts as none (alerting again beats silence).
 */
export function recordAlertStateStore(store: StateStore, key: string, prefetched?: () => TargetRecord | undefined): AlertStateStore {
  return {
    async load() {
      const alert = (prefetched?.() ?? (await store.load(key))).alert;
      if (!alert || !STATUSES.includes(alert.status) || typeof alert.at !== 'string') return undefined;
      return alert;
    },
    async save(state) {
      await store.update(key, { alert: state });
    },
  };
}
