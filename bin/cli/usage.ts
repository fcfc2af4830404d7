import { SyncError } from '../../lambda/errors';

/** A mistake in how the CLI was called: exit 1, with where to read the usage. */
export function usageError(message: string, command?: string): SyncError {
  return new SyncError('usage', message, `Run "allowlist-sync ${command ? `${command} --help` : '--help'}" for usage.`);
}
