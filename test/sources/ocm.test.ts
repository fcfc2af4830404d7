import { Logger } from '@aws-lambda-powertools/logger';
import { SyncError } from '../../lambda/errors';
import { OCM_DEFAULT_API_URL, OCM_DEFAULT_TOKEN_URL, OCM_FEDRAMP, OcmSource, parseEndpoint, type OcmSourceOptions } from '../../lambda/sources/ocm';
import { staticCredentialProvider, type OcmCredentialProvider, type OcmCredentials } from '../../lambda/sources/ocm-credentials';
import type { OcmLogger, OcmRequestEvent } from '../../lambda/sources/ocm-http';
import {
  FAKE_LIST_PATH,
  FakeOcmServer,
  fakeJwt,
  hang,
  html,
  htmlPage,
  json,
  manyItems,
  ocmError,
  oversized,
  raw,
  redirect,
  type Responder,
} from '../helpers/ocm-server';

const CLIENT_ID = 'svc-allowlist-4f1c';
const CLIENT_SECRET = 'S3cr3t-client-ZQ8xv3Lm9Pw2';
const OFFLINE_TOKEN = 'offline.eyJvZmZsaW5lIjoidG9rZW4ifQ.K7s9dLq2Wm';
const ORIGIN = 'SSM parameter "/allowlist-sync/ocm"';
const SA: OcmCredentials = { kind: 'service-account', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
const OFFLINE: OcmCredentials = { kind: 'offline-token', offlineToken: OFFLINE_TOKEN };

// Powertools Logger must fit the port (checked by tsc).
const powertools: OcmLogger = new Logger({ serviceName: 'allowlist-sync-test', logLevel: 'SILENT' });
void powertools;

let server: FakeOcmServer;
let logged: string[];
let thrown: string[];
let delays: number[];
let events: OcmRequestEvent[];
let clock: number;

const logger: OcmLogger = {
  debug: (m, ...e) => logged.push(JSON.stringify(['debug', m, e])),
  info: (m, ...e) => logged.push(JSON.stringify(['info', m, e])),
  warn: (m, ...e) => logged.push(JSON.stringify(['warn', m, e])),
};

function source(credentials: OcmCredentials | OcmCredentialProvider = SA, over: Partial<OcmSourceOptions> = {}): OcmSource {
  return new OcmSource({
    credentials: 'get' in credentials ? credentials : staticCredentialProvider(credentials, ORIGIN),
    apiUrl: server.apiUrl,
    tokenUrl: server.tokenUrl,
    logger,
    onRequest: (e) => events.push(e),
    now: () => clock,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.5,
    ...over,
    http: { connectTimeoutMs: 500, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, requestTimeoutMs: 2000, ...over.http },
  });
}

/** Awaits a failure and records everything about it that a person or a log could see. */
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

function basic(id: string, secret: string): string {
  return Buffer.from(`${id}:${secret}`).toString('base64');
}

const values = (r: { entries: { value: string }[] }): string[] => r.entries.map((e) => e.value);
const pages = (): string[] => server.requestsTo('api').map((r) => `${r.query.get('page')}/${r.query.get('size')}`);

beforeEach(async () => {
  server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, offlineToken: OFFLINE_TOKEN });
  logged = [];
  thrown = [];
  delays = [];
  events = [];
  clock = 1_700_000_000_000;
});

afterEach(async () => {
  // Every fake, a test's own included, is closed before anything here can throw: a listening socket left
  // behind keeps jest from exiting.
  await FakeOcmServer.closeAll();
  // No secret, ever, in anything logged or thrown.
  const secrets = [CLIENT_SECRET, OFFLINE_TOKEN, basic(CLIENT_ID, CLIENT_SECRET), ...server.issuedTokens];
  const seen = [...logged, ...thrown].join('\n');
  for (const s of secrets) expect(seen).not.toContain(s);
});

