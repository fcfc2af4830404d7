/**
 * Servers that echo what they were sent: Red Hat SSO quoting the Basic header, the client secret or the
 * offline token, OCM quoting the bearer token, in JSON fields, headers and HTML pages. Nothing of it may
 * reach a thrown error or a log line, in any of the forms a secret travels in.
 */
import { SyncError } from '../../lambda/errors';
import { OcmSource, type OcmSourceOptions } from '../../lambda/sources/ocm';
import { staticCredentialProvider, type OcmCredentialProvider, type OcmCredentials } from '../../lambda/sources/ocm-credentials';
import type { OcmLogger } from '../../lambda/sources/ocm-redact';
import { FakeOcmServer, json, type RecordedRequest, type Responder } from '../helpers/ocm-server';

const CLIENT_ID = 'svc-allowlist-4f1c';
// Characters that URL, form and HTML encodings all spell differently.
const CLIENT_SECRET = 'Zq8/x+v3=Lm 9~Pw2!S3cr3t';
const OFFLINE_TOKEN = 'offline.eyJ/b2Zm+bGluZQ==.K7s9dLq2Wm';
const ORIGIN = 'SSM parameter "/allowlist-sync/ocm"';
const SA: OcmCredentials = { kind: 'service-account', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
const OFFLINE: OcmCredentials = { kind: 'offline-token', offlineToken: OFFLINE_TOKEN };
const GRANTS: [string, OcmCredentials][] = [
  ['service account (client_credentials)', SA],
  ['offline token (refresh_token)', OFFLINE],
];

let server: FakeOcmServer;
let logged: string[];
let thrown: string[];
/** Secrets a test adds beyond the ones above (rotated credentials, short ones). */
let extraSecrets: string[];

const logger: OcmLogger = {
  debug: (m, ...e) => logged.push(JSON.stringify(['debug', m, e])),
  info: (m, ...e) => logged.push(JSON.stringify(['info', m, e])),
  warn: (m, ...e) => logged.push(JSON.stringify(['warn', m, e])),
};

function source(credentials: OcmCredentials | OcmCredentialProvider, over: Partial<OcmSourceOptions> = {}): OcmSource {
  return new OcmSource({
    credentials: 'get' in credentials ? credentials : staticCredentialProvider(credentials, ORIGIN),
    apiUrl: server.apiUrl,
    tokenUrl: server.tokenUrl,
    logger,
    sleep: async () => undefined,
    ...over,
  });
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    const e = err as SyncError;
    thrown.push(e.message, e.hint ?? '', JSON.stringify(e), String(e.stack), String(e.cause ?? ''));
    return e;
  }
  throw new Error('expected a failure');
}

