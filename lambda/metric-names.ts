// The metrics the sync function emits (EMF; dimension `service` = the target's name), named once: the emitter
// (run.ts, handler.ts), the construct's alarms and any dashboard read these.

/** Every metric name, by what it counts. */
export const METRIC = {
  /** 1 when a run ended without failing or refusing (unchanged, updated, busy), else 0. */
  syncSucceeded: 'SyncSucceeded',
  /** 1 when a run wrote a new document. */
  policyUpdated: 'PolicyUpdated',
  /** 1 when the guards refused a change. */
  refused: 'Refused',
  /** Entries added / removed by a write. */
  entriesAdded: 'EntriesAdded',
  entriesRemoved: 'EntriesRemoved',
  /** Entries in the desired allowlist. */
  allowlistEntries: 'AllowlistEntries',
  /** The document's size, and what is left under its limit (non-whitespace characters). */
  policySizeChars: 'PolicySizeChars',
  policySizeHeadroom: 'PolicySizeHeadroom',
  /** Milliseconds the run took. */
  syncDuration: 'SyncDuration',
  /** An alert (or announcement) that could not be published. */
  alertPublishFailed: 'AlertPublishFailed',
  /** Another writer changed the document around this run's write. */
  concurrentWriter: 'ConcurrentWriter',
  /** Another writer held the lease for the whole wait. */
  busy: 'Busy',
  /** Principals the policy was newly found detached from (attachTo*). */
  detached: 'Detached',
  /** The attachment check could not be made (e.g. iam:ListEntitiesForPolicy denied). */
  attachmentCheckFailed: 'AttachmentCheckFailed',
  /** A fleet's accounts not synced this run because no stack instance of theirs is CURRENT (the fleet's dimension). */
  fleetAccountsSkipped: 'FleetAccountsSkipped',
  /**
   * A run over a whole fleet (the fleet's dimension): its accounts refused by a guard, failed, and the two together
   * (not synced this run). CloudWatch alarms cannot select the accounts' own `service` values by prefix, so the
   * fleet's alarms read these roll-ups; discovery failed or a run of one account: none emitted.
   */
  fleetAccountsRefused: 'FleetAccountsRefused',
  fleetAccountsFailed: 'FleetAccountsFailed',
  fleetAccountsNotSynced: 'FleetAccountsNotSynced',
} as const;

/** One metric name. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Every metric name, in a stable order. */
export const METRIC_NAMES: readonly MetricName[] = Object.values(METRIC);
