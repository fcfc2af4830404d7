/**
 * Figure: cold start. Fresh `node` processes, interleaved round by round so background load hits every kind
 * alike, each reporting performance.now() (time since its process started) when its work is done:
 *   bare     node -e ''                                       (reports at the end of its one-line script)
 *   require  node -e 'require(bundle)'                        (Lambda's Init phase, roughly)
 *   invoke   require(bundle), then one invocation of handler  (Init + the first, cold invocation)
 *   floor    the same SDK clients and the same requests, made minimally (bench/floor.ts)
 * "over bare" is median(kind) − median(bare); "against its floor" is median(invoke) / median(floor). Times are
 * taken inside the process, not at its exit: Lambda never waits for the process to end, and ending it can take
 * long (threads still compiling WebAssembly). That teardown is shown on its own line. All run with
 * NODE_OPTIONS=--enable-source-maps as the stack sets it; `invoke` once more without, to show what source maps
 * cost. The invocation runs against the local stand-ins (the state table included) with an unchanged list and a
 * table that already holds the target's state (one run adopts the policy first): the round trips on 127.0.0.1
 * take about a millisecond each, so what remains is the code's own cost. The floor's requests are those this
 * cold unchanged cycle made, counted by the servers in a run just before the rounds.
 */
import { floorCalls, floorRun } from './floor';
import { type InvokeReport, bareNode, coldRequire, coldStart } from './processes';
import { Row, median, ms, passIf, spread } from './stats';
import { type CallCounts, Stage, callsBetween } from './stage';

const TARGET_MS = 150;
const TARGET_RATIO = 1.1;

/** The requests of one cold unchanged cycle, by name, as the servers counted them. */
async function coldUnchangedCalls(stage: Stage): Promise<CallCounts> {
  const before = stage.counts();
  const { report } = await coldStart(stage);
  if (report.status !== 'unchanged') throw new Error(`cold init: the counted invocation ended ${report.status}, expected unchanged`);
  const after = stage.counts();
  const calls: CallCounts = new Map();
  for (const [name, count] of after) if (count > (before.get(name) ?? 0)) calls.set(name, count - (before.get(name) ?? 0));
  return calls;
}

export async function coldInit(stage: Stage, rounds = 10): Promise<Row[]> {
  await stage.policyMatchesList();
  // The first run adopts the policy into the empty table; every run after it finds its state there.
  const adopted = (await coldStart(stage)).report.status;
  if (adopted !== 'unchanged') throw new Error(`cold init: the adopting invocation ended ${adopted}, expected unchanged`);
  const counted = await coldUnchangedCalls(stage);
  const calls = floorCalls(counted);
  const bare: number[] = [];
  const bareWall: number[] = [];
  const required: number[] = [];
  const invoked: InvokeReport[] = [];
  const invokedWall: number[] = [];
  const noMaps: number[] = [];
  const floor: number[] = [];
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
    floor.push((await floorRun(stage, calls)).uptimeMs);
    const plain = await coldStart(stage, { nodeOptions: '' });
    noMaps.push(plain.report.uptimeMs);
    statuses.add(plain.report.status);
  }
  if (statuses.size !== 1 || !statuses.has('unchanged')) throw new Error(`cold init: the invocations ended ${[...statuses].join(', ')}, expected unchanged`);
  const base = median(bare);
  const over = (values: number[]): number => median(values) - base;
  const done = invoked.map((r) => r.uptimeMs);
  const invokeExtra = over(done);
  const floorExtra = over(floor);
  const ratio = median(done) / median(floor);
  const requireInside = median(invoked.map((r) => r.requireMs));
  const invokeInside = median(invoked.map((r) => r.ms));
  // Exit teardown beyond a bare node's: wall time to exit minus the time the work was done.
  const teardown = median(invokedWall.map((wall, i) => wall - done[i])) - median(bareWall.map((wall, i) => wall - bare[i]));
  const overOk = invokeExtra <= TARGET_MS || ratio <= TARGET_RATIO;
  const ratioOk = ratio <= TARGET_RATIO;
  const requests = callsBetween(new Map(), counted);
  return [
    { figure: "Cold init: bare node -e ''", measured: ms(base), spread: spread(bare, ms) },
    { figure: '  require(bundle), over bare', measured: `+${ms(over(required))}`, spread: spread(required, ms) },
    {
      figure: 'Cold init: require + 1st invocation, over bare',
      measured: `+${ms(invokeExtra)}`,
      spread: spread(done, ms),
      target: `≤ +${TARGET_MS} ms, or ≤ ${TARGET_RATIO}× floor`,
      result: passIf(overOk),
      note: overOk
        ? undefined
        : `cold init ${ms(invokeExtra - TARGET_MS)} over (${(invokeExtra / TARGET_MS).toFixed(1)}× the budget) and ${ratio.toFixed(2)}× its floor: require(bundle) ${ms(requireInside)} ` +
          `(compiling and initialising the whole bundle, see its size), the first invocation ${ms(invokeInside)} (first use of each client); ` +
          `the floor alone is +${ms(floorExtra)} over bare`,
    },
    {
      figure: 'Cold init against its floor (same SDK clients, same requests, minimal)',
      measured: `${ratio.toFixed(2)}×`,
      spread: `${ms(median(done))} / floor ${ms(median(floor))}; floor ${spread(floor, ms)}`,
      target: `≤ ${TARGET_RATIO}×`,
      result: passIf(ratioOk),
      note: ratioOk
        ? undefined
        : `the function takes ${ms(median(done) - median(floor))} more than the floor, which creates only IAMClient, SSMClient, DynamoDBClient and makes the same ${requests.total} requests one after the other`,
    },
    { figure: '  floor over bare', measured: `+${ms(floorExtra)}`, spread: `its requests: ${requests.detail}` },
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
