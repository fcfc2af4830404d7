/**
 * The OcmSource harness of test/sources/ocm*.test.ts: a fresh fake SSO+OCM server per test, a source built against
 * it with a fake clock, recorded sleeps, recorded request events and a recording logger; after every test, no
 * secret may be found in anything logged or thrown.
 *
 * The state is exported as live bindings (`server`, `clock`...): a test reads them directly and replaces them
 * through `useServer` and `tick`.
 */
import { SyncError } from '../../lambda/errors';
import { OcmSource, type OcmSourceOptions } from '../../lambda/sources/ocm';
import { staticCredentialProvider, type OcmCredentialProvider, type OcmCredentials } from '../../lambda/sources/ocm-credentials';
import type { OcmRequestEvent } from '../../lambda/sources/ocm-http';
import type { OcmLogger } from '../../lambda/sources/ocm-redact';
import { FakeOcmServer } from './ocm-server';

export const CLIENT_ID = 'svc-allowlist-4f1c';
export const CLIENT_SECRET = 'S3cr3t-client-ZQ8xv3Lm9Pw2';
export const OFFLINE_TOKEN = 'offline.eyJvZmZsaW5lIjoidG9rZW4ifQ.K7s9dLq2Wm';
export const ORIGIN = 'SSM parameter "/allowlist-sync/ocm"';
export const SA: OcmCredentials = { kind: 'service-account', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
export const OFFLINE: OcmCredentials = { kind: 'offline-token', offlineToken: OFFLINE_TOKEN };

export let server: FakeOcmServer;
export let logged: string[];
export let thrown: string[];
export let delays: number[];
export let events: OcmRequestEvent[];
/** What the source's `now()` answers (epoch ms). */
export let clock: number;

/** Replaces the test's fake (one started with other options); the caller closes the old one. */
export function useServer(fake: FakeOcmServer): void {
  server = fake;
}

/** Moves the source's clock on by `ms`. */
export function tick(ms: number): void {
  clock += ms;
}

export const logger: OcmLogger = {
  debug: (m, ...e) => logged.push(JSON.stringify(['debug', m, e])),
  info: (m, ...e) => logged.push(JSON.stringify(['info', m, e])),
  warn: (m, ...e) => logged.push(JSON.stringify(['warn', m, e])),
};

export function source(credentials: OcmCredentials | OcmCredentialProvider = SA, over: Partial<OcmSourceOptions> = {}): OcmSource {
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
export async function failure(promise: Promise<unknown>): Promise<SyncError> {
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

export function basic(id: string, secret: string): string {
  return Buffer.from(`${id}:${secret}`).toString('base64');
}

export const values = (r: { entries: { value: string }[] }): string[] => r.entries.map((e) => e.value);
export const pages = (): string[] => server.requestsTo('api').map((r) => `${r.query.get('page')}/${r.query.get('size')}`);

/** Registers the harness's hooks: call once at the top of a test file. */
export function installOcmSourceHarness(): void {
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
}
