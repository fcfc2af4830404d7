import { hostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rollback, policyStatus, targetStatus } from '../lambda/admin';
import { Alerter, lazySnsClient, recordAlertStateStore, snsPublisher } from '../lambda/alerts';
import type { StateStore, Target } from '../lambda/ports';
import { createDynamoClient, dynamoStateStore } from '../lambda/state/dynamodb-store';
import { fileStateStore, stateFileBeside } from '../lambda/state/json-store';
import { PlanOptions, PolicyShape, isApprovable } from '../lambda/allowlist';
import { addressProblem, checkAddresses, checkExitCode, checkText } from '../lambda/check';
import { Env, conditionsFromEnv, filtersFromEnv, guardsFromEnv, loadSdkSettings } from '../lambda/config';
import { Shared, planOptionsOf } from '../lambda/compose';
import { SyncError, describeError } from '../lambda/errors';
import { TargetSpec } from '../lambda/kinds/kind';
import { CliTargetOptions, parseCliTarget } from '../lambda/kinds/cli';
import { kindOf } from '../lambda/kinds/registry';
import { resultJson, resultText, rollbackJson, rollbackText, statusText } from '../lambda/report';
import { SOURCE_FORMS, parseSource } from '../lambda/sources/grammar';
import { concurrentWriterReport } from '../lambda/sync-write';
import { sync } from '../lambda/sync';

const USAGE = `Usage:
  allowlist-sync plan     --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--principal ARN...]
                          [--include CIDRS] [--exclude CIDRS] [--json]
  allowlist-sync apply    --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--approve PLAN_ID]
                          [--include CIDRS] [--exclude CIDRS] [--json]
  allowlist-sync status   --target SPEC [--json]
  allowlist-sync check    ADDRESS [ADDRESS...] --target SPEC [--principal ARN...] [--via-aws-service] [--json]
  allowlist-sync rollback --target SPEC [--to VERSION_ID] [--force] [--json]

State:    --state-table NAME (or STATE_TABLE): the deployment's DynamoDB table, shared with the function (lease,
          alert state, baseline, owed announcements, history of trust and inline policies); without one, a JSON
          file beside a file: target, or under ~/.allowlist-sync/ (ALLOWLIST_SYNC_STATE_DIR) for other targets.
          --timeout SECONDS bounds the run and its lease (default 300). ALERT_TOPIC_ARN announces what the CLI
          writes; without it the function's next run does.

Sources:  ocm (Red Hat OCM's trusted IPs; credentials from OCM_CLIENT_ID/OCM_CLIENT_SECRET, OCM_OFFLINE_TOKEN,
          or the SSM SecureString named by OCM_CREDENTIALS_PARAMETER; OCM_API_URL, OCM_TOKEN_URL)
          file:PATH (OCM list JSON, JSON array of strings, or one entry a line), static:LIST,
          ssm:PARAMETER_NAME (a String or StringList parameter)
Targets:  iam:POLICY_ARN (an IAM managed policy, with the caller's AWS credentials),
          iam-trust:ROLE --principal ARN [--principal ARN...] (a Deny of sts:AssumeRole in the role's trust policy),
          iam-inline:ROLE/POLICY_NAME (an inline deny policy on the role), file:PATH (a JSON file)
Guards and conditions come from the same environment variables as the Lambda function:
  MIN_ENTRIES, MAX_REMOVAL_FRACTION, BROADEST_IPV4_PREFIX, BROADEST_IPV6_PREFIX, EXTRA_CIDRS,
  VIA_AWS_SERVICE_EXEMPTION, KMS_VIA_SERVICE_EXEMPTION, VPC_EXEMPTION (VPC and VPC endpoint ids whose requests
  are exempt); SIZE_LIMIT overrides a target's size limit (a raised trust policy quota, say)
Subsets:  --include CIDRS keeps only the sources' addresses inside these blocks, --exclude CIDRS drops those inside
          them (or INCLUDE_CIDRS / EXCLUDE_CIDRS); the plan names what they leave out

Check:    is a request from each ADDRESS denied by the document in force? (the evaluator every plan is proved
          with; for iam-trust: targets, as each --principal assuming the role)

Exit codes: plan 0 no change, 2 changes pending, 3 refused, 1 error; apply and rollback 0 unchanged or
applied, 3 refused, 1 error; status 0, 1 error; check 0 not denied, 3 denied, 1 cannot tell or error.`;

