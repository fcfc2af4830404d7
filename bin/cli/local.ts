import { hostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Alerter, lazySnsClient, recordAlertStateStore, snsPublisher } from '../../lambda/alerts';
import type { StateStore, Target } from '../../lambda/ports';
import { createDynamoClient, dynamoStateStore } from '../../lambda/state/dynamodb-store';
import { fileStateStore, stateFileBeside } from '../../lambda/state/json-store';
import { PlanOptions, PolicyShape } from '../../lambda/allowlist';
import { Env, conditionsFromEnv, filtersFromEnv, guardsFromEnv, loadSdkSettings } from '../../lambda/config';
import { Shared, planOptionsOf } from '../../lambda/compose';
import { TargetSpec } from '../../lambda/kinds/kind';
import { parseCliTarget } from '../../lambda/kinds/cli';
import { kindOf } from '../../lambda/kinds/registry';
import { SOURCE_FORMS, parseSource } from '../../lambda/sources/grammar';
import { usageError } from './usage';

// The CLI's own wiring of a target: the kinds' spelling of `--target`, the sources' grammar, guards and
// conditions from the same environment variables as the function, and where the record lives.

/** A target and how its document is shaped and bounded. */
export interface CliTarget {
  spec: TargetSpec;
  target: Target;
  shape: PolicyShape;
  planOptions: PlanOptions;
  /** For `iam:` targets: the policy ARN (status shows its versions, rollback sets its default). */
  policyArn?: string;
  /** For `file:` targets: the path (the state file sits beside it). */
  path?: string;
}

/** What names a target and its sources on the command line (and in a saved plan). */
export interface TargetArgs {
  target: string;
  principals: readonly string[];
  /** Source spellings (`--source`), and `--extra-cidrs` when given. */
  sources: readonly string[];
  extraCidrs?: string;
  include?: string;
  exclude?: string;
}

/** One source as the grammar spells it, and the name messages give it. */
export interface CliSource {
  spelling: string;
  name: string;
}

/** The sources of `--source` and `--extra-cidrs` / EXTRA_CIDRS, as the grammar spells them, with their names. */
export function cliSources(args: Pick<TargetArgs, 'sources' | 'extraCidrs'>, env: Env, command: string): CliSource[] {
  const sources = args.sources.map((spelling) => {
    const parsed = parseSource(spelling);
    if (typeof parsed === 'string') throw usageError(`Unknown source "${spelling}": expected ${SOURCE_FORMS}.`, command);
    return { spelling, name: spelling };
  });
  const extra = args.extraCidrs ?? env.EXTRA_CIDRS;
  if (extra) sources.push({ spelling: `static:${extra}`, name: args.extraCidrs !== undefined ? 'static:--extra-cidrs' : 'static:EXTRA_CIDRS' });
  return sources;
}

/** The target of `--target` (kinds/cli.ts), with the sources, guards, conditions and filters of the flags and the environment. */
export function cliTarget(args: TargetArgs, sources: readonly CliSource[], shared: Shared, env: Env, command: string): CliTarget {
  const filters = filtersFromEnv({
    ...env,
    ...(args.include !== undefined ? { INCLUDE_CIDRS: args.include } : {}),
    ...(args.exclude !== undefined ? { EXCLUDE_CIDRS: args.exclude } : {}),
  });
  const spec = parseCliTarget(args.target, {
    principals: args.principals,
    sources: sources.map((s) => s.spelling),
    guards: guardsFromEnv(env),
    conditions: conditionsFromEnv(env),
    filters,
  });
  if (typeof spec === 'string') throw usageError(spec, command);
  return {
    spec,
    target: kindOf(spec).target(spec, { iam: shared.iam }),
    shape: kindOf(spec).shape(spec),
    planOptions: planOptionsOf(spec),
    ...(spec.kind === 'managed-policy' ? { policyArn: spec.policyArn } : {}),
    ...(spec.kind === 'file' ? { path: spec.path } : {}),
  };
}

/** The clients and sources of one CLI run, from the environment (AWS_PROFILE / AWS_REGION included). */
export function cliShared(env: Env, warn: (text: string) => void): Shared {
  // The policy checks' one line (a check the endpoint lacks, skipped) goes to stderr with the CLI's other notes.
  const checkLog = { info: (m: string) => warn(`allowlist-sync: ${m}`), warn: (m: string) => warn(`allowlist-sync: ${m}`) };
  return new Shared({ env, clients: {}, tuning: {}, sdk: loadSdkSettings(env), checkLog });
}

/** Where the CLI keeps a target's record: the deployment's table when named, else a local JSON file. */
export function stateStoreFor(cli: Pick<CliTarget, 'path' | 'target'>, env: Env, table: string | undefined, warn: (text: string) => void): StateStore {
  const name = table ?? (env.STATE_TABLE?.trim() || undefined);
  if (name) return dynamoStateStore(createDynamoClient(), name);
  if (cli.path) return fileStateStore(stateFileBeside(cli.path));
  const dir = env.ALLOWLIST_SYNC_STATE_DIR?.trim() || join(homedir(), '.allowlist-sync');
  const file = join(dir, `${cli.target.key.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
  warn(`allowlist-sync: no state table (--state-table or STATE_TABLE): using local state in ${file}; the deployed function's lease, baseline and alert state are not consulted.`);
  return fileStateStore(file);
}

/** Who writes, as the lease and announcements name it: one process (two terminals of one person are two writers). */
export function cliWriter(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container): the host still says where.
  }
  return `cli:${user}@${hostname()} pid ${process.pid}`;
}

/** The announcer of what the CLI writes: only with ALERT_TOPIC_ARN (else the function's next run announces it). */
export function cliAnnouncer(env: Env, cli: CliTarget, state: StateStore, sources: readonly string[]): Alerter | undefined {
  const topic = env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return undefined;
  return new Alerter({
    context: { allowlist: env.ALLOWLIST_NAME?.trim() || cli.target.name, policyArn: cli.policyArn ?? cli.target.name, cliTarget: cli.target.name, cliSources: sources },
    publisher: snsPublisher(lazySnsClient(), topic),
    store: recordAlertStateStore(state, cli.target.key),
  });
}
