/**
 * The OCM source: Red Hat OpenShift Cluster Manager's trusted IP list
 * (`GET /api/clusters_mgmt/v1/trusted_ip_addresses`), read page by page, checked strictly.
 * IP syntax is not checked here (the domain does that); only the shape of what OCM said.
 */
import { SyncError } from '../errors';
import type { FetchOptions, RawEntry, Source, SourceResult } from '../ports';
import { OFFLINE_TOKEN_CLIENT_ID, OcmTokenManager, describeNonJson, parseJsonObject } from './ocm-auth';
import type { OcmCredentialProvider } from './ocm-credentials';
import { DEFAULT_OCM_HTTP_SETTINGS, OcmHttp, abortableSleep, type HttpReply, type OcmHttpDeps, type OcmHttpSettings, type OcmRequestEvent } from './ocm-http';
import { SecretRedactor, clip, displayUrl, redactingLogger, silentLogger, type OcmLogger } from './ocm-redact';

/** OCM API base of the commercial Red Hat cloud. */
export const OCM_DEFAULT_API_URL = 'https://api.openshift.com';
/** Red Hat SSO token endpoint of the commercial cloud. */
export const OCM_DEFAULT_TOKEN_URL = 'https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token';
/**
 * The FedRAMP (AWS GovCloud) environment. Checked against public sources: token URL and offline-token
 * client id are ocm-sdk-go's `FedRAMPTokenURL`/`FedRAMPClientID` (authentication/transport_wrapper.go; note
 * no `/auth` path prefix), the API URL is `productionGovURL` in openshift/ocm-container. Set OCM_API_URL and
 * OCM_TOKEN_URL to these; the offline-token client id follows the token URL automatically.
 */
export const OCM_FEDRAMP = Object.freeze({
  apiUrl: 'https://api.openshiftusgov.com',
  tokenUrl: 'https://sso.openshiftusgov.com/realms/redhat-external/protocol/openid-connect/token',
  offlineTokenClientId: 'console-dot',
});
/** The list's path under the API base. */
export const OCM_TRUSTED_IPS_PATH = '/api/clusters_mgmt/v1/trusted_ip_addresses';
/** Items asked for per page (OCM's default and usual maximum). */
export const OCM_PAGE_SIZE = 100;

/** Environment variables read by `ocmOptionsFromEnv`. */
export const OCM_ENV = Object.freeze({
  credentialsParameter: 'OCM_CREDENTIALS_PARAMETER',
  clientId: 'OCM_CLIENT_ID',
  clientSecret: 'OCM_CLIENT_SECRET',
  offlineToken: 'OCM_OFFLINE_TOKEN',
  apiUrl: 'OCM_API_URL',
  tokenUrl: 'OCM_TOKEN_URL',
});

/** How to build an `OcmSource`; only `credentials` is required, the rest has production defaults. */
export interface OcmSourceOptions {
  credentials: OcmCredentialProvider;
  /** OCM API base; default `OCM_DEFAULT_API_URL`. https, or http on a loopback address (tests). */
  apiUrl?: string;
  /** SSO token endpoint; default `OCM_DEFAULT_TOKEN_URL`. Same scheme rule. */
  tokenUrl?: string;
  /** `client_id` for the offline-token grant; default `cloud-services`, or `console-dot` for the FedRAMP SSO. */
  offlineTokenClientId?: string;
  /** Items per page asked for; default 100. */
  pageSize?: number;
  /** Refuse lists with more items, by `total` or by count read (a policy could never hold them anyway); default 10,000. */
  maxItems?: number;
  /** Bound on pages read in one pass; default 1,000. */
  maxPages?: number;
  /** HTTP limits (timeouts, size cap, retries); see `DEFAULT_OCM_HTTP_SETTINGS`. */
  http?: Partial<OcmHttpSettings>;
  /** Bound on one whole `fetch()` including token, pages and retries; default 90 s. */
  fetchTimeoutMs?: number;
  /** The HTTP exchange; default Node's client over module-level keep-alive agents shared across warm invocations. */
  transport?: OcmHttpDeps['transport'];
  logger?: OcmLogger;
  /** Called before every HTTP attempt (token and API, retries included): count round trips with it. */
  onRequest?: (event: OcmRequestEvent) => void;
  /** Clock in ms (token expiry); default `Date.now`. */
  now?: () => number;
  /** Backoff wait; default a real, abortable timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  userAgent?: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Parses an endpoint URL, refusing what could leak a token (plain http off loopback, user info). */
export function parseEndpoint(value: string, variable: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SyncError('ocm-config-invalid', `${variable} is not a valid URL (${JSON.stringify(clip(value, 200))}).`, `Set ${variable} to an https:// URL.`);
  }
  if (url.username || url.password) {
    throw new SyncError('ocm-config-invalid', `${variable} must not contain a user name or password.`, 'Credentials belong in the OCM credentials parameter.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new SyncError(
      'ocm-config-invalid',
      `${variable} must use https:// (got ${displayUrl(url)}); plain http is only accepted on a loopback address, for tests.`,
      `Set ${variable} to the https:// address.`,
    );
  }
  return url;
}

