import { parseArgs } from 'node:util';
import { IAMClient } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import { rollback, policyStatus } from '../lambda/admin';
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
import { sync } from '../lambda/sync';

const USAGE = `Usage:
  allowlist-sync plan     --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--principal ARN...] [--json]
  allowlist-sync apply    --source SPEC [--source SPEC...] [--extra-cidrs LIST] --target SPEC [--approve PLAN_ID] [--json]
  allowlist-sync status   --target iam:POLICY_ARN [--json]
  allowlist-sync rollback --target iam:POLICY_ARN [--to VERSION_ID] [--force] [--json]

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

/** The policy ARN of an `iam:ARN` target spec. */
function iamArnFromSpec(spec: string): string {
  const [kind, arg] = splitSpec(spec);
  if (kind !== 'iam' || !arg) throw usageError(`This command needs --target iam:POLICY_ARN, got "${spec}".`);
  return arg;
}

/** A target and how its document is shaped and bounded. */
interface CliTarget {
  target: Target;
  planOptions: PlanOptions;
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
  if (kind === 'file' && arg) return { target: fileTarget(arg), planOptions: managed };
  if (kind === 'iam' && arg) return { target: managedPolicyTarget(iam(), arg), planOptions: managed };
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

const EXIT_CODES = { plan: { unchanged: 0, changes: 2, refused: 3 }, apply: { unchanged: 0, updated: 0, refused: 3 } } as const;

/** The options `plan` and `apply` read. */
interface SyncArgs {
  source?: string[];
  'extra-cidrs'?: string;
  approve?: string;
}

async function planOrApply(
  { command, values, env, io, ssm }: { command: 'plan' | 'apply'; values: SyncArgs; env: Env; io: Io & { json?: boolean }; ssm: () => SSMClient },
  { target, planOptions }: CliTarget,
): Promise<number> {
  const sources = (values.source ?? []).map((spec) => sourceFromSpec(spec, env, ssm));
  const extra = values['extra-cidrs'] ?? env.EXTRA_CIDRS;
  if (extra) sources.push(staticSource(extra, values['extra-cidrs'] !== undefined ? 'static:--extra-cidrs' : 'static:EXTRA_CIDRS'));
  if (sources.length === 0) throw usageError('At least one --source (or --extra-cidrs) is required.');
  const result = await sync({ sources, target, plan: planOptions, dryRun: command === 'plan', approve: values.approve });
  if (io.json) {
    io.out(JSON.stringify(resultJson(result), null, 2));
  } else {
    io.out(resultText(result));
    if (result.status === 'refused' && isApprovable(result.plan)) {
      io.out(`To apply this exact plan anyway, after review: allowlist-sync apply ... --approve ${result.plan.planId}`);
    }
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
    const shape = managedPolicyShape(conditionsFromEnv(env));
    const planOptions = { guards: guardsFromEnv(env), shape };
    let ssm: SSMClient | undefined;
    const ssmClient = (): SSMClient => (ssm ??= new SSMClient({}));
    let iam: IAMClient | undefined;
    const iamClient = (): IAMClient => (iam ??= createIamClient());
    switch (command) {
      case 'plan':
      case 'apply':
        return await planOrApply({ command, values, env, io: { ...io, json }, ssm: ssmClient }, targetFromSpec(values.target, iamClient, env, values.principal));
      case 'status': {
        const status = await policyStatus(iamClient(), iamArnFromSpec(values.target), shape);
        io.out(json ? JSON.stringify(status, null, 2) : statusText(status));
        return 0;
      }
      case 'rollback': {
        const result = await rollback(iamClient(), iamArnFromSpec(values.target), { to: values.to, force: values.force, plan: planOptions });
        io.out(json ? JSON.stringify(rollbackJson(result), null, 2) : rollbackText(result));
        return result.status === 'refused' ? 3 : 0;
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
