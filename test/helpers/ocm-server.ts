/**
 * A fake Red Hat SSO + OCM server on a loopback address and an ephemeral port, for tests and benchmarks.
 * By default it behaves like the real pair: issues tokens for known credentials, checks the bearer token,
 * pages the trusted IP list (capping `size` at `maxPageSize`). Scripted responders override single
 * requests (`enqueue`) or a whole route (`override`) to play failures.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export const FAKE_TOKEN_PATH = '/auth/realms/redhat-external/protocol/openid-connect/token';
export const FAKE_LIST_PATH = '/api/clusters_mgmt/v1/trusted_ip_addresses';

/** An item as served; fields are `unknown` so tests can serve malformed ones. */
export interface FakeTrustedIp {
  kind?: unknown;
  id?: unknown;
  href?: unknown;
  enabled?: unknown;
}

/** Which part of the fake a request hit. */
export type FakeRoute = 'token' | 'api' | 'other';

/** A request as received, body included. */
export interface RecordedRequest {
  route: FakeRoute;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request; may leave it unanswered (a hanging server). */
export type Responder = (req: RecordedRequest, res: ServerResponse, server: FakeOcmServer) => void | Promise<void>;

export interface FakeOcmServerOptions {
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** The list served; default three enabled items. */
  items?: FakeTrustedIp[];
  /** Largest page the server returns whatever `size` asks; default 100. */
  maxPageSize?: number;
  /** The service account accepted by the client-credentials grant. */
  clientId?: string;
  clientSecret?: string;
  /** The offline token accepted by the refresh-token grant. */
  offlineToken?: string;
  /** `client_id` required with the offline token; default `cloud-services`. */
  offlineClientId?: string;
  /** `expires_in` sent with tokens; default 900; `null` leaves it out. */
  expiresIn?: number | null;
  /** Makes the access token returned for the n-th grant (1-based); default opaque random strings. */
  tokenFactory?: (n: number) => string;
  /** Delay before every answer (benchmarks). */
  latencyMs?: number;
}

export const DEFAULT_FAKE_ITEMS: FakeTrustedIp[] = [
  { kind: 'TrustedIp', id: '192.0.2.10', href: `${FAKE_LIST_PATH}/192.0.2.10`, enabled: true },
  { kind: 'TrustedIp', id: '198.51.100.0/24', href: `${FAKE_LIST_PATH}/198.51.100.0%2F24`, enabled: true },
  { kind: 'TrustedIp', id: '2001:db8::/32', href: `${FAKE_LIST_PATH}/2001:db8::%2F32`, enabled: true },
];

/** `count` enabled IPv4 items 10.0.x.y, for paging tests and benchmarks. */
export function manyItems(count: number): FakeTrustedIp[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'TrustedIp',
    id: `20.0.${Math.floor(i / 256)}.${i % 256}`,
    enabled: true,
  }));
}