/** Thrown inside one pass when the list moved under our feet; the whole pass is retried once. */
class Inconsistent extends Error {}

interface Page {
  total: number;
  /** `enabled` undefined: the item did not say (the field is optional in OCM's model). */
  items: { id: string; enabled: boolean | undefined }[];
}

/** The OCM trusted IP list as a `Source`. Create it once per container so the token and sockets are reused. */
export class OcmSource implements Source {
  readonly name = 'ocm';
  private readonly apiBase: URL;
  private readonly tokens: OcmTokenManager;
  private readonly http: OcmHttp;
  private readonly logger: OcmLogger;
  private readonly pageSize: number;
  private readonly maxItems: number;
  private readonly maxPages: number;
  private readonly fetchTimeoutMs: number;
  private readonly credentialsOrigin: string;
  private readonly redactor = new SecretRedactor();

  constructor(options: OcmSourceOptions) {
    this.apiBase = parseEndpoint(options.apiUrl ?? OCM_DEFAULT_API_URL, OCM_ENV.apiUrl);
    const tokenUrl = parseEndpoint(options.tokenUrl ?? OCM_DEFAULT_TOKEN_URL, OCM_ENV.tokenUrl);
    // Every log line of the source, HTTP and token layers included, goes through the redactor.
    this.logger = redactingLogger(options.logger ?? silentLogger, this.redactor);
    this.pageSize = options.pageSize ?? OCM_PAGE_SIZE;
    this.maxItems = options.maxItems ?? 10_000;
    this.maxPages = options.maxPages ?? 1_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 90_000;
    this.credentialsOrigin = options.credentials.origin;
    const now = options.now ?? Date.now;
    const redactor = this.redactor;
    this.http = new OcmHttp({
      settings: { ...DEFAULT_OCM_HTTP_SETTINGS, ...options.http },
      ...(options.transport ? { transport: options.transport } : {}),
      logger: this.logger,
      redactor,
      onRequest: options.onRequest,
      sleep: options.sleep ?? abortableSleep,
      random: options.random ?? Math.random,
      now,
      userAgent: options.userAgent ?? 'allowlist-sync',
    });
    const fedramp = tokenUrl.host === new URL(OCM_FEDRAMP.tokenUrl).host;
    this.tokens = new OcmTokenManager({
      tokenUrl,
      credentials: options.credentials,
      http: this.http,
      logger: this.logger,
      redactor,
      now,
      offlineTokenClientId: options.offlineTokenClientId ?? (fedramp ? OCM_FEDRAMP.offlineTokenClientId : OFFLINE_TOKEN_CLIENT_ID),
    });
  }

  /** Reads every page; an inconsistent list (count or total moving) is re-read once from page 1. */
  async fetch(options: FetchOptions = {}): Promise<SourceResult> {
    // The run's own deadline, when it is nearer than the source's bound (a Lambda with little time left).
    const budget = options.deadline === undefined ? this.fetchTimeoutMs : Math.min(this.fetchTimeoutMs, Math.max(1, options.deadline - Date.now()));
    const deadline = AbortSignal.timeout(budget);
    try {
      return await this.readAll(deadline);
    } catch (err) {
      if (!(err instanceof Inconsistent)) throw err;
      this.logger.warn('OCM trusted IP list changed while being read; reading it again from page 1', { problem: err.message });
    }
    try {
      return await this.readAll(deadline);
    } catch (err) {
      if (!(err instanceof Inconsistent)) throw err;
      throw this.redactor.error(
        'ocm-count-mismatch',
        `OCM's trusted IP list did not add up twice in a row (${err.message}; ${displayUrl(this.pageUrl(1))}).`,
        'Nothing was changed. OCM may be mid-update; the next scheduled run will try again. If it persists, report it to Red Hat support.',
      );
    }
  }

  private pageUrl(page: number): URL {
    const url = new URL(this.apiBase.toString());
    url.pathname = url.pathname.replace(/\/+$/, '') + OCM_TRUSTED_IPS_PATH;
    url.search = '';
    url.searchParams.set('page', String(page));
    url.searchParams.set('size', String(this.pageSize));
    return url;
  }

