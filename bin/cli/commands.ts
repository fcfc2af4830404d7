import { policyStatus, rollback, targetStatus } from '../../lambda/admin';
import { isApprovable } from '../../lambda/allowlist';
import { addressProblem, checkAddresses, checkExitCode, checkText } from '../../lambda/check';
import type { Env } from '../../lambda/config';
import { resultJson, resultText, rollbackJson, rollbackText, statusText } from '../../lambda/report';
import { pause, resume } from '../../lambda/break-glass';
import { SyncError, describeError } from '../../lambda/errors';
import { concurrentWriterReport } from '../../lambda/sync-write';
import { sync } from '../../lambda/sync';
import { CliTarget, TargetArgs, cliAnnouncer, cliShared, cliSources, cliTarget, cliWriter, stateStoreFor } from './local';
import { RemoteClients, invokeRemote } from './remote';
import { actionExitCode, pauseText, resumeText } from './admin-report';
import { remoteExitCode, remoteText } from './remote-report';
import { PlanOrigin, SavedPlan, readSavedPlan, savedPlanOf, writeSavedPlan } from './saved-plan';
import { colourise, useColour } from './style';
import { usageError } from './usage';

/** Where the CLI writes; injectable for tests. `isTTY` says whether stdout is a terminal (colour). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY?: boolean;
}

/** Every option any command takes, as commander names them (`--extra-cidrs` is `extraCidrs`). */
export interface Opts {
  json?: boolean;
  color?: boolean;
  profile?: string;
  region?: string;
  target?: string;
  principal?: string[];
  function?: string;
  source?: string[];
  extraCidrs?: string;
  include?: string;
  exclude?: string;
  stateTable?: string;
  timeout?: string;
  out?: string;
  approve?: string;
  viaAwsService?: boolean;
  to?: string;
  force?: boolean;
  reason?: string;
}

const PLAN_CODES: Record<string, number> = { unchanged: 0, changes: 2, refused: 3, paused: 0 };
// A paused target writes nothing: for `apply` that is not success (a script must not take it as applied).
const APPLY_CODES: Record<string, number> = { unchanged: 0, updated: 0, refused: 3, paused: 3 };

/** Options that only mean something on this workstation: an error with `--function` (the function has its own). */
const LOCAL_ONLY: [keyof Opts, string][] = [
  ['source', '--source'],
  ['extraCidrs', '--extra-cidrs'],
  ['include', '--include'],
  ['exclude', '--exclude'],
  ['principal', '--principal'],
  ['stateTable', '--state-table'],
  ['timeout', '--timeout'],
];

/**
 * What is wrong with the function's answer to `command`, if anything: a sync answers with a status and a plan id
 * (or a list of targets), an action with its own name and a status. An endpoint echoing the event, or an older function, must
 * never read as success.
 */
function answerProblem(command: string, result: unknown): string | undefined {
  const r = result as { status?: unknown; planId?: unknown; targets?: unknown; action?: unknown } | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return `got ${JSON.stringify(result)?.slice(0, 80)}`;
  if (command === 'plan' || command === 'apply') {
    return typeof r.status === 'string' && (typeof r.planId === 'string' || Array.isArray(r.targets)) ? undefined : 'no status and plan id';
  }
  if (r.action !== command) return `its action is ${JSON.stringify(r.action)}`;
  return typeof r.status === 'string' ? undefined : 'no status';
}

/** The CLI's commands, local or through the deployed function. */
export class Commands {
  constructor(private readonly deps: { env: Env; io: Io; remote: RemoteClients }) {}

  private get env(): Env {
    return this.deps.env;
  }

  /** Prints a report: JSON as it is, text coloured for a terminal. */
  private print(opts: Opts, value: unknown, text: () => string): void {
    const { io } = this.deps;
    if (opts.json) io.out(JSON.stringify(value, null, 2));
    else io.out(colourise(text(), useColour({ isTTY: io.isTTY === true, flag: opts.color !== false, env: this.env })));
  }