describe('tokens', () => {
  test('service account: client_credentials with Basic auth and scope=openid, then a bearer GET', async () => {
    const result = await source(SA).fetch();

    expect(result).toEqual({
      source: 'ocm',
      entries: [
        { value: '192.0.2.10', source: 'ocm' },
        { value: '198.51.100.0/24', source: 'ocm' },
        { value: '2001:db8::/32', source: 'ocm' },
      ],
      skipped: 0,
    });
    const [tokenReq, apiReq] = server.requests;
    expect(tokenReq.route).toBe('token');
    expect(tokenReq.method).toBe('POST');
    expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(tokenReq.headers.authorization).toBe(`Basic ${basic(CLIENT_ID, CLIENT_SECRET)}`);
    expect(Object.fromEntries(new URLSearchParams(tokenReq.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      scope: 'openid',
    });
    expect(tokenReq.body).not.toContain(CLIENT_SECRET);
    expect(apiReq.method).toBe('GET');
    expect(apiReq.path).toBe(FAKE_LIST_PATH);
    expect(apiReq.headers.authorization).toBe(`Bearer ${server.issuedTokens[0]}`);
    expect(pages()).toEqual(['1/100']);
    expect(events.map((e) => `${e.kind} ${e.method} ${e.attempt}`)).toEqual(['token POST 1', 'api GET 1']);
  });

  test('offline token: refresh_token grant with client_id=cloud-services and no Basic header', async () => {
    await source(OFFLINE).fetch();

    const [tokenReq] = server.requestsTo('token');
    expect(tokenReq.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(tokenReq.body))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cloud-services',
      refresh_token: OFFLINE_TOKEN,
    });
  });

  test('the token is reused until a minute before expires_in, then renewed', async () => {
    const src = source(SA);
    await src.fetch();
    clock += 839_000; // 13:59 into a 15-minute token
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(1);
    clock += 2_000; // 14:01: inside the last minute
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(2);
    expect(server.requestsTo('api').map((r) => r.headers.authorization)).toEqual([
      `Bearer ${server.issuedTokens[0]}`,
      `Bearer ${server.issuedTokens[0]}`,
      `Bearer ${server.issuedTokens[1]}`,
    ]);
  });

  test('without expires_in the JWT exp decides; without either, 15 minutes are assumed', async () => {
    await server.close();
    const nowSec = clock / 1000;
    server = await FakeOcmServer.start({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      expiresIn: null,
      tokenFactory: (n) => (n === 1 ? fakeJwt(nowSec + 300) : `opaque-token-${n}-abcdef`),
    });
    const src = source(SA);
    await src.fetch();
    clock += 239_000; // exp in 61 s
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(1);
    clock += 2_000; // exp in 59 s
    await src.fetch(); // second token: opaque, no expires_in -> 15 min
    expect(server.requestsTo('token')).toHaveLength(2);
    clock += 839_000;
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(2);
    clock += 2_000;
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(3);
  });

  test('a 401 from OCM renews the token once and retries', async () => {
    const src = source(SA);
    await src.fetch();
    server.revokeTokens();
    const result = await src.fetch();

    expect(values(result)).toHaveLength(3);
    expect(server.requests.map((r) => r.route)).toEqual(['token', 'api', 'api', 'token', 'api']);
    expect(server.requestsTo('api')[2].headers.authorization).toBe(`Bearer ${server.issuedTokens[1]}`);
  });

  test('a second 401 with a fresh token fails with the OCM error', async () => {
    server.override('api', ocmError(401, 'CLUSTERS-MGMT-401', 'Invalid token', 'op-777'));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toBe(
      `OCM GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 failed with HTTP 401 (OCM error CLUSTERS-MGMT-401: Invalid token, operation id op-777). ` +
        `OCM rejected a freshly issued access token: check that the credentials in ${ORIGIN} belong to the OCM environment of OCM_API_URL (commercial vs FedRAMP, matching OCM_TOKEN_URL). ` +
        'Quote operation id op-777 to Red Hat support if it persists.',
    );
    expect(server.requests.map((r) => r.route)).toEqual(['token', 'api', 'token', 'api']);
  });

  test('concurrent fetches share one token request', async () => {
    const src = source(SA);
    await Promise.all([src.fetch(), src.fetch(), src.fetch()]);
    expect(server.requestsTo('token')).toHaveLength(1);
  });

  test('SSO invalid_grant on an offline token says where to get a new one and what to update', async () => {
    const err = await failure(source({ kind: 'offline-token', offlineToken: 'expired.offline.token-XYZ123' }).fetch());

    expect(err.code).toBe('ocm-auth-invalid-grant');
    expect(err.message).toBe(
      `Red Hat SSO refused the OCM offline token from ${ORIGIN} (HTTP 400 invalid_grant: Invalid refresh token): ` +
        'the offline token is no longer valid (unused for 30 days, revoked, or its session ended). ' +
        `Get a new one at https://console.redhat.com/openshift/token and put it in ${ORIGIN}; better, switch to a service account ` +
        '({"clientId","clientSecret"}, https://console.redhat.com/iam/service-accounts), which does not expire this way.',
    );
    expect(err.message).not.toContain('expired.offline.token-XYZ123');
    expect(server.requestsTo('token')).toHaveLength(1); // a 400 is not retried
    expect(server.requestsTo('api')).toHaveLength(0);
  });

  test('SSO invalid_client says the service account id or secret is wrong and which parameter to fix', async () => {
    const wrong = 'wrong-secret-AAAA1111';
    const err = await failure(source({ kind: 'service-account', clientId: CLIENT_ID, clientSecret: wrong }).fetch());

    expect(err.code).toBe('ocm-auth-invalid-client');
    expect(err.message).toBe(
      `Red Hat SSO rejected service account client id "${CLIENT_ID}" from ${ORIGIN} (HTTP 401 invalid_client: Invalid client or Invalid client credentials): ` +
        'the service account id or secret is wrong, or the account was deleted. ' +
        `Fix "clientId"/"clientSecret" in ${ORIGIN} (create a service account or reset its secret at https://console.redhat.com/iam/service-accounts).`,
    );
    expect(thrown.join('\n')).not.toContain(wrong);
    expect(thrown.join('\n')).not.toContain(basic(CLIENT_ID, wrong));
  });

  test('after invalid_client, a rotated credential in the store is re-read and used', async () => {
    let calls = 0;
    const rotating: OcmCredentialProvider = {
      origin: ORIGIN,
      get: async ({ forceRefresh = false } = {}) => {
        calls++;
        return forceRefresh ? SA : { kind: 'service-account', clientId: CLIENT_ID, clientSecret: 'old-secret-BBBB2222' };
      },
    };
    const result = await source(rotating).fetch();

    expect(values(result)).toHaveLength(3);
    expect(calls).toBe(2);
    expect(server.requestsTo('token')).toHaveLength(2);
    expect(logged.join('\n')).not.toContain('old-secret-BBBB2222');
  });

  test('the FedRAMP token URL switches the offline-token client id to console-dot', () => {
    expect(OCM_FEDRAMP).toEqual({
      apiUrl: 'https://api.openshiftusgov.com',
      tokenUrl: 'https://sso.openshiftusgov.com/realms/redhat-external/protocol/openid-connect/token',
      offlineTokenClientId: 'console-dot',
    });
    expect(OCM_DEFAULT_API_URL).toBe('https://api.openshift.com');
    expect(OCM_DEFAULT_TOKEN_URL).toBe('https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token');
  });

  test('SSO 503 is retried, then reported as ocm-http', async () => {
    server.override('token', html(503, '503 Service Unavailable'));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toBe(
      `Red Hat SSO failed POST ${server.tokenUrl} with HTTP 503 (a non-JSON body (text/html, ${htmlPage('503 Service Unavailable').length} bytes): "503 Service Unavailable") on every try. ` +
        'Red Hat SSO is having trouble; see https://status.redhat.com. The run will be retried on the next schedule.',
    );
    expect(server.requestsTo('token')).toHaveLength(3);
    expect(delays).toEqual([375, 750]);
  });

  test('an SSO 200 without access_token is a bad response that quotes nothing', async () => {
    server.enqueue('token', json(200, { refresh_token: 'leaky-refresh-token-123456', token_type: 'Bearer' }));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toContain('answered POST');
    expect(err.message).toContain('with HTTP 200 but no access_token (JSON without it');
    expect(thrown.join('\n')).not.toContain('leaky-refresh-token-123456');
  });
});