  private async readAll(signal: AbortSignal): Promise<SourceResult> {
    const entries: RawEntry[] = [];
    const seen = new Set<string>();
    let skipped = 0;
    let lackingEnabled = 0;
    let read = 0;
    let total: number | undefined;
    for (let page = 1; ; page++) {
      if (page > this.maxPages) {
        throw new SyncError(
          'ocm-bad-response',
          `OCM's trusted IP list needed more than ${this.maxPages} pages (${read} of ${total} items read); stopped.`,
          'A server returning a handful of items per page for a huge total is not OCM as we know it: check OCM_API_URL.',
        );
      }
      const url = this.pageUrl(page);
      const { total: pageTotal, items } = await this.getPage(url, page, signal);
      if (total === undefined) {
        total = pageTotal;
        if (total > this.maxItems) {
          throw new SyncError(
            'ocm-bad-response',
            `OCM says its trusted IP list has ${total} items (GET ${displayUrl(url)}), more than the ${this.maxItems} accepted.`,
            'Nothing was changed. A list that large cannot fit in an IAM policy; check OCM_API_URL and report it to Red Hat support.',
          );
        }
      } else if (pageTotal !== total) {
        throw new Inconsistent(`total changed from ${total} to ${pageTotal} at page ${page}`);
      }
      if (items.length === 0 && read < total) {
        throw new Inconsistent(`page ${page} was empty after ${read} of ${total} items`);
      }
      for (const item of items) {
        if (seen.has(item.id)) throw new Inconsistent(`item "${this.redactor.quote(item.id, 60)}" appeared twice (seen again on page ${page})`);
        seen.add(item.id);
        if (item.enabled === true) entries.push({ value: item.id, source: 'ocm' });
        else skipped++;
        if (item.enabled === undefined) lackingEnabled++;
      }
      read += items.length;
      // The cap holds for what was delivered, not only for what `total` claims.
      if (read > this.maxItems) {
        throw new SyncError(
          'ocm-bad-response',
          `OCM sent more than the ${this.maxItems} trusted IP items accepted (${read} by page ${page}, GET ${displayUrl(url)}, though its total says ${total}).`,
          'Nothing was changed. A list that large cannot fit in an IAM policy; check OCM_API_URL and report it to Red Hat support.',
        );
      }
      if (read > total) throw new Inconsistent(`read ${read} items, more than the total of ${total}`);
      if (read === total) break;
    }
    if (lackingEnabled > 0) {
      // Red Hat's own consumers read a missing "enabled" as false; so does this source, but says so.
      this.logger.warn('OCM trusted IP items without "enabled" were skipped as not enabled', { itemsWithoutEnabled: lackingEnabled, total });
    }
    this.logger.info('Read OCM trusted IP list', { total, enabled: entries.length, skipped });
    return { source: 'ocm', entries, skipped };
  }

  private async getPage(url: URL, page: number, signal: AbortSignal): Promise<Page> {
    let token = await this.tokens.accessToken(signal);
    let reply = await this.get(url, token, signal);
    let renewed = false;
    if (reply.status === 401) {
      this.logger.info('OCM answered 401; renewing the access token and retrying once', { url: displayUrl(url) });
      this.tokens.invalidate(token);
      token = await this.tokens.accessToken(signal);
      reply = await this.get(url, token, signal);
      renewed = true;
    }
    if (reply.status !== 200) throw this.apiError(reply, renewed);
    return this.parsePage(reply, page);
  }

  private get(url: URL, token: string, signal: AbortSignal): Promise<HttpReply> {
    return this.http.send({
      kind: 'api',
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal,
    });
  }

  private apiError(reply: HttpReply, renewed: boolean): SyncError {
    const where = `GET ${displayUrl(reply.url)}`;
    const body = parseJsonObject(reply.body);
    const redactor = this.redactor;
    const opId = operationId(reply, body, redactor);
    const support = opId ? ` Quote operation id ${opId} to Red Hat support if it persists.` : '';
    let said: string;
    if (body && body.kind === 'Error') {
      const parts = [
        typeof body.code === 'string' ? redactor.quote(body.code, 100) : undefined,
        typeof body.reason === 'string' ? redactor.quote(body.reason, 300) : undefined,
      ].filter((p): p is string => p !== undefined);
      said = `OCM error ${parts.join(': ') || '(no code or reason)'}${opId ? `, operation id ${opId}` : ''}`;
    } else if (body) {
      said = `an unexpected JSON body${opId ? `, operation id ${opId}` : ''}`;
    } else {
      said = describeNonJson(reply, redactor);
    }
    const status = reply.status;
    const message = `OCM ${where} failed with HTTP ${status} (${said}).`;
    let hint: string;
    if (status === 401) {
      hint = `OCM rejected a${renewed ? ' freshly issued' : 'n'} access token: check that the credentials in ${this.credentialsOrigin} belong to the OCM environment of OCM_API_URL (commercial vs FedRAMP, matching OCM_TOKEN_URL).${support}`;
    } else if (status === 403) {
      hint = `The account behind ${this.credentialsOrigin} is not allowed to read trusted IPs: give it OCM access in its Red Hat organization (for a service account, https://console.redhat.com/iam/user-access).${support}`;
    } else if (status === 404) {
      hint = `Check OCM_API_URL (${displayUrl(this.apiBase)}): it should be the OCM API base such as ${OCM_DEFAULT_API_URL}.${support}`;
    } else if (status === 429 || status >= 500) {
      hint = `OCM is having trouble (already retried); see https://status.redhat.com. Nothing was changed; the next scheduled run will try again.${support}`;
    } else {
      hint = `Nothing was changed.${support}`;
    }
    return redactor.error('ocm-http', message, hint);
  }