  /** `--profile` / `--region` are the SDK's AWS_PROFILE / AWS_REGION, for every client this process builds. */
  private applyAwsSettings(opts: Opts): void {
    if (opts.profile !== undefined) process.env.AWS_PROFILE = opts.profile;
    if (opts.region !== undefined) {
      process.env.AWS_REGION = opts.region;
      this.deps.env = { ...this.env, AWS_REGION: opts.region };
    }
  }

  private deadline(opts: Opts): number {
    const timeout = opts.timeout === undefined ? 300 : Number(opts.timeout);
    if (!Number.isInteger(timeout) || timeout < 15 || timeout > 3600) throw usageError(`--timeout must be a whole number of seconds from 15 to 3600, got ${JSON.stringify(opts.timeout)}.`);
    return Date.now() + timeout * 1000;
  }

  private targetArgs(opts: Opts, command: string): TargetArgs {
    if (!opts.target) throw usageError('--target is required (or --function NAME, to run in the deployed function).', command);
    return { target: opts.target, principals: opts.principal ?? [], sources: opts.source ?? [], extraCidrs: opts.extraCidrs, include: opts.include, exclude: opts.exclude };
  }

  /** `--function`: the event for the deployed function, or an error naming a flag that has no meaning there. */
  /** `before` runs on the answer before it is printed (saving it): a failure there is the one object --json prints. */
  private async remote(opts: Opts, command: string, event: Record<string, unknown>, codes?: Record<string, number>, before?: (result: unknown) => Promise<void>): Promise<{ code: number; result: unknown }> {
    for (const [key, flag] of LOCAL_ONLY) {
      if (opts[key] !== undefined) throw usageError(`${flag} does not apply with --function: the function uses its own settings, sources and state.`, command);
    }
    const answer = await invokeRemote(opts.function as string, { ...event, ...(opts.target ? { target: opts.target } : {}) }, this.deps.remote);
    const problem = answerProblem(command, answer.result);
    if (problem) throw new SyncError('remote', `The function ${answer.functionName} did not answer with a ${command} result (${problem}): nothing is known to have happened; read its logs.`);
    await before?.(answer.result);
    this.print(opts, answer.result, () => remoteText(command, answer.functionName, answer.result));
    return { code: remoteExitCode(answer.result, codes), result: answer.result };
  }

  async plan(opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    if (opts.function) {
      const out = opts.out;
      return (await this.remote(opts, 'plan', { dryRun: true }, PLAN_CODES, out ? (result) => this.saveRemote(opts, result) : undefined)).code;
    }
    return this.planOrApply('plan', this.targetArgs(opts, 'plan'), opts);
  }

  async apply(file: string | undefined, opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    if (file !== undefined) return this.applySaved(file, opts);
    if (opts.function) return (await this.remote(opts, 'apply', opts.approve ? { approve: opts.approve } : {}, APPLY_CODES)).code;
    return this.planOrApply('apply', this.targetArgs(opts, 'apply'), opts);
  }

  /** `apply FILE`: exactly the saved plan, or nothing (the target or sources no longer give that plan id). */
  private async applySaved(file: string, opts: Opts): Promise<number> {
    const given = [['--target', opts.target], ['--source', opts.source], ['--function', opts.function], ['--extra-cidrs', opts.extraCidrs], ['--include', opts.include], ['--exclude', opts.exclude], ['--principal', opts.principal]].filter(([, v]) => v !== undefined);
    if (given.length > 0) throw usageError(`apply FILE takes its target and sources from the saved plan; ${given.map(([f]) => f).join(', ')} cannot be given with it.`, 'apply');
    const saved = await readSavedPlan(file);
    if (saved.status === 'unchanged') {
      this.deps.io.err(`allowlist-sync: the saved plan ${saved.planId} changes nothing; applying it checks that the target still holds that.`);
    }
    if (opts.approve !== undefined && opts.approve !== saved.planId) throw usageError(`--approve ${opts.approve} is not the saved plan's id (${saved.planId}).`, 'apply');
    if (saved.status === 'refused' && opts.approve !== saved.planId) {
      throw usageError(`The saved plan ${saved.planId} was refused (${saved.reasons.join('; ') || 'see the plan'}); ${saved.approvable ? `after review, apply it with --approve ${saved.planId}` : 'it cannot be approved'}.`, 'apply');
    }
    const origin = saved.origin;
    if (origin.mode === 'function') {
      const event = { expectPlanId: saved.planId, ...(opts.approve ? { approve: opts.approve } : {}), ...(origin.target ? { target: origin.target } : {}) };
      return (await this.remote({ ...opts, function: origin.function, target: undefined }, 'apply', event, APPLY_CODES)).code;
    }
    const args: TargetArgs = { target: origin.target, principals: origin.principals, sources: origin.sources, extraCidrs: origin.extraCidrs, include: origin.include, exclude: origin.exclude };
    return this.planOrApply('apply', args, opts, saved);
  }

