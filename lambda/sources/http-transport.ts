import * as http from 'node:http';
import * as https from 'node:https';

// One HTTP/1.1 exchange over Node's own client (llhttp in C++, already loaded by the AWS SDK's handler): the
// OCM source's transport. undici was measured against it (bench/, README "Performance"): every undici client parses
// with llhttp compiled to WebAssembly on the first connection, which cost about 35 ms and, by the time the process
// exits, 45 MiB more peak memory than this, whatever entry point is loaded. The rules stay ocm-http.ts's: bounded
// connect, headers, body and whole-attempt times, no redirects followed, the body capped as it streams.

/** What one exchange needs. */
export interface TransportRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Aborts the exchange (the attempt's deadline and the whole fetch's). */
  signal: AbortSignal;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** The answer: status and headers, and the body as a stream the caller reads (or discards). */
export interface TransportResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** Chunks of the body; a pause longer than `bodyTimeoutMs` between two ends it with a `BODY_TIMEOUT` error. */
  body: AsyncIterable<Buffer>;
  /** Stops reading and closes the connection (a body we will not read). */
  discard(): void;
}

/** Errors of a timeout this module enforces, by `code`. */
export const TIMEOUT_CODES = { connect: 'OCM_CONNECT_TIMEOUT', headers: 'OCM_HEADERS_TIMEOUT', body: 'OCM_BODY_TIMEOUT' } as const;

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const agents = new Map<string, http.Agent>();

/**
 * The module-level keep-alive agent of a protocol, reused across warm Lambda invocations (and the token and list
 * requests of one run). Keep-alive shorter than typical load-balancer idle timeouts, so a thawed function rarely
 * meets a dead socket; if it does, the caller's retry absorbs it.
 */
function agentFor(protocol: string): http.Agent {
  let agent = agents.get(protocol);
  if (!agent) {
    const options = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 };
    agent = protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    agents.set(protocol, agent);
  }
  return agent;
}

/** Sends one request and resolves with the response once its headers are in; rejects on any failure or timeout. */
export function exchange(request: TransportRequest): Promise<TransportResponse> {
  const { url } = request;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<TransportResponse>((resolve, reject) => {
    let headersTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    const clear = (): void => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    };
    const req = client.request(url, {
      method: request.method,
      headers: { ...request.headers, ...(request.body !== undefined ? { 'content-length': String(Buffer.byteLength(request.body)) } : {}) },
      agent: agentFor(url.protocol),
      signal: request.signal,
    });
    req.on('socket', (socket) => {
      // A reused keep-alive socket is connected already; a new one gets the connect bound.
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => req.destroy(timeoutError(TIMEOUT_CODES.connect, `connect timed out after ${request.connectTimeoutMs} ms`)), request.connectTimeoutMs);
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('finish', () => {
      headersTimer = setTimeout(() => req.destroy(timeoutError(TIMEOUT_CODES.headers, `no response headers within ${request.headersTimeoutMs} ms`)), request.headersTimeoutMs);
    });
    req.on('error', (err) => {
      clear();
      reject(err);
    });
    req.on('response', (res) => {
      clear();
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: withBodyTimeout(res, request.bodyTimeoutMs), discard: () => res.destroy() });
    });
    req.end(request.body);
  });
}

/** The body's chunks, ended with a `BODY_TIMEOUT` error when the server pauses longer than `ms` between two. */
async function* withBodyTimeout(res: http.IncomingMessage, ms: number): AsyncGenerator<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => res.destroy(timeoutError(TIMEOUT_CODES.body, `body stalled for ${ms} ms`)), ms);
  };
  arm();
  try {
    for await (const chunk of res) {
      arm();
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    }
  } finally {
    clearTimeout(timer);
  }
}