describe('paging', () => {
  test('three pages with a short last page', async () => {
    server.items = manyItems(250);
    const result = await source(SA).fetch();

    expect(pages()).toEqual(['1/100', '2/100', '3/100']);
    expect(values(result)).toHaveLength(250);
    expect(values(result)[249]).toBe('20.0.0.249');
    expect(server.requestsTo('token')).toHaveLength(1);
  });

  test('a server returning fewer items per page than asked is read to the total', async () => {
    await server.close();
    server = await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, maxPageSize: 40, items: manyItems(100) });
    const result = await source(SA).fetch();

    expect(pages()).toEqual(['1/100', '2/100', '3/100']);
    expect(new Set(values(result)).size).toBe(100);
  });

  test('an empty list is returned as empty (the domain guards decide)', async () => {
    server.items = [];
    const result = await source(SA).fetch();
    expect(result).toEqual({ source: 'ocm', entries: [], skipped: 0 });
  });

  test('a total that changes mid-way retries the whole fetch once', async () => {
    server.items = manyItems(150);
    const changed: Responder = (req, res, s) => json(200, { ...s.pageBody(req.query), total: 151 })(req, res, s);
    server.enqueue('api', (req, res, s) => json(200, s.pageBody(req.query))(req, res, s), changed);
    const result = await source(SA).fetch();

    expect(values(result)).toHaveLength(150);
    expect(pages()).toEqual(['1/100', '2/100', '1/100', '2/100']);
    expect(logged.join('\n')).toContain('total changed from 150 to 151 at page 2');
  });

  test('a total that keeps changing fails with ocm-count-mismatch', async () => {
    server.items = manyItems(150);
    server.override('api', (req, res, s) => {
      const body = s.pageBody(req.query);
      json(200, { ...body, total: body.page === 1 ? 150 : 149 })(req, res, s);
    });
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-count-mismatch');
    expect(err.message).toBe(
      `OCM's trusted IP list did not add up twice in a row (total changed from 150 to 149 at page 2; ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100). ` +
        'Nothing was changed. OCM may be mid-update; the next scheduled run will try again. If it persists, report it to Red Hat support.',
    );
    expect(pages()).toEqual(['1/100', '2/100', '1/100', '2/100']);
  });

  test('an empty page before the total is reached fails after one re-read', async () => {
    server.items = manyItems(150);
    server.override('api', (req, res, s) => {
      const body = s.pageBody(req.query);
      json(200, body.page === 2 ? { ...body, size: 0, items: [] } : body)(req, res, s);
    });
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-count-mismatch');
    expect(err.message).toContain('(page 2 was empty after 100 of 150 items;');
  });

  test('more items than the total is a mismatch too', async () => {
    server.override('api', json(200, { kind: 'TrustedIpList', page: 1, size: 2, total: 1, items: manyItems(2) }));
    const err = await failure(source(SA).fetch());
    expect(err.code).toBe('ocm-count-mismatch');
    expect(err.message).toContain('(read 2 items, more than the total of 1;');
  });

  test('the cap: exactly maxItems items are accepted, one more is refused from its total', async () => {
    server.items = manyItems(50);
    const result = await source(SA, { maxItems: 50, pageSize: 10 }).fetch();
    expect(values(result)).toHaveLength(50);
    expect(pages()).toHaveLength(5);

    server.items = manyItems(51);
    const err = await failure(source(SA, { maxItems: 50, pageSize: 10 }).fetch());
    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toContain('has 51 items (GET ');
    expect(err.message).toContain('more than the 50 accepted.');
    expect(pages()).toHaveLength(6);
  });

  test.each([
    ['on its last page', 10],
    ['on one page', 100],
  ])('the cap holds for what is delivered when total under-reports it: one item too many %s', async (_where, pageSize) => {
    server.items = manyItems(51);
    server.override('api', (req, res, s) => {
      const body = s.pageBody(req.query);
      // Says 50 and stops at 50, except that the page holding the 50th item carries the 51st as well.
      const items = body.page * pageSize >= 50 ? s.items.slice((body.page - 1) * pageSize) : body.items;
      json(200, { ...body, total: 50, size: items.length, items })(req, res, s);
    });
    const err = await failure(source(SA, { maxItems: 50, pageSize }).fetch());

    expect(err.code).toBe('ocm-bad-response');
    const last = Math.ceil(50 / pageSize);
    expect(err.message).toBe(
      `OCM sent more than the 50 trusted IP items accepted (51 by page ${last}, GET ${server.apiUrl}${FAKE_LIST_PATH}?page=${last}&size=${pageSize}, though its total says 50). ` +
        'Nothing was changed. A list that large cannot fit in an IAM policy; check OCM_API_URL and report it to Red Hat support.',
    );
    // Refused at once, not re-read as a list that moved.
    expect(pages()).toHaveLength(last);
  });

  test('the default cap is 10,000: 10,000 items are read, 10,001 refused whether total says so or not', async () => {
    server.items = manyItems(10_000);
    expect(values(await source(SA).fetch())).toHaveLength(10_000);

    server.items = manyItems(10_001);
    expect((await failure(source(SA).fetch())).message).toContain('has 10001 items (GET ');

    server.override('api', (req, res, s) => {
      const body = s.pageBody(req.query);
      json(200, { ...body, total: 10_000, items: body.page === 100 ? s.items.slice(9_900) : body.items })(req, res, s);
    });
    expect((await failure(source(SA).fetch())).message).toContain('OCM sent more than the 10000 trusted IP items accepted (10001 by page 100,');
  });

  test('a total above the cap is refused before paging through it', async () => {
    server.override('api', json(200, { kind: 'TrustedIpList', page: 1, size: 1, total: 20_000, items: manyItems(1) }));
    const err = await failure(source(SA).fetch());
    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toContain('has 20000 items');
    expect(server.requestsTo('api')).toHaveLength(1);
  });
});

