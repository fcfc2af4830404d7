/**
 * The real executable, run as an operator would: `node bin/allowlist-sync.js ...` from the repository, in a child
 * process with an environment cleaned of this machine's AWS, OCM and allowlist-sync settings (so a test sees only
 * what it sets).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');

/** What one run of the CLI gave. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const AMBIENT = /^(AWS_|OCM_|STATE_TABLE|ALERT_TOPIC_ARN|ALLOWLIST_|EXTRA_CIDRS|MIN_ENTRIES|MAX_|NO_COLOR|FORCE_COLOR|POLICY_CHECKS)/;

/** Runs the CLI with `args` and exactly `env` on top of the cleaned environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !AMBIENT.test(k)));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/allowlist-sync.js', ...args], { cwd: REPO, env: { ...base, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}
