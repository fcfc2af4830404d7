/**
 * Figure: cold start. Fresh `node` processes, timed from spawn to exit by this process, interleaved round by
 * round so background load hits every kind alike:
 *   bare     node -e ''
 *   require  node -e 'require(bundle)'                       (Lambda's Init phase, roughly)
 *   invoke   require(bundle), then one invocation of handler  (Init + the first, cold invocation)
 * "over bare" is median(kind) − median(bare); the spread shows each kind's own wall times. All run
 * with NODE_OPTIONS=--enable-source-maps as the stack sets it; `invoke` once more without it, to show what
 * source maps cost. The invocation runs against the local stand-ins with an unchanged list: SSM, SSO, OCM,
 * IAM round trips on 127.0.0.1 take well under a millisecond each, so what remains is the code's own cost.
 */
import { Row, median, ms, passIf, spread } from './stats';
import { type InvokeReport, Stage, coldStart, timeProcess } from './stage';

const TARGET_MS = 150;

export async function coldInit(stage: Stage, rounds = 10): Promise<Row[]> {
  stage.policyMatchesList();
  const bare: number[] = [];
  const required: number[] = [];
  const invoked: number[] = [];
  const noMaps: number[] = [];
  const inside: InvokeReport[] = [];
  const statuses = new Set<string>();
  for (let round = 0; round < rounds; round++) {
    bare.push((await timeProcess(['-e', ''], stage.env('require'))).wallMs);
    required.push((await coldStart(stage, 'require')).wallMs);
    const cold = await coldStart(stage, 'invoke');
    invoked.push(cold.wallMs);
    if (cold.report) {
      inside.push(cold.report);
      statuses.add(cold.report.status);
    }
    const plain = await coldStart(stage, 'invoke', { nodeOptions: '' });
    noMaps.push(plain.wallMs);
    if (plain.report) statuses.add(plain.report.status);
  }
  if (statuses.size !== 1 || !statuses.has('unchanged')) throw new Error(`cold init: the invocations ended ${[...statuses].join(', ')}, expected unchanged`);
  const base = median(bare);
  const extra = (values: number[]): number => median(values) - base;
  const invokeExtra = extra(invoked);
  const requireInside = median(inside.map((r) => r.requireMs));
  const invokeInside = median(inside.map((r) => r.ms));
  return [
    { figure: 'Cold init: bare node -e \'\'', measured: ms(base), spread: spread(bare, ms) },
    { figure: '  require(bundle), over bare', measured: `+${ms(extra(required))}`, spread: `wall ${spread(required, ms)}` },
    {
      figure: 'Cold init: require + 1st invocation, over bare',
      measured: `+${ms(invokeExtra)}`,
      spread: `wall ${spread(invoked, ms)}`,
      target: `≤ +${TARGET_MS} ms`,
      result: passIf(invokeExtra <= TARGET_MS),
      note:
        invokeExtra > TARGET_MS
          ? `cold init ${ms(invokeExtra - TARGET_MS)} over (${(invokeExtra / TARGET_MS).toFixed(1)}× the budget): require(bundle) ${ms(requireInside)} ` +
            `(compiling and initialising the whole bundle, see its size), the first invocation ${ms(invokeInside)} (first use of each client)`
          : undefined,
    },
    {
      figure: '  inside the process: require / invocation',
      measured: `${ms(requireInside)} / ${ms(invokeInside)}`,
      spread: `invocation ${spread(
        inside.map((r) => r.ms),
        ms,
      )}`,
    },
    { figure: '  same without --enable-source-maps', measured: `+${ms(extra(noMaps))}`, spread: `wall ${spread(noMaps, ms)}` },
  ];
}