  /**
   * The file's target and document must be what its origin gives now, when its id matches: an edited file (another
   * target, other sources with their plan's id) is refused, so what was reviewed is what is written.
   */
  private checkSavedPlan(saved: SavedPlan, result: { target: string; plan: { planId: string; document: string; addedEntries: string[]; removedEntries: string[]; entries: string[] } }): void {
    if (result.plan.planId !== saved.planId) return; // stale: the apply itself refuses it (saved-plan-stale), writing nothing
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
    const edited = [
      ...(result.target !== saved.targetName ? [`its target (${result.target}, the file says ${saved.targetName})`] : []),
      // A local plan always carries its document (what the reviewer read); a file without it was edited.
      ...(saved.document === undefined || result.plan.document !== saved.document ? ['its document'] : []),
      ...(!same(result.plan.addedEntries, saved.added) || !same(result.plan.removedEntries, saved.removed) || !same(result.plan.entries, saved.entries) ? ['its entries'] : []),
    ];
    if (edited.length > 0) throw usageError(`The plan file was edited: ${edited.join(' and ')} ${edited.length > 1 ? 'are' : 'is'} not what its target and sources give; nothing was written. Plan again and review.`, 'apply');
  }

  private async saveRemote(opts: Opts, answer: unknown): Promise<void> {
    // A function with several targets answers with a list; --target names one, so the list holds exactly it.
    const listed = (answer as { targets?: unknown[] } | null)?.targets;
    const result = Array.isArray(listed) && listed.length === 1 ? listed[0] : answer;
    const r = result as { status?: string; planId?: string; targets?: unknown[]; policyArn?: string; previousVersionId?: string; versionId?: string; added?: string[]; removed?: string[]; entries?: string[]; reasons?: string[]; approvable?: boolean; target?: string; document?: string; sources?: { source: string }[] };
    if (r.targets !== undefined || typeof r.planId !== 'string') throw usageError('--out saves the plan of one target: name it with --target.', 'plan');
    const saved: SavedPlan = {
      format: 'allowlist-sync/plan-v1',
      createdAt: new Date().toISOString(),
      planId: r.planId,
      status: r.status === 'refused' ? 'refused' : r.status === 'unchanged' ? 'unchanged' : 'changes',
      approvable: r.approvable === true,
      origin: { mode: 'function', function: opts.function as string, ...(opts.target ? { target: opts.target } : {}), ...(r.sources ? { sources: r.sources.map((x) => x.source) } : {}) },
      targetName: opts.target ?? r.policyArn ?? '(the function’s target)',
      baseVersionId: r.versionId ?? null,
      added: r.added ?? [],
      removed: r.removed ?? [],
      entries: r.entries ?? [],
      reasons: r.reasons ?? [],
      ...(typeof r.document === 'string' ? { document: r.document } : {}),
    };
    await writeSavedPlan(opts.out as string, saved);
    this.deps.io.err(`allowlist-sync: plan ${saved.planId} saved to ${opts.out}; apply exactly it with: allowlist-sync apply ${opts.out}`);
  }

