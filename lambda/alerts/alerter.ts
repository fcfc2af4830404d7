import { createHash } from 'node:crypto';
import { SyncError, describeError } from '../errors';
import type { Log } from '../sync';
import { AlertContext, AlertEvent, AlertMessage, AlertOutcome, failureCode, failureMessage, renderAlert } from './messages';
import { AlertPublisher } from './publisher';
import { AlertState, AlertStateStore, toTagValue } from './state';

/** What to send, if anything, and the state to keep. */
export interface AlertDecision {
  event?: AlertEvent;
  state: AlertState;
  /** Whether `state` differs from the previous one and must be stored. */
  save: boolean;
}

/**
 * Identifies a failure across runs: `code:fingerprint`, the fingerprint a short sha256 of the code and the
 * message with run-specific noise (request ids, UUIDs, timestamps, long hex) blanked out, so the same failure
 * keeps the same key. Safe as an IAM tag value.
 */
export function failureKey(error: unknown): string {
  const code = failureCode(error);
  const message = failureMessage(error)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>')
    .replace(/\b[0-9a-f]{16,}\b/gi, '<hex>');
  const fingerprint = createHash('sha256').update(`${code}\n${message}`).digest('hex').slice(0, 12);
  return toTagValue(`${code.slice(0, 200)}:${fingerprint}`);
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
  if (result.status === 'updated') return { event: 'updated', state: ok, save: true };
  if (result.status === 'refused') {
    const key = toTagValue(result.plan.planId);
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
  /**
   * An `updated` alert that could not be published. A refusal, a failure or a recovery is decided again by the
   * next run (its state was not saved), but an update is not: the next run finds the policy unchanged. So it is
   * kept and sent first by this container's next run (a cold start loses it; the run's error and log keep it).
   */
  private unsent?: AlertMessage;

  constructor(private readonly options: AlerterOptions) {}

  private async publish(message: AlertMessage): Promise<void> {
    try {
      await this.options.publisher.publish(message);
    } catch (err) {
      if (err instanceof SyncError) throw err;
      throw new SyncError('alert-publish-failed', `Could not publish the "${message.event}" alert: ${describeError(err)}.`, 'The alert is sent again on the next run.', { cause: err });
    }
    this.options.log?.info('alert published', { event: message.event, subject: message.subject });
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
    if (this.unsent) {
      await this.publish(this.unsent);
      this.unsent = undefined;
    }
    let published = false;
    if (decision.event) {
      const message = renderAlert(decision.event, context, outcome, previous);
      try {
        await this.publish(message);
      } catch (err) {
        if (message.event === 'updated') this.unsent = message;
        throw err;
      }
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
