/**
 * lambda/sources/http-transport.ts over real sockets on 127.0.0.1: the bounds it enforces itself (headers, body
 * pauses, the caller's signal), keep-alive reuse, and that it follows no redirect.
 */
import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TIMEOUT_CODES, exchange } from '../../lambda/sources/http-transport';

let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void;
const sockets = new Set<string>();

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  server.on('connection', (socket) => sockets.add(`${socket.remotePort}`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => sockets.clear());

const request = (path: string, extra: Partial<Parameters<typeof exchange>[0]> = {}) =>
  exchange({ url: new URL(path, base), method: 'GET', headers: {}, signal: AbortSignal.timeout(5_000), connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000, ...extra });

async function text(response: Awaited<ReturnType<typeof exchange>>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as Error & { code?: string });

describe('exchange', () => {
  test('a request and its body, the POST body sent with its length, over one kept-alive connection', async () => {
    handler = (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'] ?? null, body })));
    };
    const first = await request('/a', { method: 'POST', body: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(await text(first))).toEqual({ method: 'POST', length: '29', body: 'grant_type=client_credentials' });
    const second = await request('/b');
    expect(JSON.parse(await text(second))).toMatchObject({ method: 'GET', length: null });
    expect(sockets.size).toBe(1);
  });

  test('a redirect is returned as it is, never followed', async () => {
    let followed = false;
    handler = (req, res) => {
      if (req.url === '/elsewhere') followed = true;
      res.writeHead(302, { location: '/elsewhere' }).end();
    };
    const response = await request('/start');
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/elsewhere');
    response.discard();
    expect(followed).toBe(false);
  });

  test('no headers in time: a headers timeout, by its code', async () => {
    handler = () => undefined; // never answers
    const err = await failure(request('/slow', { headersTimeoutMs: 50 }));
    expect(err?.code).toBe(TIMEOUT_CODES.headers);
    expect(err?.message).toBe('no response headers within 50 ms');
  });

  test('a body that stalls: a body timeout, by its code, after the chunks that came', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
    };
    const response = await request('/stall', { bodyTimeoutMs: 50 });
    const chunks: string[] = [];
    const err = await failure(
      (async () => {
        for await (const chunk of response.body) chunks.push(chunk.toString());
      })(),
    );
    expect(chunks).toEqual(['first chunk']);
    expect(err?.code).toBe(TIMEOUT_CODES.body);
  });

  test('the caller\'s signal aborts the exchange (the attempt and whole-fetch deadlines)', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const pending = failure(request('/never', { signal: controller.signal, headersTimeoutMs: 5_000 }));
    setTimeout(() => controller.abort(new Error('deadline')), 20);
    const err = await pending;
    expect(err?.name).toBe('AbortError');
  });

  test('a refused connection is the system error, by its code', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(exchange({ url: new URL(`http://127.0.0.1:${port}/`), method: 'GET', headers: {}, signal: AbortSignal.timeout(2_000), connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000 }));
    expect(err?.code).toBe('ECONNREFUSED');
  });

  test('only http: and https: URLs', async () => {
    const err = await failure(exchange({ url: new URL('ftp://127.0.0.1/'), method: 'GET', headers: {}, signal: AbortSignal.timeout(1_000), connectTimeoutMs: 1, headersTimeoutMs: 1, bodyTimeoutMs: 1 }));
    expect(err?.message).toBe('unsupported protocol ftp:');
  });
});
