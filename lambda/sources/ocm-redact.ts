/**
 * What the OCM source does so that no secret reaches a message, a log line or an alert: a redactor for every form a
 * secret may take in a server's reply (raw, escaped, encoded), a logger that passes everything through it, and
 * URLs as safe to print.
 */
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
