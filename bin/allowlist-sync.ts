import { describeError } from '../lambda/errors';
import { main } from './cli/program';

// The operator's CLI: `allowlist-sync plan | apply | status | check | rollback | pause | resume`
// (bin/cli/program.ts defines every command and its options).

export { main } from './cli/program';
export type { Io } from './cli/program';
export { cliWriter, stateStoreFor } from './cli/local';

/** Entry point for the executable: real argv, environment and console. */
export function run(): void {
  // The SDK's multi-line notice that its 2027 releases need Node 22 would end up in every command's stderr on
  // Node 20 (still supported here; the docs recommend 22 or newer): an operator who wants it sets the variable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2), process.env, { out: (t) => console.log(t), err: (t) => console.error(t), isTTY: process.stdout.isTTY === true }).then(
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
