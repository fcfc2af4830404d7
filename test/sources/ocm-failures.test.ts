/**
 * The OCM source's HTTP failures and endpoints against the fake SSO+OCM server (test/helpers/ocm-source-harness.ts).
 */
import { parseEndpoint } from '../../lambda/sources/ocm';
import { FAKE_LIST_PATH, FakeOcmServer, hang, html, htmlPage, json, ocmError, oversized, raw, redirect } from '../helpers/ocm-server';
import { ORIGIN, SA, clock, delays, events, failure, installOcmSourceHarness, server, source, values } from '../helpers/ocm-source-harness';

installOcmSourceHarness();

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
