import { createHash } from 'node:crypto';
import { SyncError, describeError } from '../errors';
import type { Log } from '../ports';
import type { Announcement } from '../state/types';
import type { AnnounceOptions, ResumeRecord } from '../ports';
import { renderPaused, renderResumed } from './pause-messages';
import { AlertContext, AlertEvent, AlertMessage, AlertOutcome, DetachedNews, failureCode, failureMessage, renderAlert, renderAnnouncement, renderDetached } from './messages';
import { AlertPublisher } from './publisher';
import { AlertState, AlertStateStore, boundedKey } from './state';

/** What to send, if anything, and the state to keep. */
export interface AlertDecision {
  event?: AlertEvent;
  state: AlertState;
  /** Whether `state` differs from the previous one and must be stored. */
  save: boolean;
}

/**
 * Failures that come and go with the weather (throttling, timeouts, networks, a busy lease): one key per code,
 * whatever the message says (the action, the page), so IAM throttling three runs in a row is one alert.
 */
const TRANSIENT_CODES: readonly string[] = ['iam-throttled', 'iam-unavailable', 'ocm-timeout', 'ocm-network', 'ocm-http', 'state-error', 'deadline', 'alert-publish-failed'];

/**
 * Identifies a failure across runs: `code:fingerprint`, the fingerprint a short sha256 of the code and the
 * message with run-specific noise (request ids, UUIDs, timestamps, long hex) blanked out, so the same failure
 * keeps the same key; transient failures are keyed by their code alone.
 */
export function failureKey(error: unknown): string {
  const code = failureCode(error);
  if (TRANSIENT_CODES.includes(code)) return boundedKey(`${code}:transient`);
  const message = failureMessage(error)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>')
    .replace(/\b[0-9a-f]{16,}\b/gi, '<hex>');
  const fingerprint = createHash('sha256').update(`${code}\n${message}`).digest('hex').slice(0, 12);
  return boundedKey(`${code.slice(0, 200)}:${fingerprint}`);
}

/**
 * Which alert a run deserves, given the last one. Pure. An update is always told; a refusal or a failure is
 * told once until it changes; the first success after one is told as a recovery; a quiet success is not told.
 */
export function decideAlert(previous: AlertState | undefined, outcome: AlertOutcome, now: Date = new Date()): AlertDecision {
  const at = now.toISOString();
  const ok: AlertState = { status: 'ok', at };
  if (!('result' in outcome)) {
    const key = failureKey(outcome.error);
    if (previous?.status === 'failed' && previous.key === key) return { state: previous, save: false };
    return { event: 'failed', state: { status: 'failed', key, at }, save: true };
  }
  const { result } = outcome;
  // An update is announced by the sync itself (through the outbox, so it survives a crash); here it only
  // ends whatever was wrong before.
  if (result.status === 'updated') return { state: ok, save: previous?.status !== 'ok' };
  // Nothing was decided: someone else holds the lease, or the target is paused.
  if (result.status === 'busy' || result.status === 'paused') return { state: previous ?? ok, save: false };
  if (result.status === 'refused') {
    const key = boundedKey(result.plan.planId);
    if (previous?.status === 'refused' && previous.key === key) return { state: previous, save: false };
    return { event: 'refused', state: { status: 'refused', key, at }, save: true };
  }
  // unchanged, or changes found by a dry run: nothing wrong.
  if (previous && previous.status !== 'ok') return { event: 'recovered', state: ok, save: true };
  if (previous) return { state: previous, save: false };
  return { state: ok, save: true };
}

/** Options of the Alerter. */
export interface AlerterOptions {
  context: AlertContext;
  publisher: AlertPublisher;
  store: AlertStateStore;
  log?: Log;
  now?: () => Date;
}

/** What `notify` did. */
export interface AlertReport {
  /** The event published, if any. */
  event?: AlertEvent;
  published: boolean;
  /** False when the new state could not be stored (the alert may then repeat next run). */
  stateSaved: boolean;
}

/**
 * Loads the alert state, decides, publishes, and stores the new state only after the publish succeeded, so
 * an alert that could not be sent is tried again on the next run. Never touches the policy document.
 */
export class Alerter {
  constructor(private readonly options: AlerterOptions) {}

  /** True when alerts go somewhere; without a topic, announcements stay owed in the state store. */
  get enabled(): boolean {
    return this.options.publisher.enabled;
  }

  private async publish(message: AlertMessage): Promise<void> {
    try {
      await this.options.publisher.publish(message);
    } catch (err) {
      if (err instanceof SyncError) throw err;
      throw new SyncError('alert-publish-failed', `Could not publish the "${message.event}" alert: ${describeError(err)}.`, 'The alert is sent again on the next run.', { cause: err });
    }
    this.options.log?.info('alert published', { event: message.event, subject: message.subject });
  }

  /** Publishes the `updated` alert of a write (now, or late for a run that could not). Throws `alert-publish-failed`. */
  async announce(announcement: Announcement, options: AnnounceOptions = {}): Promise<void> {
    // A pause is written like any plan and owed like any write, but told as what it is.
    await this.publish(announcement.pause ? renderPaused(this.options.context, announcement, options) : renderAnnouncement(this.options.context, announcement, options));
  }

  /** Publishes the `resumed` alert. Throws `alert-publish-failed`. */
  async resumed(resumed: ResumeRecord, options: { restoreNow: boolean }): Promise<void> {
    await this.publish(renderResumed(this.options.context, resumed, options));
  }

  /** Publishes the `detached` alert: principals the policy was found missing from. Throws `alert-publish-failed`. */
  async detached(news: readonly DetachedNews[]): Promise<void> {
    await this.publish(renderDetached(this.options.context, news));
  }

  /** Publishes an alert that is not about one sync result (a pause, a resume). */
  async send(message: AlertMessage): Promise<void> {
    await this.publish(message);
  }

  /** Records that all is well again, telling nothing (the caller told it its own way). */
  async markOk(): Promise<void> {
    await this.options.store.save({ status: 'ok', at: (this.options.now ?? (() => new Date()))().toISOString() });
  }

  /** The alert state as stored (undefined when none, or when it cannot be read). */
  async state(): Promise<AlertState | undefined> {
    try {
      return await this.options.store.load();
    } catch (err) {
      this.options.log?.warn('could not load the alert state', { error: describeError(err) });
      return undefined;
    }
  }

  /** Throws SyncError `alert-publish-failed` when the alert could not be published. */
  async notify(outcome: AlertOutcome): Promise<AlertReport> {
    const { publisher, store, log, context } = this.options;
    if (!publisher.enabled) {
      log?.info('alerts are off: no topic configured');
      return { published: false, stateSaved: false };
    }
    let previous: AlertState | undefined;
    try {
      previous = await store.load();
    } catch (err) {
      // Without the state we cannot tell a repeat from news: a duplicate alert beats silence.
      log?.warn('could not load the alert state; alerting as if there were none', { error: describeError(err) });
    }
    const decision = decideAlert(previous, outcome, (this.options.now ?? (() => new Date()))());
    let published = false;
    if (decision.event) {
      await this.publish(renderAlert(decision.event, context, outcome, previous));
      published = true;
    }
    let stateSaved = false;
    if (decision.save) {
      try {
        await store.save(decision.state);
        stateSaved = true;
      } catch (err) {
        log?.warn('could not save the alert state; the same alert may be sent again next run', { error: describeError(err), state: decision.state });
      }
    }
    return { ...(decision.event ? { event: decision.event } : {}), published, stateSaved };
  }
}
