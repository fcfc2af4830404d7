import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException, type ParameterType } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SyncError } from '../../lambda/errors';
import { ocmOptionsFromEnv } from '../../lambda/config';
import { OcmSource } from '../../lambda/sources/ocm';
import { parseOcmCredentials, ssmCredentialProvider, type OcmCredentialProvider } from '../../lambda/sources/ocm-credentials';
import type { OcmLogger } from '../../lambda/sources/ocm-redact';
import { FakeOcmServer } from '../helpers/ocm-server';

const NAME = '/allowlist-sync/ocm-credentials';
const ORIGIN = `SSM parameter "${NAME}"`;
const SECRET = 'cs-9vLq2WmK7s3dPz';
const OFFLINE = 'eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJPZmZsaW5lIn0.offline-sig-A1b2C3';

const ssm = mockClient(SSMClient);
const client = new SSMClient({ region: 'us-east-1' });
let logged: string[];
let thrown: string[];

const logger: OcmLogger = {
  debug: (m, ...e) => logged.push(JSON.stringify(['debug', m, e])),
  info: (m, ...e) => logged.push(JSON.stringify(['info', m, e])),
  warn: (m, ...e) => logged.push(JSON.stringify(['warn', m, e])),
};

function stored(value: string, type: ParameterType = 'SecureString'): void {
  ssm.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Type: type, Value: value } });
}

function provider(over: { now?: () => number; maxAgeMs?: number } = {}): OcmCredentialProvider {
  return ssmCredentialProvider({ parameterName: NAME, client, logger, ...over });
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    const e = err as SyncError;
    thrown.push(e.message, JSON.stringify(e));
    return e;
  }
  throw new Error('expected a failure');
}

function syncFailure(fn: () => unknown): SyncError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SyncError);
    const e = err as SyncError;
    thrown.push(e.message, JSON.stringify(e));
    return e;
  }
  throw new Error('expected a failure');
}

beforeEach(() => {
  ssm.reset();
  logged = [];
  thrown = [];
});

afterEach(() => {
  const seen = [...logged, ...thrown].join('\n');
  for (const s of [SECRET, OFFLINE]) expect(seen).not.toContain(s);
});

