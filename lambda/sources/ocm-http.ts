/**
 * The HTTP plumbing the OCM source shares between Red Hat SSO and the OCM API: one keep-alive undici
 * Agent, bounded time and size, retries only where they are safe, no redirects, no secrets in messages.
 *
 * Redirects are refused, same host included: neither endpoint redirects, so a 3xx means a wrong URL or
 * something in between, and following it could hand the bearer token or client secret to another server.
 * The error names the target so a person can fix OCM_API_URL / OCM_TOKEN_URL deliberately.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { SyncError } from '../errors';

/** The logging surface the OCM source needs; Powertools Logger fits it. Never given a secret. */
export interface OcmLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: OcmLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

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
  /** TCP+TLS connect timeout (applies to the Agent, so only when the Agent is created here). */
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

const sharedAgents = new Map<number, Agent>();

/**
 * The module-level keep-alive Agent, created on first use and reused across warm Lambda invocations
 * (one per connect timeout, since undici sets that on the Agent).
 */
export function sharedOcmAgent(connectTimeoutMs = DEFAULT_OCM_HTTP_SETTINGS.connectTimeoutMs): Agent {
  let agent = sharedAgents.get(connectTimeoutMs);
  if (!agent) {
    // Keep-alive shorter than typical load-balancer idle timeouts, so a thawed Lambda rarely meets a
    // dead socket; if it does, the retry below absorbs it.
    agent = new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });
    sharedAgents.set(connectTimeoutMs, agent);
  }
  return agent;
}

/** Forms shorter than this are redacted only where they stand as a whole token (see `SecretRedactor`). */
const ANYWHERE_MIN_LENGTH = 6;

/** HTML named references a server's error page may spell a token character with. */
const HTML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/', plus: '+', equals: '=' };

/**
 * Undoes JSON string escapes (`\/`, `\u0041`) and HTML character references (`&#x2F;`, `&#43;`): the
 * ways raw body text may spell a secret with other characters. They have too many spellings to list.
 */
function decodeEscapes(text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\([\\/"])/g, '$1')
    .replace(/&#(x[0-9a-f]{1,6}|\d{1,7});/gi, (ref, num: string) => {
      const point = /^x/i.test(num) ? parseInt(num.slice(1), 16) : Number(num);
      return point <= 0x10ffff ? String.fromCodePoint(point) : ref;
    })
    .replace(/&([a-z]+);/g, (ref, name: string) => HTML_NAMED[name] ?? ref);
}

/** Shortens `text` to `max` characters. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Replaces every known secret in a text with `[redacted]`; the last line of defence for messages and
 * log lines, which quote what servers said, and servers echo what they were sent. So a secret is known
 * in each form it travels or is echoed in: as is, URL-encoded (encodeURIComponent, and form encoding
 * with `+` for spaces), base64 (standard and URL-safe), and for a service account the base64 of
 * `id:secret` that follows `Basic`. Matching ignores case, as percent-encoding may come back as `%2f`.
 *
 * A form of 6 characters or more is redacted wherever it appears. A shorter one (a 3-letter test secret,
 * the base64 of it) is redacted only as a whole token, not glued to letters or digits: redacting "abc"
 * inside every word would garble messages, yet the secret itself never shows as such.
 */
export class SecretRedactor {
  private readonly forms = new Set<string>();
  private matcher: RegExp | undefined;

  /** Remembers secrets, in every form above (empty values are ignored). */
  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (!value) continue;
      const bytes = Buffer.from(value, 'utf8');
      for (const form of [value, bytes.toString('base64'), bytes.toString('base64url')]) this.remember(form);
    }
  }

  /** Remembers a client secret and the `Basic` credentials (base64 of `clientId:clientSecret`) it is sent in. */
  addBasic(clientId: string, clientSecret: string): void {
    this.add(clientSecret);
    this.remember(Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64'));
  }

  redact(text: string): string {
    const direct = this.replace(text);
    // Only when undoing escapes uncovers a secret is the decoded text what gets quoted.
    const decoded = decodeEscapes(direct);
    if (decoded === direct) return direct;
    const again = this.replace(decoded);
    return again === decoded ? direct : again;
  }

  /** A server-supplied string made fit to quote: redacted first, so the cut never leaves half a secret showing. */
  quote(text: string, max: number): string {
    return clip(this.redact(text), max);
  }

  /** A `SyncError` with message and hint redacted: they may quote what a server said. */
  error(code: string, message: string, hint?: string, options?: { cause?: unknown }): SyncError {
    return new SyncError(code, this.redact(message), hint === undefined ? undefined : this.redact(hint), options);
  }

  private remember(form: string): void {
    for (const spelling of [form, encodeURIComponent(form), new URLSearchParams({ v: form }).toString().slice(2)]) {
      if (this.forms.has(spelling)) continue;
      this.forms.add(spelling);
      this.matcher = undefined;
    }
  }

  private replace(text: string): string {
    if (this.forms.size === 0) return text;
    this.matcher ??= new RegExp(
      [...this.forms]
        // Longest first, so a form that contains another is replaced whole.
        .sort((a, b) => b.length - a.length)
        .map((form) => {
          const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          return form.length >= ANYWHERE_MIN_LENGTH ? escaped : `(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`;
        })
        .join('|'),
      'gi',
    );
    return text.replace(this.matcher, '[redacted]');
  }
}

