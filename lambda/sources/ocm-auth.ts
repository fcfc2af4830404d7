/**
 * OCM access tokens from Red Hat SSO, after ocm-sdk-go's transport wrapper: the client-credentials grant
 * for service accounts (preferred), the refresh-token grant for legacy offline tokens, the token kept in
 * memory and renewed a minute before it expires.
 */
import { SyncError } from '../errors';
import { registerCredentials, sameCredentials, type OcmCredentialProvider, type OcmCredentials } from './ocm-credentials';
import type { OcmHttp, HttpReply } from './ocm-http';
import { clip, displayUrl, type OcmLogger, type SecretRedactor } from './ocm-redact';

/** `client_id` of the legacy offline-token (refresh) grant on sso.redhat.com (ocm-sdk-go `DefaultClientID`). */
export const OFFLINE_TOKEN_CLIENT_ID = 'cloud-services';
/** Where a person gets a new offline token. */
export const OFFLINE_TOKEN_PAGE = 'https://console.redhat.com/openshift/token';
/** Where service accounts are created and their secrets reset. */
export const SERVICE_ACCOUNTS_PAGE = 'https://console.redhat.com/iam/service-accounts';
/** Lifetime assumed when SSO says nothing (no `expires_in`, no JWT `exp`): Red Hat's 15 minutes. */
export const DEFAULT_TOKEN_LIFETIME_MS = 15 * 60_000;
/** Renew this long before expiry (or at half-life for shorter tokens), as ocm-sdk-go does. */
export const TOKEN_RENEW_MARGIN_MS = 60_000;