describe('SSM parameter', () => {
  test('JSON service account, read with decryption', async () => {
    stored(JSON.stringify({ clientId: 'svc-1', clientSecret: SECRET }));
    await expect(provider().get()).resolves.toEqual({ kind: 'service-account', clientId: 'svc-1', clientSecret: SECRET });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: NAME, WithDecryption: true });
  });

  test('JSON offline token, bare token text and a JSON string all give an offline token', async () => {
    for (const value of [JSON.stringify({ offlineToken: OFFLINE }), `  ${OFFLINE}\n`, JSON.stringify(OFFLINE)]) {
      ssm.reset();
      stored(value);
      await expect(provider().get()).resolves.toEqual({ kind: 'offline-token', offlineToken: OFFLINE });
    }
  });

  test('malformed JSON fails without quoting the value', async () => {
    const value = `{"clientId":"svc-1","clientSecret":"${SECRET}"`;
    stored(value);
    const err = await failure(provider().get());
    expect(err.code).toBe('ocm-credentials-invalid');
    expect(err.message).toBe(
      `The OCM credentials in ${ORIGIN} look like JSON but do not parse (${value.length} characters). ` +
        'Store either {"clientId":"...","clientSecret":"..."} (a Red Hat service account, preferred) or {"offlineToken":"..."} / the bare offline token text.',
    );
  });

  test('a service account without its secret names the missing key', async () => {
    stored(JSON.stringify({ clientId: 'svc-1', clientSecret: '' }));
    const err = await failure(provider().get());
    expect(err.code).toBe('ocm-credentials-invalid');
    expect(err.message).toContain(`The OCM credentials in ${ORIGIN} have no usable "clientSecret" (both must be non-empty strings).`);
  });

  test('unknown JSON keys are listed by name only', async () => {
    stored(JSON.stringify({ client_id: 'svc-1', client_secret: SECRET }));
    const err = await failure(provider().get());
    expect(err.message).toContain('without "clientId"/"clientSecret" or "offlineToken" (keys found: "client_id", "client_secret")');
  });

  test('an empty value and a token with spaces are refused', async () => {
    stored('   ');
    expect((await failure(provider().get())).code).toBe('ocm-credentials-missing');
    ssm.reset();
    stored(`${OFFLINE} ${OFFLINE}`);
    const err = await failure(provider().get());
    expect(err.code).toBe('ocm-credentials-invalid');
    expect(err.message).toContain('contains whitespace');
  });

  test('ParameterNotFound gives a clear message naming the parameter and the variable', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: {} }));
    const err = await failure(provider().get());
    expect(err.code).toBe('ocm-credentials-missing');
    expect(err.message).toBe(
      `SSM parameter "${NAME}" (named by OCM_CREDENTIALS_PARAMETER) does not exist in this account and region. ` +
        `Create it as a SecureString, e.g. aws ssm put-parameter --type SecureString --name "${NAME}" --value file://ocm-credentials.json. ` +
        'Store either {"clientId":"...","clientSecret":"..."} (a Red Hat service account, preferred) or {"offlineToken":"..."} / the bare offline token text.',
    );
  });

  test('access denied says which permissions are missing', async () => {
    ssm.on(GetParameterCommand).rejects(
      new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'User is not authorized to perform ssm:GetParameter', $metadata: {} }),
    );
    const err = await failure(provider().get());
    expect(err.code).toBe('ocm-credentials-unavailable');
    expect(err.message).toBe(
      `Not allowed to read SSM parameter "${NAME}" (named by OCM_CREDENTIALS_PARAMETER): AccessDeniedException: User is not authorized to perform ssm:GetParameter ` +
        'Grant ssm:GetParameter on the parameter and kms:Decrypt on its key to this role.',
    );
  });

  test('the value is cached for maxAge, re-read after it or when forced', async () => {
    let now = 0;
    stored(OFFLINE);
    const p = provider({ now: () => now, maxAgeMs: 60_000 });
    await p.get();
    await Promise.all([p.get(), p.get()]);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    now = 61_000;
    await p.get();
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    await p.get({ forceRefresh: true });
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 3);
  });

  test('a passing SSM failure after maxAge falls back to the copy read earlier; a deleted parameter does not', async () => {
    let now = 0;
    stored(OFFLINE);
    const p = provider({ now: () => now, maxAgeMs: 1_000 });
    await p.get();
    now = 5_000;
    ssm.reset();
    ssm.on(GetParameterCommand).rejects(new SSMServiceException({ name: 'InternalServerError', $fault: 'server', message: 'boom', $metadata: {} }));
    await expect(p.get()).resolves.toEqual({ kind: 'offline-token', offlineToken: OFFLINE });
    expect(logged.join('\n')).toContain('using the copy read earlier');
    ssm.reset();
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: {} }));
    expect((await failure(p.get())).code).toBe('ocm-credentials-missing');
  });

  test('a plain String parameter works but is warned about', async () => {
    stored(OFFLINE, 'String');
    await provider().get();
    expect(logged.join('\n')).toContain('not a SecureString');
  });
});

describe('parseOcmCredentials', () => {
  test.each([
    ['[1,2]', 'are JSON but not an object'],
    ['{"offlineToken": 5}', 'have an empty or non-string "offlineToken"'],
    ['{"clientId": "x"}', 'have no usable "clientSecret"'],
    ['{"clientSecret": "s"}', 'have no usable "clientId"'],
  ])('%s is refused', (value, what) => {
    expect(() => parseOcmCredentials(value, 'X')).toThrow(`The OCM credentials in X ${what}`);
  });

  test('service account wins when both kinds are present', () => {
    expect(parseOcmCredentials(JSON.stringify({ clientId: 'a', clientSecret: 'b', offlineToken: 'c' }), 'X').kind).toBe('service-account');
  });
});

