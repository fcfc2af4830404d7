import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SyncError, describeError } from '../errors';
import { Source } from '../ports';

/**
 * The entries of a list as people keep it in a parameter: separated by commas, spaces or newlines, with
 * `#` starting a comment that runs to the end of its line. Covers String and StringList values alike.
 */
export function parseParameterList(value: string): string[] {
  return value
    .split(/\r?\n|\r/)
    .map((line) => line.replace(/#.*$/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((v) => v !== '');
}

function errorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'Error';
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'Error';
}

function ssmFailure(err: unknown, parameterName: string): SyncError {
  const name = errorName(err);
  const detail = describeError(err);
  if (name === 'ParameterNotFound') {
    return new SyncError(
      'ssm-parameter-not-found',
      `SSM parameter "${parameterName}" (an allowlist source) does not exist in this account and region.`,
      `Create it with the list, e.g. aws ssm put-parameter --type StringList --name "${parameterName}" --value "192.0.2.0/24,198.51.100.7", or fix the "ssm:" source in ALLOWLIST_TARGETS.`,
      { cause: err },
    );
  }
  if (/AccessDenied|KMS|not authorized/i.test(`${name} ${detail}`)) {
    return new SyncError(
      'ssm-access-denied',
      `Not allowed to read SSM parameter "${parameterName}" (an allowlist source): ${name}: ${detail}`,
      'Grant ssm:GetParameter on the parameter to the role running allowlist-sync (and kms:Decrypt on its key if it is a SecureString).',
      { cause: err },
    );
  }
  return new SyncError(
    'ssm-error',
    `Could not read SSM parameter "${parameterName}" (an allowlist source): ${name}: ${detail}`,
    'Check the AWS region and credentials in use; the next run tries again.',
    { cause: err },
  );
}

/**
 * An allowlist kept in an SSM parameter (String or StringList; a SecureString works too), read afresh on
 * every fetch: it is one call, and a cached list would outlive an edit.
 */
export function ssmListSource(ssm: SSMClient, parameterName: string): Source {
  const name = `ssm:${parameterName}`;
  return {
    name,
    async fetch() {
      let value: string | undefined;
      try {
        // WithDecryption is ignored for String and StringList, and makes a SecureString readable.
        value = (await ssm.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }))).Parameter?.Value;
      } catch (err) {
        throw ssmFailure(err, parameterName);
      }
      if (value === undefined) throw new SyncError('ssm-error', `SSM returned no value for parameter "${parameterName}" (an allowlist source).`, 'The next run tries again.');
      return { source: name, entries: parseParameterList(value).map((entry) => ({ value: entry, source: name })), skipped: 0 };
    },
  };
}