describe('items', () => {
  test('disabled items are left out and counted', async () => {
    server.items = [
      { kind: 'TrustedIp', id: '192.0.2.1', enabled: true },
      { kind: 'TrustedIp', id: '192.0.2.2', enabled: false },
      { kind: 'TrustedIp', id: '2001:0db8:0000:0000:0000:0000:0000:0000/64', enabled: true },
      { kind: 'TrustedIp', id: '192.0.2.3', enabled: false },
    ];
    const result = await source(SA).fetch();
    expect(result).toEqual({
      source: 'ocm',
      entries: [
        { value: '192.0.2.1', source: 'ocm' },
        { value: '2001:0db8:0000:0000:0000:0000:0000:0000/64', source: 'ocm' },
      ],
      skipped: 2,
    });
  });

  test('an item without "enabled" is skipped as not enabled, as Red Hat\'s own tools read it, and warned about once per fetch', async () => {
    const items = manyItems(150);
    delete items[3].enabled;
    delete items[120].enabled;
    items[7].enabled = false;
    server.items = items;
    // The first pass sees the list move, so the items are read twice; the warning still comes once.
    server.enqueue('api', (req, res, s) => json(200, { ...s.pageBody(req.query), total: 151 })(req, res, s));
    const result = await source(SA).fetch();

    expect(values(result)).toHaveLength(147);
    expect(values(result)).not.toContain(items[3].id);
    expect(values(result)).not.toContain(items[120].id);
    expect(result.skipped).toBe(3);
    expect(pages()).toEqual(['1/100', '2/100', '1/100', '2/100']);
    const warnings = logged.filter((line) => line.includes('without \\"enabled\\"'));
    expect(warnings).toEqual([
      JSON.stringify(['warn', 'OCM trusted IP items without "enabled" were skipped as not enabled', [{ itemsWithoutEnabled: 2, total: 150 }]]),
    ]);
  });

  test.each([
    [{ kind: 'TrustedIp', enabled: true }, 'has items[3] with no "id", expected a non-empty string'],
    [{ kind: 'TrustedIp', id: 17, enabled: true }, 'has items[3] with "id" 17 (a number), expected a non-empty string'],
    [{ kind: 'TrustedIp', id: '', enabled: true }, 'has items[3] with "id" "" (a string), expected a non-empty string'],
    [{ kind: 'TrustedIp', id: '192.0.2.9', enabled: 'true' }, 'has items[3] (id "192.0.2.9") with "enabled" "true" (a string), expected true or false'],
    [{ kind: 'TrustedIp', id: '192.0.2.9', enabled: null }, 'has items[3] (id "192.0.2.9") with "enabled" of type null, expected true or false'],
    [{ kind: 'TrustedIpLink', id: '192.0.2.9', enabled: true }, 'has items[3] of kind "TrustedIpLink" (a string), expected "TrustedIp"'],
    ['192.0.2.9', 'has items[3] "192.0.2.9" (a string), expected an object'],
  ])('a malformed item fails the source, naming index and page: %j', async (bad, what) => {
    const items = manyItems(104);
    items[103] = bad as (typeof items)[number];
    server.items = items;
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toBe(
      `OCM's trusted IP list page 2 (GET ${server.apiUrl}${FAKE_LIST_PATH}?page=2&size=100) ${what}. ` +
        'Nothing was changed. The response is not what OCM documents: check OCM_API_URL and any proxy in between; if it is OCM itself, report it to Red Hat support.',
    );
  });

  test.each([
    [{ kind: 'ClusterList', page: 1, size: 0, total: 0, items: [] }, 'has kind "ClusterList" (a string), expected "TrustedIpList"'],
    [{ kind: 'TrustedIpList', page: 1, size: 1, total: '1', items: [] }, 'has "total" "1" (a string), expected a whole number'],
    [{ kind: 'TrustedIpList', page: 1, size: 1, total: 1, items: {} }, 'has "items" of type object, expected an array'],
    [{ kind: 'TrustedIpList', page: 2, size: 0, total: 0, items: [] }, 'has "page" 2 (a number), expected 1'],
    [[1, 2], 'is an array, not a JSON object'],
  ])('a malformed envelope fails the source: %j', async (body, what) => {
    server.override('api', json(200, body));
    const err = await failure(source(SA).fetch());
    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toContain(`page 1 (GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100) ${what}.`);
  });

  test('an empty page without "items" is accepted, as OCM sends it', async () => {
    server.override('api', json(200, { kind: 'TrustedIpList', page: 1, size: 0, total: 0 }));
    expect(await source(SA).fetch()).toEqual({ source: 'ocm', entries: [], skipped: 0 });
  });
});

