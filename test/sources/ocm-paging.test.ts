/**
 * The OCM source's paging and items against the fake SSO+OCM server (test/helpers/ocm-source-harness.ts).
 */
import { FAKE_LIST_PATH, FakeOcmServer, json, manyItems, type Responder } from '../helpers/ocm-server';
import { CLIENT_ID, CLIENT_SECRET, SA, failure, installOcmSourceHarness, logged, pages, server, source, useServer, values } from '../helpers/ocm-source-harness';

installOcmSourceHarness();

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
    useServer(await FakeOcmServer.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, maxPageSize: 40, items: manyItems(100) }));
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
