/**
 * Figure: peak memory of a cold cycle, the whole process, measured from outside until it exits. A fresh `node`
 * loads the bundle and runs one cold sync that changes the policy (SSM, SSO, OCM, IAM read and write, SNS alert,
 * the state table's lease, outbox and alert state), then exits; a small Python wrapper (bench/processes.ts) waits
 * for it and reads its ru_maxrss, the kernel's peak RSS of the process over its whole life, exit included. Median
 * of several processes, beside a bare `node -e ''` measured the same way. The in-process figure (the process's own
 * process.resourceUsage().maxRSS right after the invocation) is shown as a detail. Units: MiB (2^20 bytes).
 */
import { bareNode, coldStart } from './processes';
import { Row, median, passIf, spread } from './stats';
import { Stage } from './stage';

const TARGET_MIB = 100;
/** ru_maxrss and maxRSS are in KiB. */
const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
const LIMIT_KIB = TARGET_MIB * 1024;

export async function memory(stage: Stage, runs = 5, warmAfterRunsKb?: number): Promise<Row[]> {
  // A consistent state: the policy equal to the list and adopted into the table; then each run adds one IP.
  await stage.policyMatchesList();
  const adopted = (await coldStart(stage)).report.status;
  if (adopted !== 'unchanged') throw new Error(`memory: the adopting invocation ended ${adopted}, expected unchanged`);
  const bare: number[] = [];
  const outside: number[] = [];
  const inside: number[] = [];
  for (let i = 0; i < runs; i++) {
    const b = await bareNode(stage, 'peak-rss');
    bare.push(b.peakRssKib ?? NaN);
    stage.addTrustedIp();
    const cold = await coldStart(stage, { launch: 'peak-rss' });
    if (cold.report.status !== 'updated') throw new Error(`memory: the sync ended ${cold.report.status}, expected updated`);
    outside.push(cold.peakRssKib ?? NaN);
    inside.push(cold.report.maxRssKb);
  }
  const peak = median(outside);
  const rows: Row[] = [
    {
      figure: 'Memory: peak RSS of a cold (changed) cycle, whole process until exit',
      measured: mib(peak),
      spread: `${spread(outside, mib)}; measured from outside (ru_maxrss)`,
      target: `≤ ${TARGET_MIB} MiB`,
      result: passIf(peak <= LIMIT_KIB),
      note:
        peak > LIMIT_KIB
          ? `peak RSS ${mib(peak - LIMIT_KIB)} over; bare node is ${mib(median(bare))}, the rest is the bundle's code, the SDK clients it loads and their heap (see its size)`
          : undefined,
    },
    { figure: '  in-process maxRSS right after the invocation', measured: mib(median(inside)), spread: spread(inside, mib) },
    { figure: "  bare node -e '', from outside", measured: mib(median(bare)), spread: spread(bare, mib) },
  ];
  if (warmAfterRunsKb !== undefined) rows.push({ figure: '  warm process after 4 syncs (in-process)', measured: mib(warmAfterRunsKb) });
  return rows;
}