/** A JWT-shaped (unsigned) token whose payload carries `exp` (seconds since the epoch). */
export function fakeJwt(exp: number | undefined, subject = randomBytes(6).toString('hex')): string {
  const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: subject, ...(exp === undefined ? {} : { exp }) })}.c2ln`;
}

/** Responds with JSON. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

/** Responds with raw text of a given content type. */
export function raw(status: number, body: string, headers: Record<string, string> = {}): Responder {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
}

/** The HTML page `html()` serves. */
export function htmlPage(title: string): string {
  return `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>nginx</p></body></html>`;
}

/** An HTML error page, like a load balancer's 502. */
export function html(status: number, title: string): Responder {
  return raw(status, htmlPage(title), { 'content-type': 'text/html; charset=utf-8' });
}

/** Never answers (the socket stays open until the server closes). */
export function hang(): Responder {
  return () => undefined;
}

/** A redirect to `location`. */
export function redirect(location: string, status = 302): Responder {
  return (_req, res) => {
    res.writeHead(status, { location });
    res.end();
  };
}

/** An OCM error body, as OCM sends them. */
export function ocmError(status: number, code: string, reason: string, operationId = 'op-1234-abcd'): Responder {
  return json(status, {
    kind: 'Error',
    id: String(status),
    href: `/api/clusters_mgmt/v1/errors/${status}`,
    code,
    reason,
    operation_id: operationId,
  });
}

/** An SSO (Keycloak) OAuth error body. */
export function ssoError(status: number, error: string, description: string): Responder {
  return json(status, { error, error_description: description });
}

/** A body of `bytes` bytes, streamed without Content-Length (chunked) unless `declare` is set. */
export function oversized(bytes: number, declare = false): Responder {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(declare ? { 'content-length': String(bytes) } : {}) });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The fake; start it with `FakeOcmServer.start()` and `close()` it in `afterEach`/`afterAll`. */
export class FakeOcmServer {
  /** Fakes started and not yet closed, for `closeAll`. */
  private static readonly open = new Set<FakeOcmServer>();
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Every access token issued, in order. */
  readonly issuedTokens: string[] = [];
  items: FakeTrustedIp[];
  private readonly revoked = new Set<string>();
  private readonly queues: Record<FakeRoute, Responder[]> = { token: [], api: [], other: [] };
  private readonly overrides: Partial<Record<FakeRoute, Responder>> = {};
  private server!: Server;
  private port = 0;

  private constructor(readonly options: FakeOcmServerOptions) {
    this.items = options.items ?? DEFAULT_FAKE_ITEMS;
  }

  static async start(options: FakeOcmServerOptions = {}): Promise<FakeOcmServer> {
    const fake = new FakeOcmServer(options);
    fake.server = createServer((req, res) => {
      void fake.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, options.host ?? '127.0.0.1', () => resolve());
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    FakeOcmServer.open.add(fake);
    return fake;
  }

  /** Closes every fake still open, such as one a failed assertion kept a test from closing itself. */
  static async closeAll(): Promise<void> {
    await Promise.all([...FakeOcmServer.open].map((fake) => fake.close()));
  }

  /** `http://host:port`. */
  get baseUrl(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Value for `apiUrl` / `OCM_API_URL`. */
  get apiUrl(): string {
    return this.baseUrl;
  }

  /** Value for `tokenUrl` / `OCM_TOKEN_URL`. */
  get tokenUrl(): string {
    return `${this.baseUrl}${FAKE_TOKEN_PATH}`;
  }

  /** Requests that hit one route. */
  requestsTo(route: FakeRoute): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Answers the next requests to `route` with these responders, one each, before the default behaviour. */
  enqueue(route: FakeRoute, ...responders: Responder[]): void {
    this.queues[route].push(...responders);
  }

  /** Answers every request to `route` with `responder` (undefined restores the default). */
  override(route: FakeRoute, responder: Responder | undefined): void {
    if (responder) this.overrides[route] = responder;
    else delete this.overrides[route];
  }

  /** Makes every token issued so far invalid for the API (a 401 until a new one is fetched). */
  revokeTokens(): void {
    for (const t of this.issuedTokens) this.revoked.add(t);
  }

  /** The list page OCM would serve for a query (`page`, `size`), with `size` capped at `maxPageSize`. */
  pageBody(query: URLSearchParams): { kind: string; page: number; size: number; total: number; items: FakeTrustedIp[] } {
    const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
    const asked = Math.max(1, Number(query.get('size') ?? '100') || 100);
    const size = Math.min(asked, this.options.maxPageSize ?? 100);
    const items = this.items.slice((page - 1) * size, page * size);
    return { kind: 'TrustedIpList', page, size: items.length, total: this.items.length, items };
  }

  /** Stops listening and drops open connections (hanging requests included). */
  async close(): Promise<void> {
    FakeOcmServer.open.delete(this);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route: FakeRoute = url.pathname === FAKE_TOKEN_PATH ? 'token' : url.pathname === FAKE_LIST_PATH ? 'api' : 'other';
    const recorded: RecordedRequest = {
      route,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: await readBody(req),
    };
    this.requests.push(recorded);
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    const responder = this.queues[route].shift() ?? this.overrides[route] ?? this.defaultResponder(route);
    try {
      await responder(recorded, res, this);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake server error: ${String(err)}`);
    }
  }

  private defaultResponder(route: FakeRoute): Responder {
    if (route === 'token') return (req, res) => this.token(req, res);
    if (route === 'api') return (req, res) => this.list(req, res);
    return ocmError(404, 'CLUSTERS-MGMT-404', 'Not found');
  }

  private token(req: RecordedRequest, res: ServerResponse): void {
    const form = new URLSearchParams(req.body);
    const o = this.options;
    const grant = form.get('grant_type');
    let ok = false;
    if (grant === 'client_credentials') {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
      if (!o.clientId || id !== o.clientId || secret !== o.clientSecret) {
        ssoError(401, 'invalid_client', 'Invalid client or Invalid client credentials')(req, res, this);
        return;
      }
      ok = true;
    } else if (grant === 'refresh_token') {
      if (form.get('client_id') !== (o.offlineClientId ?? 'cloud-services')) {
        ssoError(401, 'unauthorized_client', 'Invalid client or Invalid client credentials')(req, res, this);
        return;
      }
      if (!o.offlineToken || form.get('refresh_token') !== o.offlineToken) {
        ssoError(400, 'invalid_grant', 'Invalid refresh token')(req, res, this);
        return;
      }
      ok = true;
    }
    if (!ok) {
      ssoError(400, 'unsupported_grant_type', 'Unsupported grant_type')(req, res, this);
      return;
    }
    const n = this.issuedTokens.length + 1;
    const token = o.tokenFactory ? o.tokenFactory(n) : `fake-access-${n}-${randomBytes(8).toString('hex')}`;
    this.issuedTokens.push(token);
    const expires = o.expiresIn === undefined ? 900 : o.expiresIn;
    json(200, {
      access_token: token,
      token_type: 'Bearer',
      ...(expires === null ? {} : { expires_in: expires }),
      refresh_expires_in: 0,
      scope: 'openid',
    })(req, res, this);
  }

  private list(req: RecordedRequest, res: ServerResponse): void {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !this.issuedTokens.includes(bearer) || this.revoked.has(bearer)) {
      ocmError(401, 'CLUSTERS-MGMT-401', 'Invalid token', 'op-401')(req, res, this);
      return;
    }
    json(200, this.pageBody(req.query))(req, res, this);
  }
}

// Under jest, whatever fakes a test file left open are closed after its last test: an assertion that
// throws before a test's (or an afterEach's) own close() would otherwise leave a listening socket, and
// jest would never exit. Outside jest (benchmarks) there is no afterAll and nothing changes.
if (typeof afterAll === 'function') afterAll(() => FakeOcmServer.closeAll());