const basic = (id: string, secret: string): string => Buffer.from(`${id}:${secret}`).toString('base64');
const formEncoded = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);
/** The spellings a secret may be echoed in. */
const spellings = (value: string): string[] => [value, encodeURIComponent(value), formEncoded(value), Buffer.from(value).toString('base64')];
/** As an HTML page escapes it (Go's html/template writes + as &#43;). */
const htmlEscaped = (value: string): string => value.replace(/\//g, '&#x2F;').replace(/\+/g, '&#43;').replace(/=/g, '&#61;');

/** What a grant request carried: the credential secret, the Authorization header and the form body. */
function sent(req: RecordedRequest): { secret: string; authorization: string; body: string } {
  const authorization = req.headers.authorization ?? '';
  const fromBasic = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
  const secret = new URLSearchParams(req.body).get('refresh_token') ?? fromBasic.slice(fromBasic.indexOf(':') + 1);
  return { secret, authorization, body: req.body };
}

function htmlPage(status: number, text: string): Responder {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><html><head><title>${text}</title></head><body><p>${text}</p></body></html>`);
  };
}

beforeEach(async () => {
  server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, offlineToken: OFFLINE_TOKEN });
  logged = [];
  thrown = [];
  extraSecrets = [];
});

afterEach(async () => {
  // Closed before anything here can throw: a fake left listening keeps jest from exiting.
  await FakeOcmServer.closeAll();
  const secrets = [CLIENT_SECRET, OFFLINE_TOKEN, basic(CLIENT_ID, CLIENT_SECRET), ...server.issuedTokens, ...extraSecrets];
  const seen = [...logged, ...thrown].join('\n');
  for (const secret of secrets) for (const spelling of spellings(secret)) expect(seen).not.toContain(spelling);
});

describe.each(GRANTS)('%s', (_grant, credentials) => {
  test.each([401, 500])('OCM kind:Error %i whose code, reason and operation_id quote the Authorization header', async (status) => {
    server.override('api', (req, res, s) =>
      json(status, {
        kind: 'Error',
        id: String(status),
        code: `CLUSTERS-MGMT-${status} ${String(req.headers.authorization)}`,
        reason: `Token rejected: Authorization: ${String(req.headers.authorization)}`,
        operation_id: String(req.headers.authorization).replace(/^Bearer /, ''),
        details: [{ header: req.headers.authorization }],
      })(req, res, s),
    );
    const err = await failure(source(credentials).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toContain(`failed with HTTP ${status} (OCM error CLUSTERS-MGMT-${status} Bearer [redacted]: Token rejected: Authorization: Bearer [redacted], operation id [redacted])`);
    // A 401 is retried once with a fresh token (both echoed and both redacted); a 500 keeps the one token.
    expect(server.issuedTokens).toHaveLength(status === 401 ? 2 : 1);
  });

  test('OCM x-operation-id header echoing the bearer token', async () => {
    server.override('api', (req, res, s) =>
      json(503, { kind: 'Error', code: 'CLUSTERS-MGMT-503', reason: 'Unavailable' }, { 'x-operation-id': String(req.headers.authorization).slice(7) })(req, res, s),
    );
    const err = await failure(source(credentials).fetch());
    expect(err.message).toContain('OCM error CLUSTERS-MGMT-503: Unavailable, operation id [redacted])');
    expect(err.message).toContain('Quote operation id [redacted] to Red Hat support');
  });

  test('OCM code, reason and operation_id quoting the token across the point where each is cut leave no part of it', async () => {
    server.override('api', (req, res, s) => {
      const token = String(req.headers.authorization).slice(7);
      json(500, { kind: 'Error', code: `${'c'.repeat(85)}${token}`, reason: `${'.'.repeat(280)}${token}`, operation_id: `${'o'.repeat(65)}${token}` })(req, res, s);
    });
    const err = await failure(source(credentials).fetch());
    expect(err.message).toContain(`${'c'.repeat(85)}[redacted]: ${'.'.repeat(280)}[redacted], operation id ${'o'.repeat(65)}[redacted]`);
    expect(thrown.join('\n')).not.toContain(server.issuedTokens[0].slice(0, 12));
  });

  test('OCM HTML error page quoting the Authorization header', async () => {
    server.override('api', (req, res, s) => htmlPage(502, `Bad gateway for ${String(req.headers.authorization)}`)(req, res, s));
    const err = await failure(source(credentials).fetch());
    expect(err.message).toContain('"Bad gateway for Bearer [redacted]"');
  });

  test('OCM redirect whose Location carries the bearer token in its path', async () => {
    server.override('api', (req, res) => {
      res.writeHead(302, { location: `/login/${String(req.headers.authorization).slice(7)}` });
      res.end();
    });
    const err = await failure(source(credentials).fetch());
    expect(err.code).toBe('ocm-redirect');
    expect(err.message).toContain(`redirecting to the same host (${server.baseUrl}/login/[redacted])`);
  });

  test('SSO JSON error whose "error" and "error_description" quote what it was sent', async () => {
    server.override('token', (req, res, s) => {
      const { secret, authorization, body } = sent(req);
      json(401, { error: `unauthorized (${authorization || body})`, error_description: `bad credential ${secret} (sent ${formEncoded(secret)})` })(req, res, s);
    });
    const err = await failure(source(credentials).fetch());

    expect(err.code).toBe('ocm-auth');
    expect(err.message).toContain(
      credentials.kind === 'service-account'
        ? 'HTTP 401 unauthorized (Basic [redacted]): bad credential [redacted] (sent [redacted])'
        : 'HTTP 401 unauthorized (grant_type=refresh_token&client_id=cloud-services&refresh_token=[redacted]): bad credential [redacted] (sent [redacted])',
    );
  });

  test.each([
    ['error_description', 190],
    ['error', 95],
  ])('SSO "%s" quoting the secret across the point where it is cut leaves no part of it', async (field, pad) => {
    server.override('token', (req, res, s) => {
      const echo = `${'.'.repeat(pad)}${sent(req).secret}`;
      const refusal = credentials.kind === 'service-account' ? 'invalid_client' : 'invalid_grant';
      json(400, field === 'error' ? { error: echo } : { error: refusal, error_description: echo })(req, res, s);
    });
    const err = await failure(source(credentials).fetch());

    expect(err.code).toBe(field === 'error' ? 'ocm-auth' : `ocm-auth-${credentials.kind === 'service-account' ? 'invalid-client' : 'invalid-grant'}`);
    expect(err.message).toContain(`${'.'.repeat(pad)}[red`);
    const secret = credentials.kind === 'service-account' ? CLIENT_SECRET : OFFLINE_TOKEN;
    expect(thrown.join('\n')).not.toContain(secret.slice(0, 8));
  });

  test('SSO HTML error page quoting the request, escaped as HTML', async () => {
    server.override('token', (req, res, s) => {
      const { secret, authorization } = sent(req);
      htmlPage(403, `Forbidden: ${htmlEscaped(authorization)} ${htmlEscaped(secret)}`)(req, res, s);
    });
    const err = await failure(source(credentials).fetch());

    expect(err.code).toBe('ocm-auth');
    expect(err.message).toMatch(credentials.kind === 'service-account' ? /"Forbidden: Basic \[redacted\] \[redacted\]"/ : /"Forbidden: \[redacted\]"/);
  });

  test('SSO truncated JSON quoting the secret behind \\/ escapes', async () => {
    server.override('token', (req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(`{"error":"server_error","error_description":"while checking ${JSON.stringify(sent(req).secret).slice(1, -1).replace(/\//g, '\\/')}`);
    });
    const err = await failure(source(credentials).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toContain('while checking [redacted]');
  });

  test('a credential rotated in its store is redacted when SSO echoes the new one too', async () => {
    const fresh: OcmCredentials =
      credentials.kind === 'service-account'
        ? { kind: 'service-account', clientId: CLIENT_ID, clientSecret: 'N3w/rotated+Secret=Q4' }
        : { kind: 'offline-token', offlineToken: 'offline.bmV3+dG9r/ZW4=.R0tated9Xy' };
    const rotated = fresh.kind === 'service-account' ? fresh.clientSecret : fresh.offlineToken;
    extraSecrets.push(rotated, ...(fresh.kind === 'service-account' ? [basic(CLIENT_ID, rotated)] : []));
    const store: OcmCredentialProvider = { origin: ORIGIN, get: async ({ forceRefresh = false } = {}) => (forceRefresh ? fresh : credentials) };
    server.override('token', (req, res, s) => {
      const { secret, authorization } = sent(req);
      const error = credentials.kind === 'service-account' ? 'invalid_client' : 'invalid_grant';
      json(401, { error, error_description: `refused ${secret}${authorization ? ` with ${authorization}` : ''}` })(req, res, s);
    });
    const err = await failure(source(store).fetch());

    expect(server.requestsTo('token')).toHaveLength(2);
    expect(sent(server.requestsTo('token')[1]).secret).toBe(rotated);
    expect(err.message).toContain(credentials.kind === 'service-account' ? '(HTTP 401 invalid_client: refused [redacted] with Basic [redacted])' : '(HTTP 401 invalid_grant: refused [redacted])');
  });
});

