import { describeError } from '../lambda/errors';
import { main } from './cli/program';

// The operator's CLI: `allowlist-sync plan | apply | status | check | rollback | pause | resume`
// (bin/cli/program.ts defines every command and its options).

export { main } from './cli/program';
export type { Io } from './cli/program';
export { cliWriter, stateStoreFor } from './cli/local';

/** Entry point for the executable: real argv, environment and console. */
export function run(): void {
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
