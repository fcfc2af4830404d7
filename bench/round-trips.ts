/**
 * Figure: HTTP round trips per sync, counted by the servers themselves (FakeOcmServer for SSO + OCM, the AWS
 * stand-in for IAM, SSM, SNS, LocalDynamo for the state table, by operation) while the bundled handler runs in
 * its own process:
 *   first run        a fresh process on an empty state table (it adopts the policy, already equal to the list)
 *   cold unchanged   a fresh process, the table holding the state the first run left
 *   warm unchanged   the same process invoked again (twice, both must agree)
 *   warm changed     OCM gained one trusted IP since the last run (an updating cycle)
 *   cold changed     a fresh process, OCM gained one trusted IP (an updating cycle)
 * The alert topic is configured, as the stack configures it.
 */
import { type InvokeReport, WarmFunction, coldStart } from './processes';
import { Row, passIf } from './stats';
import { Stage, callsBetween } from './stage';

const WARM_UNCHANGED_TARGET = 3;
const UPDATING_TARGET = 7;

interface Counted {
  total: number;
  detail: string;
  report: InvokeReport;
}

async function counted(stage: Stage, invoke: () => Promise<InvokeReport>, expect: string): Promise<Counted> {
  const before = stage.counts();
  const report = await invoke();
  if (report.status !== expect) throw new Error(`round trips: the invocation ended ${report.status}, expected ${expect}`);
  return { ...callsBetween(before, stage.counts()), report };
}

const cold = (stage: Stage) => async (): Promise<InvokeReport> => (await coldStart(stage)).report;

/** The rows, and the last report of the warm process (its memory after several runs). */
export async function roundTrips(stage: Stage): Promise<{ rows: Row[]; warmReport: InvokeReport }> {
  await stage.policyMatchesList();
  const first = await counted(stage, cold(stage), 'unchanged');
  const warm = await WarmFunction.start(stage);
  const coldUnchanged = await counted(stage, () => warm.invoke(), 'unchanged');
  const warmUnchanged = await counted(stage, () => warm.invoke(), 'unchanged');
  const again = await counted(stage, () => warm.invoke(), 'unchanged');
  stage.addTrustedIp();
  const warmChanged = await counted(stage, () => warm.invoke(), 'updated');
  await warm.stop();

  // The table and the policy agree after that run: the next fresh process starts from there.
  stage.addTrustedIp();
  const coldChanged = await counted(stage, cold(stage), 'updated');

  const stable = again.total === warmUnchanged.total;
  const ok = warmUnchanged.total <= WARM_UNCHANGED_TARGET && stable;
  const row = (figure: string, c: Counted): Row => ({ figure, measured: `${c.total}`, spread: c.detail });
  const updating = (figure: string, c: Counted): Row => ({
    figure,
    measured: `${c.total}`,
    spread: c.detail,
    target: `≤ ${UPDATING_TARGET}`,
    result: passIf(c.total <= UPDATING_TARGET),
    note: c.total <= UPDATING_TARGET ? undefined : `${figure.trim()}: ${c.total - UPDATING_TARGET} more requests than the target`,
  });
  return {
    rows: [
      {
        figure: 'Round trips, warm unchanged',
        measured: `${warmUnchanged.total}${stable ? '' : ` then ${again.total}`}`,
        spread: warmUnchanged.detail,
        target: `${WARM_UNCHANGED_TARGET}`,
        result: passIf(ok),
        note: ok ? undefined : `${warmUnchanged.total - WARM_UNCHANGED_TARGET} more than the target per warm run`,
      },
      row('  cold unchanged', coldUnchanged),
      row('  first run, empty state table (adopts)', first),
      updating('Round trips of an updating cycle, warm (+1 trusted IP)', warmChanged),
      updating('  updating cycle, cold (+1 trusted IP)', coldChanged),
    ],
    warmReport: warmChanged.report,
  };
}
