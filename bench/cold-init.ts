/**
 * Figure: cold start. Fresh `node` processes, interleaved round by round so background load hits every kind
 * alike, each reporting performance.now() (time since its process started) when its work is done:
 *   bare     node -e ''                                       (reports at the end of its one-line script)
 *   require  node -e 'require(bundle)'                        (Lambda's Init phase, roughly)
 *   invoke   require(bundle), then one invocation of handler  (Init + the first, cold invocation)
 * "over bare" is median(kind) − median(bare). Times are taken inside the process, not at its exit: Lambda
 * never waits for the process to end, and ending it can take long (threads still compiling WebAssembly).
 * That teardown is shown on its own line. All run with NODE_OPTIONS=--enable-source-maps as the stack sets
 * it; `invoke` once more without, to show what source maps cost. The invocation runs against the local
 * stand-ins with an unchanged list: the SSM, SSO, OCM and IAM round trips on 127.0.0.1 take well under a
 * millisecond each, so what remains is the code's own cost.
 */
import { Row, median, ms, passIf, spread } from './stats';
import { type InvokeReport, Stage, bareNode, coldRequire, coldStart } from './stage';

const TARGET_MS = 150;

export async function coldInit(stage: Stage, rounds = 10): Promise<Row[]> {
  stage.policyMatchesList();
  const bare: number[] = [];
  const bareWall: number[] = [];
  const required: number[] = [];
  const invoked: InvokeReport[] = [];
  const invokedWall: number[] = [];
  const noMaps: number[] = [];
  const statuses = new Set<string>();
  for (let round = 0; round < rounds; round++) {
    const b = await bareNode(stage);
    bare.push(b.uptimeMs);
    bareWall.push(b.wallMs);
    required.push((await coldRequire(stage)).report.uptimeMs);
    const cold = await coldStart(stage);
    invoked.push(cold.report);
    invokedWall.push(cold.wallMs);
    statuses.add(cold.report.status);
    const plain = await coldStart(stage, { nodeOptions: '' });
    noMaps.push(plain.report.uptimeMs);
    statuses.add(plain.report.status);
  }
  if (statuses.size !== 1 || !statuses.has('unchanged')) throw new Error(`cold init: the invocations ended ${[...statuses].join(', ')}, expected unchanged`);
  const base = median(bare);
  const over = (values: number[]): number => median(values) - base;
  const done = invoked.map((r) => r.uptimeMs);
  const invokeExtra = over(done);
  const requireInside = median(invoked.map((r) => r.requireMs));
  const invokeInside = median(invoked.map((r) => r.ms));
  // Exit teardown beyond a bare node's: wall time to exit minus the time the work was done.
  const teardown = median(invokedWall.map((wall, i) => wall - done[i])) - median(bareWall.map((wall, i) => wall - bare[i]));
  return [
    { figure: "Cold init: bare node -e ''", measured: ms(base), spread: spread(bare, ms) },
    { figure: '  require(bundle), over bare', measured: `+${ms(over(required))}`, spread: spread(required, ms) },
    {
      figure: 'Cold init: require + 1st invocation, over bare',
      measured: `+${ms(invokeExtra)}`,
      spread: spread(done, ms),
      target: `≤ +${TARGET_MS} ms`,
      result: passIf(invokeExtra <= TARGET_MS),
      note:
        invokeExtra > TARGET_MS
          ? `cold init ${ms(invokeExtra - TARGET_MS)} over (${(invokeExtra / TARGET_MS).toFixed(1)}× the budget): require(bundle) ${ms(requireInside)} ` +
            `(compiling and initialising the whole bundle, see its size), the first invocation ${ms(invokeInside)} (first use of each client)`
          : undefined,
    },
    {
      figure: '  inside: require / invocation',
      measured: `${ms(requireInside)} / ${ms(invokeInside)}`,
      spread: `invocation ${spread(
        invoked.map((r) => r.ms),
        ms,
      )}`,
    },
    { figure: '  same without --enable-source-maps', measured: `+${ms(over(noMaps))}`, spread: spread(noMaps, ms) },
    { figure: '  process exit after it, beyond bare', measured: `+${ms(teardown)}`, spread: 'not counted above' },
  ];
}