describe('ocmOptionsFromEnv', () => {
  test('service account from the environment', async () => {
    const options = ocmOptionsFromEnv({ OCM_CLIENT_ID: 'svc-1', OCM_CLIENT_SECRET: SECRET, OCM_OFFLINE_TOKEN: OFFLINE });
    expect(options.credentials.origin).toBe('environment variables OCM_CLIENT_ID/OCM_CLIENT_SECRET');
    await expect(options.credentials.get()).resolves.toEqual({ kind: 'service-account', clientId: 'svc-1', clientSecret: SECRET });
    expect(options.apiUrl).toBe('https://api.openshift.com');
    expect(options.tokenUrl).toBe('https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token');
  });

  test('offline token from the environment, over the parameter', async () => {
    const options = ocmOptionsFromEnv({ OCM_OFFLINE_TOKEN: OFFLINE, OCM_CREDENTIALS_PARAMETER: NAME });
    expect(options.credentials.origin).toBe('environment variable OCM_OFFLINE_TOKEN');
    await expect(options.credentials.get()).resolves.toEqual({ kind: 'offline-token', offlineToken: OFFLINE });
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 0);
  });

  test('half a service account names the missing variable', () => {
    const err = syncFailure(() => ocmOptionsFromEnv({ OCM_CLIENT_ID: 'svc-1', OCM_CLIENT_SECRET: '  ' }));
    expect(err.code).toBe('ocm-credentials-missing');
    expect(err.message).toBe(
      'OCM_CLIENT_ID is set but OCM_CLIENT_SECRET is not; a Red Hat service account needs both. ' +
        'Set OCM_CLIENT_SECRET, or unset OCM_CLIENT_ID to use OCM_OFFLINE_TOKEN or OCM_CREDENTIALS_PARAMETER.',
    );
    expect(syncFailure(() => ocmOptionsFromEnv({ OCM_CLIENT_SECRET: SECRET })).message).toContain('OCM_CLIENT_SECRET is set but OCM_CLIENT_ID is not');
  });

  test('nothing configured names every option', () => {
    const err = syncFailure(() => ocmOptionsFromEnv({}));
    expect(err.code).toBe('ocm-credentials-missing');
    expect(err.message).toBe(
      'No OCM credentials configured: none of OCM_CREDENTIALS_PARAMETER, OCM_CLIENT_ID/OCM_CLIENT_SECRET or OCM_OFFLINE_TOKEN is set. ' +
        'Set OCM_CREDENTIALS_PARAMETER to the name of an SSM SecureString holding {"clientId":"...","clientSecret":"..."} (preferred) or an offline token.',
    );
  });

  test('a bad URL names its variable', () => {
    const err = syncFailure(() => ocmOptionsFromEnv({ OCM_OFFLINE_TOKEN: OFFLINE, OCM_TOKEN_URL: 'http://sso.example.com/token' }));
    expect(err.code).toBe('ocm-config-invalid');
    expect(err.message).toContain('OCM_TOKEN_URL must use https://');
    expect(syncFailure(() => ocmOptionsFromEnv({ OCM_OFFLINE_TOKEN: OFFLINE, OCM_API_URL: '::' })).message).toContain('OCM_API_URL is not a valid URL');
  });

  test('end to end: SSM parameter from the environment, fetched from the fake OCM', async () => {
    const server = await FakeOcmServer.start({ clientId: 'svc-1', clientSecret: SECRET });
    try {
      stored(JSON.stringify({ clientId: 'svc-1', clientSecret: SECRET }));
      const options = ocmOptionsFromEnv(
        { OCM_CREDENTIALS_PARAMETER: NAME, OCM_API_URL: server.apiUrl, OCM_TOKEN_URL: server.tokenUrl },
        { ssmClient: client, logger },
      );
      expect(options.credentials.origin).toBe(ORIGIN);
      const result = await new OcmSource(options).fetch();
      expect(result.entries).toHaveLength(3);
      expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
      for (const t of server.issuedTokens) expect(logged.join('\n')).not.toContain(t);
    } finally {
      await server.close();
    }
  });

  test('end to end: a missing parameter fails the fetch with the parameter named', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: {} }));
    const source = new OcmSource(ocmOptionsFromEnv({ OCM_CREDENTIALS_PARAMETER: NAME }, { ssmClient: client }));
    const err = await failure(source.fetch());
    expect(err.code).toBe('ocm-credentials-missing');
    expect(err.message).toContain(`SSM parameter "${NAME}" (named by OCM_CREDENTIALS_PARAMETER) does not exist`);
  });
});

test('a bare value with characters no token has is refused without echoing it', () => {
  const err = syncFailure(() => parseOcmCredentials('clientSecret: cs-9vLq2WmK7s3dPz', 'X'));
  expect(err.code).toBe('ocm-credentials-invalid');
  expect(syncFailure(() => parseOcmCredentials('<secret>', 'X')).message).toBe(
    'The OCM offline token in X contains characters a token cannot have (8 characters; a token is letters, digits and ._~+/=-). ' +
      'Store either {"clientId":"...","clientSecret":"..."} (a Red Hat service account, preferred) or {"offlineToken":"..."} / the bare offline token text.',
  );
});