describe('HTTP failures', () => {
  test('an HTML 502 is retried, then reported clearly (no JSON parse error)', async () => {
    server.override('api', html(502, '502 Bad Gateway'));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toBe(
      `OCM GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 failed with HTTP 502 (a non-JSON body (text/html, ${htmlPage('502 Bad Gateway').length} bytes): "502 Bad Gateway"). ` +
        'OCM is having trouble (already retried); see https://status.redhat.com. Nothing was changed; the next scheduled run will try again.',
    );
    expect(err.message).not.toMatch(/SyntaxError|Unexpected token|JSON at position/);
    expect(server.requestsTo('api')).toHaveLength(3);
    expect(events.filter((e) => e.kind === 'api').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  test('an OCM error body is surfaced with its operation id, and a 403 is not retried', async () => {
    server.override('api', ocmError(403, 'CLUSTERS-MGMT-403', "Account 'x' is not authorized", 'op-2f9a-77'));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-http');
    expect(err.message).toBe(
      `OCM GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 failed with HTTP 403 (OCM error CLUSTERS-MGMT-403: Account 'x' is not authorized, operation id op-2f9a-77). ` +
        `The account behind ${ORIGIN} is not allowed to read trusted IPs: give it OCM access in its Red Hat organization (for a service account, https://console.redhat.com/iam/user-access). ` +
        'Quote operation id op-2f9a-77 to Red Hat support if it persists.',
    );
    expect(server.requestsTo('api')).toHaveLength(1);
  });

  test('429 honours Retry-After in seconds', async () => {
    server.enqueue('api', json(429, { kind: 'Error', reason: 'slow down' }, { 'retry-after': '2' }));
    const result = await source(SA).fetch();
    expect(values(result)).toHaveLength(3);
    expect(delays).toEqual([2000]);
    expect(server.requestsTo('api')).toHaveLength(2);
  });

  test('Retry-After as an HTTP date, and a huge one capped', async () => {
    server.enqueue(
      'api',
      json(429, {}, { 'retry-after': new Date(clock + 3_000).toUTCString() }),
      json(503, {}, { 'retry-after': '3600' }),
    );
    const result = await source(SA).fetch();
    expect(values(result)).toHaveLength(3);
    expect(delays).toEqual([3000, 20_000]);
  });

  test('5xx backoff is exponential with jitter', async () => {
    server.enqueue('api', json(500, {}), json(500, {}));
    await source(SA, { random: () => 0 }).fetch();
    const d1 = [...delays];
    delays.length = 0;
    server.enqueue('api', json(500, {}), json(500, {}));
    await source(SA, { random: () => 0.999 }).fetch();
    expect(d1).toEqual([250, 500]);
    expect(delays).toEqual([500, 1000]);
  });

  test('a server that never answers times out (every try), with a clear message', async () => {
    server.override('api', hang());
    // undici's own headers/body timeouts tick at about 1 s, so the exact bound is the AbortSignal's.
    const err = await failure(source(SA, { http: { requestTimeoutMs: 150 } }).fetch());

    expect(err.code).toBe('ocm-timeout');
    expect(err.message).toBe(
      `OCM did not answer GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 in time (no complete answer within 150 ms; 3 tries). ` +
        "Check OCM status (https://status.redhat.com) and this function's outbound network (NAT, proxy, security groups); the run will be retried on the next schedule.",
    );
    expect(server.requestsTo('api')).toHaveLength(3);
  });

  test('the whole fetch is bounded too', async () => {
    server.override('api', hang());
    const err = await failure(source(SA, { fetchTimeoutMs: 150 }).fetch());
    expect(err.code).toBe('ocm-timeout');
    expect(err.message).toBe(
      `Gave up on OCM GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100: the whole OCM fetch ran out of time. ` +
        'OCM or the network is slow right now; the run will be retried on the next schedule. If it persists, check https://status.redhat.com.',
    );
    expect(server.requestsTo('api')).toHaveLength(1);
  });

  test('an oversized streamed body is cut at the cap', async () => {
    server.override('api', oversized(512 * 1024));
    const err = await failure(source(SA, { http: { maxResponseBytes: 1024 } }).fetch());

    expect(err.code).toBe('ocm-too-large');
    expect(err.message).toBe(
      `OCM response to GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 sent more than 1024 bytes, over the 1024-byte limit; the download was stopped and nothing was changed. ` +
        'A trusted IP list is a few kilobytes: check that the URL (OCM_API_URL / OCM_TOKEN_URL) points at OCM and not at a proxy or error page.',
    );
    expect(server.requestsTo('api')).toHaveLength(1);
  });

  test('a declared Content-Length over the cap is refused before reading', async () => {
    server.override('api', oversized(4096, true));
    const err = await failure(source(SA, { http: { maxResponseBytes: 1024 } }).fetch());
    expect(err.code).toBe('ocm-too-large');
    expect(err.message).toContain('declares 4096 bytes, over the 1024-byte limit');
  });

  test('a redirect to another host is refused and that host gets nothing', async () => {
    const other = await FakeOcmServer.start({ host: '127.0.0.2' });
    try {
      server.override('api', redirect(`${other.baseUrl}${FAKE_LIST_PATH}?page=1&size=100`));
      const err = await failure(source(SA).fetch());

      expect(err.code).toBe('ocm-redirect');
      expect(err.message).toBe(
        `OCM answered GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100 with HTTP 302, redirecting to host 127.0.0.2:${new URL(other.baseUrl).port} ` +
          `(${other.baseUrl}${FAKE_LIST_PATH}?page=1&size=100). Redirects are never followed, so credentials cannot leak to another server. ` +
          'Check OCM_API_URL / OCM_TOKEN_URL and any proxy in between; only point them at a host you trust.',
      );
      expect(other.requests).toHaveLength(0);
      expect(server.requestsTo('api')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  test('a same-host redirect is refused too, and secret query values are masked', async () => {
    server.override('token', redirect('/elsewhere?access_token=abc123def456&x=1', 307));
    const err = await failure(source(SA).fetch());
    expect(err.code).toBe('ocm-redirect');
    expect(err.message).toContain(`with HTTP 307, redirecting to the same host (${server.baseUrl}/elsewhere?access_token=%5Bredacted%5D&x=1)`);
    expect(err.message).not.toContain('abc123def456');
  });

  test('truncated JSON is a bad response, not a parse stack trace', async () => {
    const text = '{"kind":"TrustedIpList","page":1,"size":3,"total":3,"items":[{"kind":"TrustedIp","id":"192.0.2.1","ena';
    server.override('api', raw(200, text, { 'content-type': 'application/json' }));
    const err = await failure(source(SA).fetch());

    expect(err.code).toBe('ocm-bad-response');
    expect(err.message).toBe(
      `OCM's trusted IP list page 1 (GET ${server.apiUrl}${FAKE_LIST_PATH}?page=1&size=100) is not valid JSON: it looks truncated or malformed (${text.length} bytes). ` +
        'Nothing was changed. The response is not what OCM documents: check OCM_API_URL and any proxy in between; if it is OCM itself, report it to Red Hat support.',
    );
  });

  test('a connection cut mid-body is a network error, retried', async () => {
    server.override('api', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"kind":"TrustedIpList",');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const err = await failure(source(SA).fetch());
    expect(err.code).toBe('ocm-network');
    expect(err.message).toMatch(new RegExp(`^Could not reach OCM for GET ${server.apiUrl.replace(/\./g, '\\.')}.*\\(3 tries\\)\\. Check DNS`));
    expect(server.requestsTo('api')).toHaveLength(3);
  });

  test('a refused connection is a network error naming the URL', async () => {
    const closed = await FakeOcmServer.start();
    const url = closed.apiUrl;
    await closed.close();
    const err = await failure(source(SA, { apiUrl: url, http: { attempts: 2 } }).fetch());
    expect(err.code).toBe('ocm-network');
    expect(err.message).toContain(`Could not reach OCM for GET ${url}${FAKE_LIST_PATH}?page=1&size=100: `);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('endpoints', () => {
  test.each([
    ['http://api.openshift.com', 'OCM_API_URL must use https:// (got http://api.openshift.com/); plain http is only accepted on a loopback address, for tests. Set OCM_API_URL to the https:// address.'],
    ['not a url', 'OCM_API_URL is not a valid URL ("not a url"). Set OCM_API_URL to an https:// URL.'],
    ['https://user:pw@api.openshift.com', 'OCM_API_URL must not contain a user name or password. Credentials belong in the OCM credentials parameter.'],
  ])('%s is refused', (value, message) => {
    expect(() => parseEndpoint(value, 'OCM_API_URL')).toThrow(message);
  });

  test('https anywhere and http on loopback are accepted', () => {
    expect(parseEndpoint('https://api.openshift.com', 'X').host).toBe('api.openshift.com');
    expect(parseEndpoint('http://127.0.0.2:8080', 'X').port).toBe('8080');
    expect(parseEndpoint('http://localhost:1', 'X').hostname).toBe('localhost');
  });

  test('an API base with a path prefix keeps it', async () => {
    server.override('other', (req, res, s) => json(200, s.pageBody(req.query))(req, res, s));
    await source(SA, { apiUrl: `${server.apiUrl}/proxy/` }).fetch();
    expect(server.requests[1].path).toBe(`/proxy${FAKE_LIST_PATH}`);
  });
});
