/**
 * The OCM source against the fake SSO+OCM server (test/helpers/ocm-source-harness.ts): tokens here; paging and
 * items in ocm-paging.test.ts; HTTP failures and endpoints in ocm-failures.test.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { OCM_DEFAULT_API_URL, OCM_DEFAULT_TOKEN_URL, OCM_FEDRAMP } from '../../lambda/sources/ocm';
import type { OcmCredentialProvider } from '../../lambda/sources/ocm-credentials';
import type { OcmLogger } from '../../lambda/sources/ocm-redact';
import { FAKE_LIST_PATH, FakeOcmServer, fakeJwt, html, htmlPage, json, ocmError } from '../helpers/ocm-server';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  OFFLINE,
  OFFLINE_TOKEN,
  ORIGIN,
  SA,
  basic,
  clock,
  delays,
  events,
  failure,
  installOcmSourceHarness,
  logged,
  pages,
  server,
  source,
  thrown,
  tick,
  useServer,
  values,
} from '../helpers/ocm-source-harness';

// Powertools Logger must fit the port (checked by tsc).
const powertools: OcmLogger = new Logger({ serviceName: 'allowlist-sync-test', logLevel: 'SILENT' });
void powertools;

installOcmSourceHarness();

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
    tick(839_000); // 13:59 into a 15-minute token
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(1);
    tick(2_000); // 14:01: inside the last minute
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
    useServer(await FakeOcmServer.start({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      expiresIn: null,
      tokenFactory: (n) => (n === 1 ? fakeJwt(nowSec + 300) : `opaque-token-${n}-abcdef`),
    }));
    const src = source(SA);
    await src.fetch();
    tick(239_000); // exp in 61 s
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(1);
    tick(2_000); // exp in 59 s
    await src.fetch(); // second token: opaque, no expires_in -> 15 min
    expect(server.requestsTo('token')).toHaveLength(2);
    tick(839_000);
    await src.fetch();
    expect(server.requestsTo('token')).toHaveLength(2);
    tick(2_000);
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