/** Where the CLI writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

function usageError(message: string): SyncError {
  return new SyncError('usage', message, `Run "allowlist-sync --help" for usage.`);
}

/** A target and how its document is shaped and bounded. */
interface CliTarget {
  spec: TargetSpec;
  target: Target;
  planOptions: PlanOptions;
  /** For `iam:` targets: the policy ARN (status shows its versions, rollback sets its default). */
  policyArn?: string;
  /** For `file:` targets: the path (the state file sits beside it). */
  path?: string;
}

/** The target of `--target` (kinds/cli.ts), with the sources, guards and conditions of the flags and the environment. */
function cliTarget(text: string, shared: Shared, options: CliTargetOptions): CliTarget {
  const spec = parseCliTarget(text, options);
  if (typeof spec === 'string') throw usageError(spec);
  return {
    spec,
    target: kindOf(spec).target(spec, { iam: shared.iam }),
    planOptions: planOptionsOf(spec),
    ...(spec.kind === 'managed-policy' ? { policyArn: spec.policyArn } : {}),
    ...(spec.kind === 'file' ? { path: spec.path } : {}),
  };
}

/** The sources of `--source` and `--extra-cidrs` / EXTRA_CIDRS, as the grammar spells them, with their names. */
function cliSources(values: SyncArgs, env: Env): { spelling: string; name: string }[] {
  const sources = (values.source ?? []).map((spelling) => {
    const parsed = parseSource(spelling);
    if (typeof parsed === 'string') throw usageError(`Unknown source "${spelling}": expected ${SOURCE_FORMS}.`);
    return { spelling, name: spelling };
  });
  const extra = values['extra-cidrs'] ?? env.EXTRA_CIDRS;
  if (extra) sources.push({ spelling: `static:${extra}`, name: values['extra-cidrs'] !== undefined ? 'static:--extra-cidrs' : 'static:EXTRA_CIDRS' });
  return sources;
}

const EXIT_CODES = { plan: { unchanged: 0, changes: 2, refused: 3, paused: 0 }, apply: { unchanged: 0, updated: 0, refused: 3, paused: 0 } } as const;

