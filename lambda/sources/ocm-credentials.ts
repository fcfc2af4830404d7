/**
 * Where the OCM credentials come from: an SSM SecureString (the Lambda, or the CLI with the caller's AWS
 * credentials) or the environment (the CLI). Values are parsed strictly and never echoed back.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SyncError } from '../errors';
import { silentLogger, type OcmLogger, type SecretRedactor } from './ocm-redact';

/** A Red Hat service account (preferred) or a legacy offline (refresh) token. */
export type OcmCredentials =
  | { kind: 'service-account'; clientId: string; clientSecret: string }
  | { kind: 'offline-token'; offlineToken: string };

/** Yields the current credentials; `origin` names where they live, for messages ("update <origin>"). */
export interface OcmCredentialProvider {
  /** Human name of the store, e.g. `SSM parameter "/allowlist-sync/ocm"` or `environment variable OCM_OFFLINE_TOKEN`. */
  readonly origin: string;
  /** `forceRefresh` bypasses any cache, e.g. after SSO rejected a possibly rotated credential. */
  get(options?: { forceRefresh?: boolean }): Promise<OcmCredentials>;
}

/** Tells `redactor` the secret inside credentials: a service account's in its `Basic` form too. */
export function registerCredentials(redactor: SecretRedactor, credentials: OcmCredentials): void {
  if (credentials.kind === 'service-account') redactor.addBasic(credentials.clientId, credentials.clientSecret);
  else redactor.add(credentials.offlineToken);
}

/** True when two credentials are the same (used to tell a rotated parameter from an unchanged one). */
export function sameCredentials(a: OcmCredentials, b: OcmCredentials): boolean {
  if (a.kind === 'service-account' && b.kind === 'service-account') {
    return a.clientId === b.clientId && a.clientSecret === b.clientSecret;
  }
  if (a.kind === 'offline-token' && b.kind === 'offline-token') return a.offlineToken === b.offlineToken;
  return false;
}

const FORMAT_HINT =
  'Store either {"clientId":"...","clientSecret":"..."} (a Red Hat service account, preferred) or {"offlineToken":"..."} / the bare offline token text.';

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * Parses a stored credential value: JSON `{clientId, clientSecret}` or `{offlineToken}`, a JSON string,
 * or the bare token text. Errors name `origin` and the keys found, never the values.
 */
export function parseOcmCredentials(text: string, origin: string): OcmCredentials {
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new SyncError('ocm-credentials-missing', `The OCM credentials in ${origin} are empty.`, FORMAT_HINT);
  }
  if (/^[[{"]/.test(trimmed)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // The parser's message may quote the value, so it is deliberately not repeated.
      throw new SyncError(
        'ocm-credentials-invalid',
        `The OCM credentials in ${origin} look like JSON but do not parse (${trimmed.length} characters).`,
        FORMAT_HINT,
      );
    }
    if (typeof parsed === 'string') return parseOcmCredentials(parsed, origin);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SyncError('ocm-credentials-invalid', `The OCM credentials in ${origin} are JSON but not an object.`, FORMAT_HINT);
    }
    const record = parsed as Record<string, unknown>;
    if ('clientId' in record || 'clientSecret' in record) {
      if (!nonEmptyString(record.clientId) || !nonEmptyString(record.clientSecret)) {
        const missing = ['clientId', 'clientSecret'].filter((k) => !nonEmptyString(record[k]));
        throw new SyncError(
          'ocm-credentials-invalid',
          `The OCM credentials in ${origin} have ${missing.map((k) => `no usable "${k}"`).join(' and ')} (both must be non-empty strings).`,
          FORMAT_HINT,
        );
      }
      return { kind: 'service-account', clientId: record.clientId.trim(), clientSecret: record.clientSecret.trim() };
    }
    if ('offlineToken' in record) {
      if (!nonEmptyString(record.offlineToken)) {
        throw new SyncError('ocm-credentials-invalid', `The OCM credentials in ${origin} have an empty or non-string "offlineToken".`, FORMAT_HINT);
      }
      return checkedOfflineToken(record.offlineToken.trim(), origin);
    }
    const keys = Object.keys(record).slice(0, 10).map((k) => JSON.stringify(k)).join(', ') || 'none';
    throw new SyncError(
      'ocm-credentials-invalid',
      `The OCM credentials in ${origin} are a JSON object without "clientId"/"clientSecret" or "offlineToken" (keys found: ${keys}).`,
      FORMAT_HINT,
    );
  }
  return checkedOfflineToken(trimmed, origin);
}

