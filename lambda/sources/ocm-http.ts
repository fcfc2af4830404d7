/**
 * The HTTP plumbing the OCM source shares between Red Hat SSO and the OCM API: keep-alive connections
 * (http-transport.ts), bounded time and size, retries only where they are safe, no redirects, no secrets in messages.
 *
 * Redirects are refused, same host included: neither endpoint redirects, so a 3xx means a wrong URL or
 * something in between, and following it could hand the bearer token or client secret to another server.
 * The error names the target so a person can fix OCM_API_URL / OCM_TOKEN_URL deliberately.
 */
import { SyncError } from '../errors';
import { TIMEOUT_CODES, type TransportRequest, type TransportResponse, exchange } from './http-transport';
import { displayUrl } from './ocm-redact';
import type { OcmLogger, SecretRedactor } from './ocm-redact';

/** One HTTP attempt about to be sent, for counting round trips (benchmarks, tests, metrics). */
export interface OcmRequestEvent {
  /** `token` for Red Hat SSO, `api` for OCM. */
  kind: 'token' | 'api';
  method: 'GET' | 'POST';
  /** The URL as safe to print (no credentials, no secret query values). */
  url: string;
  /** 1 for the first try, 2+ for retries of the same request. */
  attempt: number;
}

/** Time, size and retry limits; every field has a production default and may be shortened in tests. */
export interface OcmHttpSettings {
  /** TCP+TLS connect timeout of a new connection (a reused keep-alive connection is connected already). */
  connectTimeoutMs: number;
  /** Time allowed between sending the request and the complete response headers. */
  headersTimeoutMs: number;
  /** Longest pause allowed between two chunks of the body. */
  bodyTimeoutMs: number;
  /** Bound on one whole attempt (connect, headers, body), enforced with an AbortSignal. */
  requestTimeoutMs: number;
  /** Largest response body accepted; the stream is cut as soon as it is exceeded. */
  maxResponseBytes: number;
  /** Tries per request, the first one included (429, 5xx, network errors and timeouts only). */
  attempts: number;
  /** First backoff delay; doubled on each retry, with jitter. */
  baseDelayMs: number;
  /** Cap on a computed backoff delay. */
  maxDelayMs: number;
  /** Cap on a server's `Retry-After`, so a hostile or confused server cannot park the function. */
  maxRetryAfterMs: number;
}

/** Production defaults: a whole attempt is bounded at 15 s, a body at 5 MB, three tries. */
export const DEFAULT_OCM_HTTP_SETTINGS: Readonly<OcmHttpSettings> = Object.freeze({
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  maxResponseBytes: 5 * 1024 * 1024,
  attempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 20_000,
});

/** Milliseconds to wait for a `Retry-After` value (delta seconds or HTTP date); undefined if unusable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names a weekday and month; this keeps Date.parse from reading "-3" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A complete response whose body was read within the size cap. */
export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The URL that was requested. */
  url: URL;
}

/** One logical request; `send` may try it several times. */
export interface HttpCall {
  kind: OcmRequestEvent['kind'];
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** Aborts everything (the whole-fetch deadline). */
  signal?: AbortSignal;
}

/** What the HTTP layer needs from its owner; everything but the settings is injectable for tests. */
export interface OcmHttpDeps {
  settings: OcmHttpSettings;
  /** The exchange itself; default Node's HTTP client over keep-alive agents (http-transport.ts). Tests inject faults here. */
  transport?: (request: TransportRequest) => Promise<TransportResponse>;
  logger: OcmLogger;
  redactor: SecretRedactor;
  onRequest?: (event: OcmRequestEvent) => void;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
  userAgent: string;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Human label of the remote end, for messages. */
export function peerLabel(kind: OcmRequestEvent['kind']): string {
  return kind === 'token' ? 'Red Hat SSO' : 'OCM';
}


type Failure =
  | { type: 'reply'; reply: HttpReply }
  | { type: 'timeout'; detail: string }
  | { type: 'network'; detail: string; cause: unknown };

/** Sends requests with the rules above. A 4xx other than 429 is returned, not thrown: the caller knows its meaning. */
export class OcmHttp {
  constructor(private readonly deps: OcmHttpDeps) {}

