import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import type { Env } from '../../lambda/config';
import { describeError, SyncError } from '../../lambda/errors';
import { TARGET_FORMS } from '../../lambda/kinds/cli';
import { SOURCE_FORMS } from '../../lambda/sources/grammar';
import { Commands, type Io } from './commands';
import type { RemoteClients } from './remote';

// The command line, on commander: one definition per command with exactly its options, so a flag that does not
// belong to a command is an error naming it, a mistyped command or flag gets a "did you mean", and
// `help COMMAND` / `COMMAND --help` show that command's own options.

export type { Io } from './commands';

/** This package's version: the nearest package.json named allowlist-sync above this file (the repository, or dist/ installed). */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'allowlist-sync' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const EXIT_CODES = `Exit codes: plan 0 no change, 2 changes pending, 3 refused, 1 error or busy; apply and rollback 0 unchanged or
applied, 3 refused or paused (nothing written), 1 error or busy; pause 0 paused (or already), 1 error or busy;
resume 0 resumed, 3 its restore refused (still lifted), 1 error or busy; status 0, 1 error; check 0 not denied,
3 denied, 1 cannot tell or error.`;

const SOURCES_HELP = `Sources (--source, repeatable): ${SOURCE_FORMS}.
  ocm reads Red Hat OCM's trusted IPs (OCM_CLIENT_ID/OCM_CLIENT_SECRET, OCM_OFFLINE_TOKEN, or the SSM
  SecureString named by OCM_CREDENTIALS_PARAMETER); ssm:NAME a String or StringList parameter.`;

const TARGETS_HELP = `Targets (--target): ${TARGET_FORMS}.
  iam-trust:ROLE takes --principal ARN (repeatable): the principals whose sts:AssumeRole the deny covers.
Guards and conditions come from the function's environment variables (MIN_ENTRIES, MAX_REMOVAL_FRACTION,
VPC_EXEMPTION, ...: see docs/configuration.md).`;

const REMOTE_HELP = `With --function NAME (the function's name or ARN, or the stack's name) the command runs in the deployed
function instead, with its settings, sources, guards and state; --target then names one of its targets.`;

function targetOptions(command: Command, remote: boolean): Command {
  command.option('--target <spec>', `the target (${TARGET_FORMS})`).option('--principal <arn>', 'for iam-trust: targets, a principal the deny covers (repeatable)', collect);
  if (remote) command.option('--function <name>', "run in the deployed function (its name or ARN, or the stack's name)");
  return command;
}

function sourceOptions(command: Command): Command {
  return command
    .option('--source <spec>', `a source (repeatable): ${SOURCE_FORMS}`, collect)
    .option('--extra-cidrs <list>', 'more entries, comma-separated (or EXTRA_CIDRS)')
    .option('--include <cidrs>', "keep only the sources' entries inside these blocks (or INCLUDE_CIDRS)")
    .option('--exclude <cidrs>', "drop the sources' entries inside these blocks (or EXCLUDE_CIDRS)");
}

function stateOptions(command: Command): Command {
  return command
    .option('--state-table <name>', "the deployment's DynamoDB state table (or STATE_TABLE); without one, a local JSON file")
    .option('--timeout <seconds>', 'bound on the run and its lease, 15 to 3600 (default 300)');
}

/** Where commander writes: help on stdout, errors on stderr as the CLI's own (`allowlist-sync: unknown option '--to'`). */
function output(io: Io): { writeOut(s: string): void; writeErr(s: string): void; outputError(s: string, write: (s: string) => void): void } {
  return {
    writeOut: (s) => io.out(s.replace(/\n$/, '')),
    writeErr: (s) => io.err(s.replace(/\n$/, '')),
    outputError: (s, write) => write(`allowlist-sync: ${s.replace(/^error: /, '')}`),
  };
}