function checkedOfflineToken(token: string, origin: string): OcmCredentials {
  if (/\s/.test(token)) {
    throw new SyncError(
      'ocm-credentials-invalid',
      `The OCM offline token in ${origin} contains whitespace, so it is not a token (was more than the token pasted?).`,
      FORMAT_HINT,
    );
  }
  // RFC 6750 token68 characters; a JWT uses a subset. Anything else is a paste accident.
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) {
    throw new SyncError(
      'ocm-credentials-invalid',
      `The OCM offline token in ${origin} contains characters a token cannot have (${token.length} characters; a token is letters, digits and ._~+/=-).`,
      FORMAT_HINT,
    );
  }
  return { kind: 'offline-token', offlineToken: token };
}

/** Credentials already in hand (environment variables, tests). */
export function staticCredentialProvider(credentials: OcmCredentials, origin: string): OcmCredentialProvider {
  return { origin, get: async () => credentials };
}

/** Options for reading the credentials from SSM Parameter Store. */
export interface SsmCredentialOptions {
  /** Parameter name, as in `OCM_CREDENTIALS_PARAMETER`. */
  parameterName: string;
  /** Defaults to a module-level `SSMClient` (region and credentials from the environment). */
  client?: SSMClient;
  /** How long a read value is reused across warm invocations; default 5 minutes. */
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Name of the variable that named the parameter, for messages; default `OCM_CREDENTIALS_PARAMETER`. */
  variableName?: string;
  logger?: OcmLogger;
}

let defaultSsmClient: SSMClient | undefined;

/** Reads a SecureString with decryption, cached for `maxAgeMs`; concurrent reads share one call. */
export function ssmCredentialProvider(options: SsmCredentialOptions): OcmCredentialProvider {
  const name = options.parameterName;
  const variable = options.variableName ?? 'OCM_CREDENTIALS_PARAMETER';
  const origin = `SSM parameter "${name}"`;
  const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  let cached: { value: OcmCredentials; at: number } | undefined;
  let inFlight: Promise<OcmCredentials> | undefined;

  const read = async (): Promise<OcmCredentials> => {
    const client = options.client ?? (defaultSsmClient ??= new SSMClient({}));
    let text: string | undefined;
    let type: string | undefined;
    try {
      const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      text = out.Parameter?.Value;
      type = out.Parameter?.Type;
    } catch (err) {
      throw ssmError(err, name, variable);
    }
    if (text === undefined) {
      throw new SyncError('ocm-credentials-missing', `${origin} (from ${variable}) has no value.`, FORMAT_HINT);
    }
    if (type && type !== 'SecureString') {
      logger.warn('OCM credentials parameter is not a SecureString; store it encrypted', { parameter: name, type });
    }
    const value = parseOcmCredentials(text, origin);
    cached = { value, at: now() };
    logger.debug('Read OCM credentials from SSM', { parameter: name, credentialKind: value.kind });
    return value;
  };

  return {
    origin,
    async get({ forceRefresh = false } = {}) {
      if (!forceRefresh && cached && now() - cached.at < maxAgeMs) return cached.value;
      const stale = cached;
      inFlight ??= read()
        .catch((err: unknown) => {
          // A passing SSM hiccup should not fail a sync that still holds credentials read minutes ago;
          // a deleted or malformed parameter (someone's intent) still fails at once.
          if (!forceRefresh && stale && err instanceof SyncError && err.code === 'ocm-credentials-unavailable') {
            logger.warn('Could not re-read OCM credentials from SSM; using the copy read earlier', { parameter: name, problem: err.message });
            return stale.value;
          }
          throw err;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}

function ssmError(err: unknown, name: string, variable: string): SyncError {
  const errName = err instanceof Error ? err.name : 'Error';
  const detail = err instanceof Error ? err.message : String(err);
  if (errName === 'ParameterNotFound') {
    return new SyncError(
      'ocm-credentials-missing',
      `SSM parameter "${name}" (named by ${variable}) does not exist in this account and region.`,
      `Create it as a SecureString, e.g. aws ssm put-parameter --type SecureString --name "${name}" --value file://ocm-credentials.json. ${FORMAT_HINT}`,
      { cause: err },
    );
  }
  if (errName === 'AccessDeniedException' || /KMS|AccessDenied|not authorized/i.test(errName + detail)) {
    return new SyncError(
      'ocm-credentials-unavailable',
      `Not allowed to read SSM parameter "${name}" (named by ${variable}): ${errName}: ${detail}`,
      'Grant ssm:GetParameter on the parameter and kms:Decrypt on its key to this role.',
      { cause: err },
    );
  }
  return new SyncError(
    'ocm-credentials-unavailable',
    `Could not read SSM parameter "${name}" (named by ${variable}): ${errName}: ${detail}`,
    'Check the AWS region and credentials in use, and SSM availability; the run will be retried on the next schedule.',
    { cause: err },
  );
}
