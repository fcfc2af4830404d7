/**
 * Figure: peak RSS of a full sync in one process: a fresh `node` loads the bundle and runs one cold sync that
 * changes the policy (SSM, SSO, OCM, IAM read and write, SNS alert, alert-state tags), then reports
 * process.resourceUsage().maxRSS. Median of several processes, beside a bare `node -e ''`. Both are started
 * through `sh` (see nodeCommand in stage.ts): forked straight from this process they would inherit its peak.
 */
import { Row, median, passIf, spread } from './stats';
import { Stage, bareNode, coldStart } from './stage';

const TARGET_MB = 100;
/** maxRSS is in kibibytes; shown in SI megabytes (1 MB = 10^6 bytes), as the target is written. */
const mb = (kb: number): string => `${((kb * 1024) / 1e6).toFixed(1)} MB`;
const LIMIT_KB = (TARGET_MB * 1e6) / 1024;

export async function memory(stage: Stage, runs = 5, warmAfterRunsKb?: number): Promise<Row[]> {
  const bare: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push((await bareNode(stage, true)).maxRssKb);
    stage.policyMatchesList();
    stage.addTrustedIp();
    const cold = await coldStart(stage, { viaShell: true });
    if (cold.report.status !== 'updated') throw new Error(`memory: the sync ended ${cold.report.status}, expected updated`);
    full.push(cold.report.maxRssKb);
  }
  const peak = median(full);
  const rows: Row[] = [
    {
      figure: 'Memory: peak RSS of a full (changed) sync',
      measured: mb(peak),
      spread: spread(full, mb),
      target: `≤ ${TARGET_MB} MB`,
      result: passIf(peak <= LIMIT_KB),
      note: peak > LIMIT_KB ? `peak RSS ${mb(peak - LIMIT_KB)} over; bare node is ${mb(median(bare))}, the rest is the bundle's code and heap (see its size)` : undefined,
    },
    { figure: '  bare node -e \'\'', measured: mb(median(bare)), spread: spread(bare, mb) },
  ];
  if (warmAfterRunsKb !== undefined) rows.push({ figure: '  warm process after 4 syncs', measured: mb(warmAfterRunsKb) });
  return rows;
}
