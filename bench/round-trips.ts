/**
 * Figure: HTTP round trips per sync, counted by the servers themselves (FakeOcmServer for SSO + OCM, the AWS
 * stand-in for IAM, SSM, SNS) while the bundled handler runs in its own process:
 *   cold unchanged   first invocation of a fresh process, policy already equal to the list
 *   warm unchanged   the same process invoked again (twice, both must agree)
 *   warm changed     OCM gained one trusted IP since the last run
 *   cold changed     a fresh process, OCM gained one trusted IP
 * The alert topic is configured, as the stack configures it; the alert state is `ok` in the policy's tags.
 */
import { Row, passIf } from './stats';
import { type InvokeReport, Stage, WarmFunction, callsBetween } from './stage';

const WARM_UNCHANGED_TARGET = 3;

interface Counted {
  total: number;
  detail: string;
  report: InvokeReport;
}

async function counted(stage: Stage, fn: WarmFunction, expect: string): Promise<Counted> {
  const before = stage.counts();
  const report = await fn.invoke();
  if (report.status !== expect) throw new Error(`round trips: the invocation ended ${report.status}, expected ${expect}`);
  return { ...callsBetween(before, stage.counts()), report };
}

/** The rows, and the last report of the warm process (its memory after several runs). */
export async function roundTrips(stage: Stage): Promise<{ rows: Row[]; warmReport: InvokeReport }> {
  stage.policyMatchesList();
  const warm = await WarmFunction.start(stage);
  const coldUnchanged = await counted(stage, warm, 'unchanged');
  const warmUnchanged = await counted(stage, warm, 'unchanged');
  const again = await counted(stage, warm, 'unchanged');
  stage.addTrustedIp();
  const warmChanged = await counted(stage, warm, 'updated');
  await warm.stop();

  stage.policyMatchesList();
  stage.addTrustedIp();
  const fresh = await WarmFunction.start(stage);
  const coldChanged = await counted(stage, fresh, 'updated');
  await fresh.stop();

  const stable = again.total === warmUnchanged.total;
  const ok = warmUnchanged.total <= WARM_UNCHANGED_TARGET && stable;
  const row = (figure: string, c: Counted): Row => ({ figure, measured: `${c.total}`, spread: c.detail });
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
      row('  warm changed (+1 trusted IP)', warmChanged),
      row('  cold changed (+1 trusted IP)', coldChanged),
    ],
    warmReport: warmChanged.report,
  };
}