  private parsePage(reply: HttpReply, page: number): Page {
    const where = `page ${page} (GET ${displayUrl(reply.url)})`;
    const describe = (value: unknown): string => describeValue(value, this.redactor);
    const bad = (what: string): SyncError =>
      this.redactor.error(
        'ocm-bad-response',
        `OCM's trusted IP list ${where} ${what}.`,
        'Nothing was changed. The response is not what OCM documents: check OCM_API_URL and any proxy in between; if it is OCM itself, report it to Red Hat support.',
      );
    let json: unknown;
    try {
      json = JSON.parse(reply.body.toString('utf8'));
    } catch {
      // JSON.parse's message quotes the body, so it is replaced by our own description.
      const start = reply.body.subarray(0, 1).toString();
      throw bad(
        start === '{' || start === '['
          ? `is not valid JSON: it looks truncated or malformed (${reply.body.length} bytes)`
          : `is not JSON: HTTP ${reply.status} with ${describeNonJson(reply, this.redactor)}`,
      );
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(`is ${typeName(json)}, not a JSON object`);
    const env = json as Record<string, unknown>;
    if (env.kind !== 'TrustedIpList') throw bad(`has kind ${describe(env.kind)}, expected "TrustedIpList"`);
    if (!isCount(env.total)) throw bad(`has "total" ${describe(env.total)}, expected a whole number`);
    if (env.page !== undefined && env.page !== page) throw bad(`has "page" ${describe(env.page)}, expected ${page}`);
    if (env.size !== undefined && !isCount(env.size)) throw bad(`has "size" ${describe(env.size)}, expected a whole number`);
    // OCM leaves "items" out of an empty page.
    const rawItems = env.items === undefined && env.size === 0 ? [] : env.items;
    if (!Array.isArray(rawItems)) throw bad(`has "items" ${describe(rawItems)}, expected an array`);
    if (isCount(env.size) && env.size !== rawItems.length) {
      this.logger.warn('OCM page "size" differs from its number of items', { page, size: env.size, items: rawItems.length });
    }
    const items = rawItems.map((raw: unknown, index) => {
      const at = `items[${index}]`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`has ${at} ${describe(raw)}, expected an object`);
      const item = raw as Record<string, unknown>;
      if (item.kind !== undefined && item.kind !== 'TrustedIp') throw bad(`has ${at} of kind ${describe(item.kind)}, expected "TrustedIp"`);
      if (typeof item.id !== 'string' || item.id.trim() === '') {
        throw bad(`has ${at} with ${item.id === undefined ? 'no "id"' : `"id" ${describe(item.id)}`}, expected a non-empty string`);
      }
      if (item.enabled !== undefined && typeof item.enabled !== 'boolean') {
        throw bad(`has ${at} (id ${JSON.stringify(this.redactor.quote(item.id, 60))}) with "enabled" ${describe(item.enabled)}, expected true or false`);
      }
      return { id: item.id, enabled: item.enabled };
    });
    return { total: env.total, items };
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A short, safe rendering of an unexpected value: strings (redacted) and numbers quoted briefly, objects by type. */
function describeValue(value: unknown, redactor: SecretRedactor): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return `${JSON.stringify(redactor.quote(value, 60))} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (a ${typeof value})`;
  return `of type ${typeName(value).replace(/^an? /, '')}`;
}

function operationId(reply: HttpReply, body: Record<string, unknown> | undefined, redactor: SecretRedactor): string | undefined {
  const fromBody = typeof body?.operation_id === 'string' ? body.operation_id : undefined;
  const header = reply.headers['x-operation-id'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const id = fromBody ?? fromHeader;
  return id ? redactor.quote(id, 80) : undefined;
}

/** Builds an `OcmSource`. */
export function createOcmSource(options: OcmSourceOptions): OcmSource {
  return new OcmSource(options);
}