describe('secrets of 6 characters and fewer', () => {
  test.each(GRANTS)('%s: a 6-character secret echoed glued to other letters is still redacted', async (_grant, credentials) => {
    const six = credentials.kind === 'service-account' ? 'q7Zr2x' : 'Ab3-x9';
    const creds: OcmCredentials = credentials.kind === 'service-account' ? { ...credentials, clientSecret: six } : { kind: 'offline-token', offlineToken: six };
    extraSecrets.push(six);
    // Glued to letters, a server's concatenation, so only the substring rule (not the whole-token one) can catch it.
    server.override('token', (req, res, s) => json(401, { error: 'invalid_client', error_description: `credential${sent(req).secret}rejected` })(req, res, s));
    const err = await failure(source(creds).fetch());
    expect(err.message).toContain('credential[redacted]rejected');
  });

  test('a shorter secret is redacted where it is echoed as a whole token, in SSO and in logs', async () => {
    const short = 'shh';
    extraSecrets.push(short);
    server.override('token', (req, res, s) => json(401, { error: 'invalid_client', error_description: `client secret "${sent(req).secret}" is wrong` })(req, res, s));
    const err = await failure(source({ kind: 'service-account', clientId: CLIENT_ID, clientSecret: short }).fetch());
    expect(err.message).toContain('client secret "[redacted]" is wrong');
  });
});