/** The program, its commands bound to `commands`; every action sets the exit code it ends with. */
function buildProgram(commands: Commands, io: Io, setExit: (code: number) => void): Command {
  const program = new Command('allowlist-sync')
    .description('Keeps IP-allowlist IAM deny policies current from published lists, safely.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'print one JSON object on stdout')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .option('--profile <name>', 'AWS profile (as AWS_PROFILE)')
    .option('--region <region>', 'AWS region (as AWS_REGION)')
    .addHelpText('after', `\n${EXIT_CODES}\n\nRun from a clone as "node bin/allowlist-sync.js", installed as "npx --no-install allowlist-sync".`)
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput(output(io));
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => setExit(await action(...args));

  const plan = program.command('plan').description('show what a sync would change (writes nothing)');
  sourceOptions(targetOptions(plan, true));
  stateOptions(plan)
    .option('--out <file>', 'save the plan, for "apply FILE" to apply exactly it')
    .addHelpText('after', `\n${SOURCES_HELP}\n${TARGETS_HELP}\n${REMOTE_HELP}`)
    .action(run((_opts: unknown, cmd: Command) => commands.plan(cmd.optsWithGlobals())));

  const apply = program.command('apply').argument('[file]', 'a plan saved with "plan --out FILE": apply exactly it, or nothing').description('sync now: plan, guard, write');
  sourceOptions(targetOptions(apply, true));
  stateOptions(apply)
    .option('--approve <plan-id>', 'apply this refused plan anyway (its id, from the refusal), after review')
    .addHelpText('after', `\n${SOURCES_HELP}\n${TARGETS_HELP}\n${REMOTE_HELP}`)
    .action(run((file: string | undefined, _opts: unknown, cmd: Command) => commands.apply(file, cmd.optsWithGlobals())));

  const status = program.command('status').description('the document in force, the last sync, and what the state remembers');
  stateOptions(targetOptions(status, true)).action(run((_opts: unknown, cmd: Command) => commands.status(cmd.optsWithGlobals())));

  const check = program.command('check').argument('<address...>', 'IPv4 or IPv6 addresses').description('is a request from each address denied by the policy in force?');
  targetOptions(check, false)
    .option('--via-aws-service', 'as a request an AWS service makes on the caller’s behalf')
    .action(run((addresses: string[], _opts: unknown, cmd: Command) => commands.check(addresses, cmd.optsWithGlobals())));

  const rollback = program.command('rollback').description('restore an earlier version (the one before the default, or --to)');
  stateOptions(targetOptions(rollback, true))
    .option('--to <version>', 'the version (or kept revision) to restore')
    .option('--force', 'restore it even where the guards refuse it')
    .action(run((_opts: unknown, cmd: Command) => commands.rollback(cmd.optsWithGlobals())));

  const pause = program.command('pause').description('break-glass: lift the IP restriction now and hold scheduled runs until resume');
  stateOptions(targetOptions(pause, true))
    .requiredOption('--reason <text>', 'why (recorded and alerted)')
    .action(run((_opts: unknown, cmd: Command) => commands.pause(cmd.optsWithGlobals())));

  const resume = program.command('resume').description('end a pause; with --source the allowlist is restored now (through the guards), else by the next sync');
  stateOptions(sourceOptions(targetOptions(resume, true))).action(run((_opts: unknown, cmd: Command) => commands.resume(cmd.optsWithGlobals())));

  program.showHelpAfterError('Run "allowlist-sync --help" for usage.');
  for (const command of program.commands) {
    command.showSuggestionAfterError(true).exitOverride().configureOutput(output(io)).showHelpAfterError(`Run "allowlist-sync ${command.name()} --help" for usage.`);
  }
  return program;
}

/** Runs the CLI; returns the exit code. `remote` injects clients for the function mode (tests). */
export async function main(argv: readonly string[], env: Env, io: Io, remote: RemoteClients = {}): Promise<number> {
  // Known before parsing, so even a usage error is reported as JSON to a script that asked for it.
  const json = argv.includes('--json');
  let exitCode = 0;
  const commands = new Commands({ env, io, remote });
  const program = buildProgram(commands, json ? { ...io, err: io.err } : io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return err.exitCode;
      if (json) io.out(JSON.stringify({ status: 'error', error: err.message.replace(/^error: /, '').replace(/\n/g, ' '), code: 'usage' }));
      return 1;
    }
    const message = describeError(err);
    if (json) io.out(JSON.stringify({ status: 'error', error: message, code: err instanceof SyncError ? err.code : 'error' }));
    io.err(`allowlist-sync: ${message}`);
    return 1;
  }
}