/** Where the CLI keeps a target's record: the deployment's table when named, else a local JSON file. */
export function stateStoreFor(cli: CliTarget, env: Env, table: string | undefined, warn: (text: string) => void): StateStore {
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
function cliAnnouncer(env: Env, cli: CliTarget, state: StateStore, sources: readonly string[]): Alerter | undefined {
  const topic = env.ALERT_TOPIC_ARN?.trim();
  if (!topic) return undefined;
  return new Alerter({
    context: { allowlist: env.ALLOWLIST_NAME?.trim() || cli.target.name, policyArn: cli.policyArn ?? cli.target.name, cliTarget: cli.target.name, cliSources: sources },
    publisher: snsPublisher(lazySnsClient(), topic),
    store: recordAlertStateStore(state, cli.target.key),
  });
}

/** The options `plan` and `apply` read. */
interface SyncArgs {
  source?: string[];
  'extra-cidrs'?: string;
  approve?: string;
}

/** What every writing command shares: the state store, who writes, the deadline. */
interface RunContext {
  state: StateStore;
  writer: string;
  deadline: number;
}

async function planOrApply(
  { command, values, env, io, shared, run }: { command: 'plan' | 'apply'; values: SyncArgs; env: Env; io: Io & { json?: boolean }; shared: Shared; run: RunContext },
  cli: CliTarget,
): Promise<number> {
  const { target, planOptions } = cli;
  const specs = cliSources(values, env);
  if (specs.length === 0) throw usageError('At least one --source (or --extra-cidrs) is required.');
  const sources = specs.map((s) => shared.source(s.spelling, s.name));
  const announcer = cliAnnouncer(env, cli, run.state, values.source ?? []);
  const result = await sync({
    sources,
    target,
    plan: planOptions,
    dryRun: command === 'plan',
    approve: values.approve,
    state: run.state,
    writer: run.writer,
    deadline: run.deadline,
    ...(announcer ? { announcer } : {}),
    ...shared.policyChecksFor(cli.spec),
  });
  if (io.json) {
    io.out(JSON.stringify(resultJson(result), null, 2));
  } else {
    io.out(resultText(result));
    if (result.status === 'refused' && isApprovable(result.plan)) {
      io.out(`To apply this exact plan anyway, after review: allowlist-sync apply ... --approve ${result.plan.planId}`);
    }
  }
  if (result.otherWriters?.length) {
    io.err(`allowlist-sync: ${concurrentWriterReport(target.name, result).message}`);
    return 1;
  }
  const codes: Record<string, number> = EXIT_CODES[command];
  return codes[result.status] ?? 1;
}

/** `check`: each address against the document in force; reads only (no state, no lease). */
async function check(addresses: readonly string[], cli: CliTarget, shape: PolicyShape, options: { viaAwsService: boolean; io: Io & { json?: boolean } }): Promise<number> {
  if (addresses.length === 0) throw usageError('check needs at least one ADDRESS.');
  for (const address of addresses) {
    const problem = addressProblem(address);
    if (problem) throw usageError(`${problem}.`);
  }
  const current = await cli.target.read();
  const results = checkAddresses(current.document, addresses, shape, { viaAwsService: options.viaAwsService });
  options.io.out(options.io.json ? JSON.stringify({ target: cli.target.name, versionId: current.versionId ?? null, results }, null, 2) : checkText(results));
  return checkExitCode(results);
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], env: Env, io: Io): Promise<number> {
  // Known before parsing, so even a usage error is reported as JSON to a script that asked for it.
  const json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        source: { type: 'string', multiple: true },
        target: { type: 'string' },
        'extra-cidrs': { type: 'string' },
        approve: { type: 'string' },
        to: { type: 'string' },
        principal: { type: 'string', multiple: true },
        include: { type: 'string' },
        exclude: { type: 'string' },
        'state-table': { type: 'string' },
        timeout: { type: 'string' },
        force: { type: 'boolean', default: false },
        'via-aws-service': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const command = positionals[0];
    if (values.help || command === undefined) {
      io.out(USAGE);
      return values.help ? 0 : 1;
    }
    if (positionals.length > 1 && command !== 'check') throw usageError(`Unexpected argument "${positionals[1]}".`);
    if (!values.target) throw usageError('--target is required.');
    if (!['plan', 'apply', 'status', 'rollback', 'check'].includes(command)) throw usageError(`Unknown command "${command}".`);
    const timeout = values.timeout === undefined ? 300 : Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout < 15 || timeout > 3600) throw usageError(`--timeout must be a whole number of seconds from 15 to 3600, got ${JSON.stringify(values.timeout)}.`);
    const shared = new Shared({ env, clients: {}, tuning: {}, sdk: loadSdkSettings(env), checkLog: { info: (m) => io.err(`allowlist-sync: ${m}`), warn: (m) => io.err(`allowlist-sync: ${m}`) } });
    const sources = command === 'plan' || command === 'apply' ? cliSources(values, env).map((s) => s.spelling) : [];
    const filters = filtersFromEnv({ ...env, ...(values.include !== undefined ? { INCLUDE_CIDRS: values.include } : {}), ...(values.exclude !== undefined ? { EXCLUDE_CIDRS: values.exclude } : {}) });
    const cli = cliTarget(values.target, shared, { principals: values.principal ?? [], sources, guards: guardsFromEnv(env), conditions: conditionsFromEnv(env), filters });
    const shape = kindOf(cli.spec).shape(cli.spec);
    if (command === 'check') return await check(positionals.slice(1), cli, shape, { viaAwsService: values['via-aws-service'], io: { ...io, json } });
    const run: RunContext = { state: stateStoreFor(cli, env, values['state-table'], io.err), writer: cliWriter(), deadline: Date.now() + timeout * 1000 };
    const iamClient = shared.iam;
    switch (command) {
      case 'plan':
      case 'apply':
        return await planOrApply({ command, values, env, io: { ...io, json }, shared, run }, cli);
      case 'status': {
        const status = cli.policyArn ? await policyStatus(iamClient(), cli.policyArn, shape, run.state) : await targetStatus(cli.target, shape, run.state);
        io.out(json ? JSON.stringify(status, null, 2) : statusText(status));
        return 0;
      }
      case 'rollback': {
        const announcer = cliAnnouncer(env, cli, run.state, []);
        const result = await rollback({
          target: cli.target,
          state: run.state,
          ...(cli.policyArn ? { iam: iamClient(), policyArn: cli.policyArn } : {}),
          ...(values.to !== undefined ? { to: values.to } : {}),
          force: values.force,
          plan: cli.planOptions,
          writer: run.writer,
          deadline: run.deadline,
          ...(announcer ? { announcer } : {}),
        });
        io.out(json ? JSON.stringify(rollbackJson(result), null, 2) : rollbackText(result));
        return result.status === 'refused' ? 3 : result.status === 'busy' ? 1 : 0;
      }
      default:
        throw usageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    const message = describeError(err);
    if (json) io.out(JSON.stringify({ status: 'error', error: message, code: err instanceof SyncError ? err.code : 'error' }));
    io.err(`allowlist-sync: ${message}`);
    return 1;
  }
}

/** Entry point for the executable: real argv, environment and console. */
export function run(): void {
  main(process.argv.slice(2), process.env, { out: (t) => console.log(t), err: (t) => console.error(t) }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`allowlist-sync: ${describeError(err)}`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) run();