  /**
   * Sends `call`, retrying 429, 5xx, network errors and timeouts with jittered exponential backoff
   * (honouring a capped `Retry-After`). Returns the last reply (even a 5xx once retries are spent);
   * throws `SyncError` for redirects, oversized bodies, timeouts and network failures.
   */
  async send(call: HttpCall): Promise<HttpReply> {
    const { settings, logger } = this.deps;
    const where = `${call.method} ${displayUrl(call.url)}`;
    let last: Failure | undefined;
    for (let attempt = 1; attempt <= settings.attempts; attempt++) {
      if (call.signal?.aborted) break;
      this.deps.onRequest?.({ kind: call.kind, method: call.method, url: displayUrl(call.url), attempt });
      last = await this.attempt(call);
      const retryable = last.type !== 'reply' || last.reply.status === 429 || last.reply.status >= 500;
      if (!retryable || attempt === settings.attempts) break;
      const delayMs = this.delayBefore(attempt + 1, last);
      logger.warn(`${peerLabel(call.kind)} request failed, retrying`, {
        request: where,
        attempt,
        of: settings.attempts,
        problem: last.type === 'reply' ? `HTTP ${last.reply.status}` : last.detail,
        retryInMs: delayMs,
      });
      try {
        await this.deps.sleep(delayMs, call.signal);
      } catch {
        break;
      }
    }
    if (call.signal?.aborted) throw this.deadlineError(call);
    if (!last) throw this.deadlineError(call);
    if (last.type === 'reply') return last.reply;
    const tries = `${settings.attempts} ${settings.attempts === 1 ? 'try' : 'tries'}`;
    if (last.type === 'timeout') {
      throw new SyncError(
        'ocm-timeout',
        `${peerLabel(call.kind)} did not answer ${where} in time (${last.detail}; ${tries}).`,
        `Check ${peerLabel(call.kind)} status (https://status.redhat.com) and this function's outbound network (NAT, proxy, security groups); the run will be retried on the next schedule.`,
      );
    }
    throw new SyncError(
      'ocm-network',
      `Could not reach ${peerLabel(call.kind)} for ${where}: ${last.detail} (${tries}).`,
      `Check DNS and outbound HTTPS from this function (NAT gateway, VPC endpoints, proxy) and https://status.redhat.com.`,
      { cause: last.cause },
    );
  }

  private deadlineError(call: HttpCall): SyncError {
    return new SyncError(
      'ocm-timeout',
      `Gave up on ${peerLabel(call.kind)} ${call.method} ${displayUrl(call.url)}: the whole OCM fetch ran out of time.`,
      'OCM or the network is slow right now; the run will be retried on the next schedule. If it persists, check https://status.redhat.com.',
    );
  }

  private delayBefore(nextAttempt: number, failure: Failure): number {
    const { settings } = this.deps;
    if (failure.type === 'reply') {
      const header = failure.reply.headers['retry-after'];
      const retryAfter = parseRetryAfter(Array.isArray(header) ? header[0] : header, this.deps.now());
      if (retryAfter !== undefined) return Math.min(retryAfter, settings.maxRetryAfterMs);
    }
    const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (nextAttempt - 2));
    // "Equal jitter": at least half the exponential delay, so retries never stampede at zero.
    return Math.round(ceiling / 2 + (this.deps.random() * ceiling) / 2);
  }