/** Reads `exp` (seconds since the epoch) from a JWT's payload, without verifying it; undefined if not a JWT. */
export function decodeJwtExp(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof payload === 'object' && payload !== null && 'exp' in payload) {
      const exp = (payload as { exp: unknown }).exp;
      if (typeof exp === 'number' && Number.isFinite(exp) && exp > 0) return exp;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** What the token manager needs; built by `OcmSource`. */
export interface OcmTokenManagerOptions {
  tokenUrl: URL;
  credentials: OcmCredentialProvider;
  http: OcmHttp;
  logger: OcmLogger;
  redactor: SecretRedactor;
  now: () => number;
  /** `client_id` sent with an offline token. */
  offlineTokenClientId: string;
}

interface CachedToken {
  value: string;
  renewAt: number;
}

/** Hands out a valid access token, fetching or renewing it only when needed (one request at a time). */
export class OcmTokenManager {
  private current: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(private readonly options: OcmTokenManagerOptions) {}

  /** A token good for at least the renewal margin. */
  async accessToken(signal?: AbortSignal): Promise<string> {
    if (this.current && this.options.now() < this.current.renewAt) return this.current.value;
    this.inFlight ??= this.obtain(signal).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Forgets `token` (OCM answered 401 with it), so the next call fetches a new one. */
  invalidate(token: string): void {
    if (this.current?.value === token) this.current = undefined;
  }

  private async obtain(signal?: AbortSignal): Promise<string> {
    const { credentials, logger } = this.options;
    const creds = await credentials.get();
    registerCredentials(this.options.redactor, creds);
    try {
      return await this.grant(creds, signal);
    } catch (err) {
      if (!(err instanceof SyncError) || !err.code.startsWith('ocm-auth-invalid-')) throw err;
      // The stored credential may have been rotated since it was cached: re-read once before giving up.
      let fresh: OcmCredentials;
      try {
        fresh = await credentials.get({ forceRefresh: true });
      } catch {
        throw err;
      }
      if (sameCredentials(fresh, creds)) throw err;
      logger.info('OCM credentials changed in their store; retrying with the new ones', { origin: credentials.origin });
      // Registered before use: SSO may echo the new secret as it refuses it too.
      registerCredentials(this.options.redactor, fresh);
      return this.grant(fresh, signal);
    }
  }

  private async grant(creds: OcmCredentials, signal?: AbortSignal): Promise<string> {
    const { tokenUrl, http, logger, redactor, now } = this.options;
    const form = new URLSearchParams();
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (creds.kind === 'service-account') {
      // As ocm-sdk-go: Basic auth (RFC 6749 2.3.1) plus client_id in the form.
      form.set('grant_type', 'client_credentials');
      form.set('client_id', creds.clientId);
      form.set('scope', 'openid');
      headers.authorization = `Basic ${Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64')}`;
    } else {
      form.set('grant_type', 'refresh_token');
      form.set('client_id', this.options.offlineTokenClientId);
      form.set('refresh_token', creds.offlineToken);
    }
    const requestedAt = now();
    const reply = await http.send({ kind: 'token', method: 'POST', url: tokenUrl, headers, body: form.toString(), signal });
    if (reply.status !== 200) throw this.ssoError(reply, creds);

    const body = parseJsonObject(reply.body);
    const accessToken = body?.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      // Never quote a 2xx token response: it may carry other tokens.
      throw new SyncError(
        'ocm-bad-response',
        `Red Hat SSO answered POST ${displayUrl(tokenUrl)} with HTTP 200 but no access_token (${body ? 'JSON without it' : 'not a JSON object'}, ${reply.body.length} bytes).`,
        'Check that OCM_TOKEN_URL is the OpenID Connect token endpoint (…/protocol/openid-connect/token).',
      );
    }
    redactor.add(accessToken);
    const rawExpiresIn = body?.expires_in;
    const expiresIn =
      typeof rawExpiresIn === 'number' ? rawExpiresIn : typeof rawExpiresIn === 'string' && /^\d+$/.test(rawExpiresIn) ? Number(rawExpiresIn) : NaN;
    const jwtExp = decodeJwtExp(accessToken);
    let lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS;
    let lifetimeFrom = 'default';
    if (Number.isFinite(expiresIn) && expiresIn > 0) {
      lifetimeMs = expiresIn * 1000;
      lifetimeFrom = 'expires_in';
    } else if (jwtExp !== undefined && jwtExp * 1000 > requestedAt) {
      lifetimeMs = jwtExp * 1000 - requestedAt;
      lifetimeFrom = 'jwt-exp';
    }
    // Lifetime is counted from when the request was sent, so a slow answer errs on the early side.
    this.current = { value: accessToken, renewAt: requestedAt + lifetimeMs - Math.min(TOKEN_RENEW_MARGIN_MS, lifetimeMs / 2) };
    logger.debug('Obtained OCM access token', {
      grant: creds.kind === 'service-account' ? 'client_credentials' : 'refresh_token',
      lifetimeSeconds: Math.round(lifetimeMs / 1000),
      lifetimeFrom,
    });
    return accessToken;
  }

  private ssoError(reply: HttpReply, creds: OcmCredentials): SyncError {
    const { tokenUrl, redactor, credentials } = this.options;
    const origin = credentials.origin;
    const where = `POST ${displayUrl(tokenUrl)}`;
    const body = parseJsonObject(reply.body);
    const error = typeof body?.error === 'string' ? body.error : undefined;
    const description = typeof body?.error_description === 'string' ? redactor.quote(body.error_description, 200) : undefined;
    const said = error ? `${redactor.quote(error, 100)}${description ? `: ${description}` : ''}` : describeNonJson(reply, redactor);
    const status = `HTTP ${reply.status}`;
    const isOffline = creds.kind === 'offline-token';
    const who = creds.kind === 'service-account' ? `service account client id "${clip(creds.clientId, 80)}"` : 'the offline token';

    if (error === 'invalid_grant') {
      return isOffline
        ? redactor.error(
            'ocm-auth-invalid-grant',
            `Red Hat SSO refused the OCM offline token from ${origin} (${status} ${said}): the offline token is no longer valid (unused for 30 days, revoked, or its session ended).`,
            `Get a new one at ${OFFLINE_TOKEN_PAGE} and put it in ${origin}; better, switch to a service account ({"clientId","clientSecret"}, ${SERVICE_ACCOUNTS_PAGE}), which does not expire this way.`,
          )
        : redactor.error(
            'ocm-auth-invalid-grant',
            `Red Hat SSO refused the client-credentials grant for ${who} from ${origin} (${status} ${said}).`,
            `Check that the service account still exists and is enabled at ${SERVICE_ACCOUNTS_PAGE}, then update ${origin} if its credentials changed.`,
          );
    }
    if (error === 'invalid_client' || error === 'unauthorized_client') {
      return isOffline
        ? redactor.error(
            'ocm-auth-invalid-client',
            `Red Hat SSO rejected client id "${this.options.offlineTokenClientId}" sent with the offline token from ${origin} (${status} ${said}).`,
            `Check OCM_TOKEN_URL: the offline-token client id must match that SSO (FedRAMP uses "console-dot"); or store a service account in ${origin}.`,
          )
        : redactor.error(
            'ocm-auth-invalid-client',
            `Red Hat SSO rejected ${who} from ${origin} (${status} ${said}): the service account id or secret is wrong, or the account was deleted.`,
            `Fix "clientId"/"clientSecret" in ${origin} (create a service account or reset its secret at ${SERVICE_ACCOUNTS_PAGE}).`,
          );
    }
    if (reply.status === 429 || reply.status >= 500) {
      return redactor.error(
        'ocm-http',
        `Red Hat SSO failed ${where} with ${status} (${said}) on every try.`,
        'Red Hat SSO is having trouble; see https://status.redhat.com. The run will be retried on the next schedule.',
      );
    }
    return redactor.error(
      'ocm-auth',
      `Red Hat SSO refused to issue an OCM token for ${who} from ${origin} (${where}: ${status} ${said}).`,
      `Check OCM_TOKEN_URL and the credentials in ${origin}.`,
    );
  }
}

/** A JSON object from a body, or undefined (not JSON, truncated, or not an object). */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A one-line, secret-free description of a body that is not the expected JSON (an HTML error page). */
export function describeNonJson(reply: HttpReply, redactor: SecretRedactor): string {
  const type = reply.headers['content-type'];
  const contentType = (Array.isArray(type) ? type[0] : type) ?? 'no content type';
  // Redacted before the gist is cut out of it, so no secret is split by a tag or a collapsed space. Only
  // the start is read: at most a title or 120 characters are quoted, and a 5 MB body would be slow.
  const text = redactor.redact(reply.body.subarray(0, 64 * 1024).toString('utf8'));
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const gist = (title ?? text.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  const quoted = gist ? `: "${redactor.quote(gist, 120)}"` : '';
  return `a non-JSON body (${contentType.split(';')[0]}, ${reply.body.length} bytes)${quoted}`;
}