  private async planOrApply(command: 'plan' | 'apply', args: TargetArgs, opts: Opts, saved?: SavedPlan, wrapJson: (json: Record<string, unknown>) => unknown = (json) => json): Promise<number> {
    const { env, io } = this.deps;
    const deadline = this.deadline(opts);
    const specs = cliSources(args, env, command);
    if (specs.length === 0) throw usageError('At least one --source (or --extra-cidrs) is required.', command);
    const shared = cliShared(env, io.err);
    const cli = cliTarget(args, specs, shared, env, command);
    const state = stateStoreFor(cli, env, opts.stateTable, io.err);
    const announcer = cliAnnouncer(env, cli, state, args.sources);
    const sources = specs.map((s) => shared.source(s.spelling, s.name));
    if (saved) {
      const dry = await sync({ sources, target: cli.target, plan: cli.planOptions, dryRun: true, state, writer: cliWriter(), deadline, ...shared.policyChecksFor(cli.spec) });
      this.checkSavedPlan(saved, dry);
    }
    const result = await sync({
      sources,
      target: cli.target,
      plan: cli.planOptions,
      dryRun: command === 'plan',
      approve: opts.approve,
      ...(saved ? { expectPlanId: saved.planId } : {}),
      state,
      writer: cliWriter(),
      deadline,
      ...(announcer ? { announcer } : {}),
      ...shared.policyChecksFor(cli.spec),
    });
    if (command === 'plan' && opts.out) {
      const origin: PlanOrigin = { mode: 'local', target: args.target, principals: [...args.principals], sources: [...args.sources], ...(args.extraCidrs !== undefined ? { extraCidrs: args.extraCidrs } : {}), ...(args.include !== undefined ? { include: args.include } : {}), ...(args.exclude !== undefined ? { exclude: args.exclude } : {}) };
      await writeSavedPlan(opts.out, savedPlanOf(result, origin));
      io.err(`allowlist-sync: plan ${result.plan.planId} saved to ${opts.out}; apply exactly it with: allowlist-sync apply ${opts.out}`);
    }
    this.print(opts, wrapJson(resultJson(result)), () => {
      const text = resultText(result);
      if (result.status !== 'refused' || !isApprovable(result.plan)) return text;
      return `${text}\nTo apply this exact plan anyway, after review: allowlist-sync apply ... --approve ${result.plan.planId}`;
    });
    if (result.otherWriters?.length) {
      io.err(`allowlist-sync: ${concurrentWriterReport(cli.target.name, result).message}`);
      return 1;
    }
    return (command === 'plan' ? PLAN_CODES : APPLY_CODES)[result.status] ?? 1;
  }

  private localTarget(opts: Opts, command: string): { cli: CliTarget; shared: ReturnType<typeof cliShared> } {
    const shared = cliShared(this.env, this.deps.io.err);
    return { cli: cliTarget(this.targetArgs(opts, command), [], shared, this.env, command), shared };
  }

  async status(opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    if (opts.function) return (await this.remote(opts, 'status', { action: 'status' })).code;
    const { cli, shared } = this.localTarget(opts, 'status');
    const state = stateStoreFor(cli, this.env, opts.stateTable, this.deps.io.err);
    const status = cli.policyArn ? await policyStatus(shared.iam(), cli.policyArn, cli.shape, state) : await targetStatus(cli.target, cli.shape, state);
    this.print(opts, status, () => statusText(status));
    return 0;
  }

  /** `check`: each address against the document in force; reads only (no state, no lease). */
  async check(addresses: readonly string[], opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    for (const address of addresses) {
      const problem = addressProblem(address);
      if (problem) throw usageError(`${problem}.`, 'check');
    }
    const { cli } = this.localTarget(opts, 'check');
    const current = await cli.target.read();
    const results = checkAddresses(current.document, addresses, cli.shape, { viaAwsService: opts.viaAwsService === true });
    this.print(opts, { target: cli.target.name, versionId: current.versionId ?? null, results }, () => checkText(results));
    return checkExitCode(results);
  }

