import { hostname, homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { rollback, policyStatus, targetStatus } from '../lambda/admin';
import { Alerter, recordAlertStateStore, snsPublisher } from '../lambda/alerts';
import type { StateStore } from '../lambda/ports';
import { createDynamoClient, dynamoStateStore } from '../lambda/state/dynamodb-store';
import { fileStateStore, stateFileBeside } from '../lambda/state/json-store';
import { PlanOptions, isApprovable, managedPolicyShape } from '../lambda/allowlist';
import { Env, conditionsFromEnv, guardsFromEnv } from '../lambda/config';
import { SyncError, describeError } from '../lambda/errors';
import { resultJson, resultText, rollbackJson, rollbackText, statusText } from '../lambda/report';
import { fileSource } from '../lambda/sources/file';
import { createOcmSource, ocmOptionsFromEnv } from '../lambda/sources/ocm';
import { Source } from '../lambda/sources/source';
import { staticSource } from '../lambda/sources/static';
import { TRUST_POLICY_SIZE_LIMIT, trustPolicyShape } from '../lambda/allowlist/trust-policy';
import { ssmListSource } from '../lambda/sources/ssm-list';
import { fileTarget } from '../lambda/targets/file';
import { ROLE_INLINE_POLICIES_SIZE_LIMIT, inlinePolicyTarget } from '../lambda/targets/inline-policy';
import { trustPolicyTarget } from '../lambda/targets/trust-policy';
import { createIamClient, managedPolicyTarget } from '../lambda/targets/managed-policy';
import { Target } from '../lambda/targets/target';
import { concurrentWriterReport } from '../lambda/sync-write';
import { sync } from '../lambda/sync';

const USAGE = `Usage:
  allowlist-sync plan     --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--principal ARN...] [--json]
  allowlist-sync apply    --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--approve PLAN_ID] [--json]
  allowlist-sync status   --target SPEC [--json]
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
  VIA_AWS_SERVICE_EXEMPTION, KMS_VIA_SERVICE_EXEMPTION; SIZE_LIMIT overrides a target's size limit (a raised
  trust policy quota, say)

Exit codes: plan 0 no change, 2 changes pending, 3 refused, 1 error; apply and rollback 0 unchanged or
applied, 3 refused, 1 error; status 0, 1 error.`;

/** Where the CLI writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

function usageError(message: string): SyncError {
  return new SyncError('usage', message, `Run "allowlist-sync --help" for usage.`);
}

function splitSpec(spec: string): [string, string] {
  const colon = spec.indexOf(':');
  return colon === -1 ? [spec, ''] : [spec.slice(0, colon), spec.slice(colon + 1)];
}

/** Builds a source from `kind:argument`; `ocm` reads its credentials as the Lambda does, or from OCM_* variables. */
export function sourceFromSpec(spec: string, env: Env, ssm: () => SSMClient = () => new SSMClient({})): Source {
  const [kind, arg] = splitSpec(spec);
  if (kind === 'ssm' && arg) return ssmListSource(ssm(), arg);
  if (kind === 'file' && arg) return fileSource(arg);
  if (kind === 'static' && arg) return staticSource(arg, spec);
  if (kind === 'ocm' && !arg) return createOcmSource(ocmOptionsFromEnv(env));
  throw usageError(`Unknown source "${spec}": expected ocm, file:PATH, static:LIST or ssm:PARAMETER_NAME.`);
}

/** A target and how its document is shaped and bounded. */
interface CliTarget {
  target: Target;
  planOptions: PlanOptions;
  /** For `iam:` targets: the policy ARN (status shows its versions, rollback sets its default). */
  policyArn?: string;
  /** For `file:` targets: the path (the state file sits beside it). */
  path?: string;
}

/**
 * Builds a target from `kind:argument`: `iam:POLICY_ARN`, `iam-trust:ROLE` (needs --principal),
 * `iam-inline:ROLE/POLICY_NAME` or `file:PATH`, with the guards and conditions from the environment.
 */
export function targetFromSpec(spec: string, iam: () => IAMClient, env: Env, principals: readonly string[] = []): CliTarget {
  const [kind, arg] = splitSpec(spec);
  const guards = guardsFromEnv(env);
  const conditions = conditionsFromEnv(env);
  const managed = { guards, shape: managedPolicyShape(conditions) };
  if (kind === 'file' && arg) return { target: fileTarget(arg), planOptions: managed, path: arg };
  if (kind === 'iam' && arg) return { target: managedPolicyTarget(iam(), arg), planOptions: managed, policyArn: arg };
  if (kind === 'iam-trust' && arg) {
    if (principals.length === 0) throw usageError('A trust policy target needs --principal ARN (repeatable): the principals the deny applies to.');
    const sizeLimit = guards.sizeLimit ?? TRUST_POLICY_SIZE_LIMIT;
    return { target: trustPolicyTarget(iam(), arg, { sizeLimit }), planOptions: { guards: { ...guards, sizeLimit }, shape: trustPolicyShape(principals, conditions) } };
  }
  if (kind === 'iam-inline' && arg.includes('/')) {
    const [role, policyName] = [arg.slice(0, arg.indexOf('/')), arg.slice(arg.indexOf('/') + 1)];
    const sizeLimit = guards.sizeLimit ?? ROLE_INLINE_POLICIES_SIZE_LIMIT;
    return { target: inlinePolicyTarget(iam(), role, policyName), planOptions: { ...managed, guards: { ...guards, sizeLimit } } };
  }
  throw usageError(`Unknown target "${spec}": expected iam:POLICY_ARN, iam-trust:ROLE, iam-inline:ROLE/POLICY_NAME or file:PATH.`);
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
    publisher: snsPublisher(new SNSClient({}), topic),
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
  { command, values, env, io, ssm, run }: { command: 'plan' | 'apply'; values: SyncArgs; env: Env; io: Io & { json?: boolean }; ssm: () => SSMClient; run: RunContext },
  cli: CliTarget,
): Promise<number> {
  const { target, planOptions } = cli;
  const sources = (values.source ?? []).map((spec) => sourceFromSpec(spec, env, ssm));
  const extra = values['extra-cidrs'] ?? env.EXTRA_CIDRS;
  if (extra) sources.push(staticSource(extra, values['extra-cidrs'] !== undefined ? 'static:--extra-cidrs' : 'static:EXTRA_CIDRS'));
  if (sources.length === 0) throw usageError('At least one --source (or --extra-cidrs) is required.');
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
        'state-table': { type: 'string' },
        timeout: { type: 'string' },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const command = positionals[0];
    if (values.help || command === undefined) {
      io.out(USAGE);
      return values.help ? 0 : 1;
    }
    if (positionals.length > 1) throw usageError(`Unexpected argument "${positionals[1]}".`);
    if (!values.target) throw usageError('--target is required.');
    if (!['plan', 'apply', 'status', 'rollback'].includes(command)) throw usageError(`Unknown command "${command}".`);
    let ssm: SSMClient | undefined;
    const ssmClient = (): SSMClient => (ssm ??= new SSMClient({}));
    let iam: IAMClient | undefined;
    const iamClient = (): IAMClient => (iam ??= createIamClient());
    const timeout = values.timeout === undefined ? 300 : Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout < 15 || timeout > 3600) throw usageError(`--timeout must be a whole number of seconds from 15 to 3600, got ${JSON.stringify(values.timeout)}.`);
    const cli = targetFromSpec(values.target, iamClient, env, values.principal);
    const run: RunContext = { state: stateStoreFor(cli, env, values['state-table'], io.err), writer: cliWriter(), deadline: Date.now() + timeout * 1000 };
    const shape = cli.planOptions.shape ?? managedPolicyShape(conditionsFromEnv(env));
    switch (command) {
      case 'plan':
      case 'apply':
        return await planOrApply({ command, values, env, io: { ...io, json }, ssm: ssmClient, run }, cli);
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