  private async attempt(call: HttpCall): Promise<Failure> {
    const { settings } = this.deps;
    const attemptTimeout = AbortSignal.timeout(settings.requestTimeoutMs);
    const signal = call.signal ? AbortSignal.any([attemptTimeout, call.signal]) : attemptTimeout;
    let response: TransportResponse;
    try {
      response = await (this.deps.transport ?? exchange)({
        url: call.url,
        method: call.method,
        headers: { 'user-agent': this.deps.userAgent, ...call.headers },
        ...(call.body !== undefined ? { body: call.body } : {}),
        signal,
        connectTimeoutMs: settings.connectTimeoutMs,
        headersTimeoutMs: settings.headersTimeoutMs,
        bodyTimeoutMs: settings.bodyTimeoutMs,
      });
    } catch (err) {
      return this.classify(err, attemptTimeout, call);
    }
    const headers = response.headers as HttpReply['headers'];
    if (response.statusCode >= 300 && response.statusCode < 400) {
      response.discard();
      throw this.redirectError(call, response.statusCode, headers.location);
    }
    try {
      const body = await this.readCapped(response, call);
      return { type: 'reply', reply: { status: response.statusCode, headers, body, url: call.url } };
    } catch (err) {
      if (err instanceof SyncError) throw err;
      return this.classify(err, attemptTimeout, call);
    }
  }

  private async readCapped(response: TransportResponse, call: HttpCall): Promise<Buffer> {
    const cap = this.deps.settings.maxResponseBytes;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      response.discard();
      throw this.tooLargeError(call, `declares ${declared} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const buf of response.body) {
      size += buf.length;
      if (size > cap) {
        response.discard();
        throw this.tooLargeError(call, `sent more than ${cap} bytes`);
      }
      chunks.push(buf);
    }
    return Buffer.concat(chunks, size);
  }

  private tooLargeError(call: HttpCall, what: string): SyncError {
    return new SyncError(
      'ocm-too-large',
      `${peerLabel(call.kind)} response to ${call.method} ${displayUrl(call.url)} ${what}, over the ${this.deps.settings.maxResponseBytes}-byte limit; the download was stopped and nothing was changed.`,
      'A trusted IP list is a few kilobytes: check that the URL (OCM_API_URL / OCM_TOKEN_URL) points at OCM and not at a proxy or error page.',
    );
  }

  private redirectError(call: HttpCall, status: number, location: string | string[] | undefined): SyncError {
    const raw = Array.isArray(location) ? location[0] : location;
    let target = '(no Location header)';
    let host = 'an unknown host';
    if (raw) {
      try {
        const resolved = new URL(raw, call.url);
        host = resolved.host;
        target = displayUrl(resolved);
      } catch {
        target = '(unparseable Location header)';
      }
    }
    const sameHost = host === call.url.host;
    return this.deps.redactor.error(
      'ocm-redirect',
      `${peerLabel(call.kind)} answered ${call.method} ${displayUrl(call.url)} with HTTP ${status}, redirecting to ${sameHost ? 'the same host' : `host ${host}`} (${target}). Redirects are never followed, so credentials cannot leak to another server.`,
      sameHost
        ? 'If the new address is right, set OCM_API_URL / OCM_TOKEN_URL to it.'
        : 'Check OCM_API_URL / OCM_TOKEN_URL and any proxy in between; only point them at a host you trust.',
    );
  }

  private classify(err: unknown, attemptTimeout: AbortSignal, call: HttpCall): Failure {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
    const s = this.deps.settings;
    if (call.signal?.aborted) return { type: 'timeout', detail: 'whole-fetch deadline reached' };
    if (attemptTimeout.aborted) return { type: 'timeout', detail: `no complete answer within ${s.requestTimeoutMs} ms` };
    if (code === TIMEOUT_CODES.connect) return { type: 'timeout', detail: `connect timed out after ${s.connectTimeoutMs} ms` };
    if (code === TIMEOUT_CODES.headers) return { type: 'timeout', detail: `no response headers within ${s.headersTimeoutMs} ms` };
    if (code === TIMEOUT_CODES.body) return { type: 'timeout', detail: `body stalled for ${s.bodyTimeoutMs} ms` };
    const message = err instanceof Error ? err.message : String(err);
    const detail = this.deps.redactor.redact(code && !message.includes(code) ? `${message} (${code})` : message);
    return { type: 'network', detail, cause: err };
  }
}