  async rollback(opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    if (opts.function) return (await this.remote(opts, 'rollback', { action: 'rollback', ...(opts.to ? { to: opts.to } : {}), ...(opts.force ? { force: true } : {}) })).code;
    const { cli, shared } = this.localTarget(opts, 'rollback');
    const deadline = this.deadline(opts);
    const state = stateStoreFor(cli, this.env, opts.stateTable, this.deps.io.err);
    const announcer = cliAnnouncer(this.env, cli, state, []);
    const result = await rollback({
      target: cli.target,
      state,
      ...(cli.policyArn ? { iam: shared.iam(), policyArn: cli.policyArn } : {}),
      ...(opts.to !== undefined ? { to: opts.to } : {}),
      force: opts.force === true,
      plan: cli.planOptions,
      writer: cliWriter(),
      deadline,
      ...(announcer ? { announcer } : {}),
    });
    this.print(opts, rollbackJson(result), () => rollbackText(result));
    return result.status === 'refused' ? 3 : result.status === 'busy' ? 1 : 0;
  }

  /** A pause of an AWS target lives in the deployment's table, or the function's next run undoes it. */
  private requireSharedState(cli: CliTarget, opts: Opts, command: string): void {
    if (cli.spec.kind === 'file' || opts.stateTable?.trim() || this.env.STATE_TABLE?.trim()) return;
    throw usageError(`${command} of ${cli.target.name} needs the deployment's state (--state-table NAME, or STATE_TABLE), or --function NAME: a ${command} kept in a local file is not seen by the deployed function, whose next run would undo it.`, command);
  }

  async pause(opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    const reason = opts.reason?.trim() ?? '';
    if (reason === '') throw usageError('--reason must say why (it is recorded and alerted).', 'pause');
    if (opts.function) return (await this.remote(opts, 'pause', { action: 'pause', reason, by: cliWriter() })).code;
    const { cli } = this.localTarget(opts, 'pause');
    this.requireSharedState(cli, opts, 'pause');
    const state = stateStoreFor(cli, this.env, opts.stateTable, this.deps.io.err);
    const announcer = cliAnnouncer(this.env, cli, state, []);
    const { unannounced, ...result } = await pause({
      target: cli.target,
      shape: cli.shape,
      state,
      reason,
      by: cliWriter(),
      writer: cliWriter(),
      deadline: this.deadline(opts),
      ...(cli.planOptions.guards ? { guards: cli.planOptions.guards } : {}),
      ...(announcer ? { announcer } : {}),
    });
    this.print(opts, { action: 'pause', ...result }, () => pauseText(result));
    if (unannounced) this.deps.io.err(`allowlist-sync: the pause stands, but its alert could not be published (${describeError(unannounced)}); the function's next run tells it.`);
    return actionExitCode(result);
  }

  /** `resume`: the pause ends; with --source (locally) the allowlist is restored now, through the guards, else by the next sync. */
  async resume(opts: Opts): Promise<number> {
    this.applyAwsSettings(opts);
    if (opts.function) return (await this.remote(opts, 'resume', { action: 'resume', by: cliWriter() })).code;
    const args = this.targetArgs(opts, 'resume');
    // Restored now only with sources given here (EXTRA_CIDRS alone in the environment is not the allowlist).
    const restoreNow = args.sources.length > 0 || args.extraCidrs !== undefined;
    const { cli } = this.localTarget(opts, 'resume');
    this.requireSharedState(cli, opts, 'resume');
    const state = stateStoreFor(cli, this.env, opts.stateTable, this.deps.io.err);
    const announcer = cliAnnouncer(this.env, cli, state, []);
    const { unannounced, ...result } = await resume({ target: cli.target, state, by: cliWriter(), writer: cliWriter(), restoreNow, ...(announcer ? { announcer } : {}) });
    if (unannounced) this.deps.io.err(`allowlist-sync: the pause is cleared, but the resumed alert could not be published (${describeError(unannounced)}).`);
    if (result.status !== 'resumed' || !restoreNow) {
      this.print(opts, { action: 'resume', ...result }, () => resumeText(result));
      return actionExitCode(result);
    }
    if (!opts.json) this.deps.io.out(resumeText(result));
    return this.planOrApply('apply', args, opts, undefined, (sync) => ({ action: 'resume', ...result, sync }));
  }
}