/** A logger that redacts every message and every string in its extras before passing them on. */
export function redactingLogger(logger: OcmLogger, redactor: SecretRedactor): OcmLogger {
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return redactor.redact(value);
    if (Array.isArray(value)) return value.map(scrub);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
    return value;
  };
  const wrap =
    (log: OcmLogger['info']): OcmLogger['info'] =>
    (message, ...extra) =>
      log(redactor.redact(message), ...extra.map((e) => scrub(e) as Record<string, unknown>));
  return { debug: wrap(logger.debug.bind(logger)), info: wrap(logger.info.bind(logger)), warn: wrap(logger.warn.bind(logger)) };
}

const SECRET_QUERY = /token|secret|password|passwd|key|code|sig|auth|credential/i;

/** A URL as safe to print: user info dropped, values of secret-looking query parameters masked. */
export function displayUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return '(unparseable URL)';
  }
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_QUERY.test(name)) parsed.searchParams.set(name, '[redacted]');
  }
  return parsed.toString();
}

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
  dispatcher?: Dispatcher;
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

/** Drops a body we will not read, closing its socket (the abort error it emits is expected). */
function discard(response: Dispatcher.ResponseData): void {
  response.body.on('error', () => undefined);
  response.body.destroy();
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
    let response: Dispatcher.ResponseData;
    try {
      response = await request(call.url, {
        method: call.method,
        headers: { 'user-agent': this.deps.userAgent, ...call.headers },
        body: call.body,
        signal,
        dispatcher: this.deps.dispatcher ?? sharedOcmAgent(settings.connectTimeoutMs),
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.bodyTimeoutMs,
      });
    } catch (err) {
      return this.classify(err, attemptTimeout, call);
    }
    const headers = response.headers as HttpReply['headers'];
    if (response.statusCode >= 300 && response.statusCode < 400) {
      discard(response);
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

  private async readCapped(response: Dispatcher.ResponseData, call: HttpCall): Promise<Buffer> {
    const cap = this.deps.settings.maxResponseBytes;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      discard(response);
      throw this.tooLargeError(call, `declares ${declared} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buf.length;
      if (size > cap) {
        discard(response);
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
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return { type: 'timeout', detail: `connect timed out after ${s.connectTimeoutMs} ms` };
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return { type: 'timeout', detail: `no response headers within ${s.headersTimeoutMs} ms` };
    if (code === 'UND_ERR_BODY_TIMEOUT') return { type: 'timeout', detail: `body stalled for ${s.bodyTimeoutMs} ms` };
    const message = err instanceof Error ? err.message : String(err);
    const detail = this.deps.redactor.redact(code && !message.includes(code) ? `${message} (${code})` : message);
    return { type: 'network', detail, cause: err };
  }
}
