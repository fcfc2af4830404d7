/**
 * Figure: fan-out. One invocation of a fresh (cold) process whose ALLOWLIST_TARGETS lists N managed-policy
 * targets (N = 1, 5, 20, 50), each on a policy of its own in the AWS stand-in with a `static:` source that
 * differs from the policy by one address, so every target is updated (IAM read and write, SNS alert, its state in
 * the table); checked: every target ended `updated`. The figure is the invocation alone (the handler call, inside
 * the process) and the ratio N=20 / N=1. Twice: with the stand-ins answering at once, where what is left is CPU
 * (the function's and the stand-ins', on the same 2 cores), and with every AWS request (IAM, SNS, DynamoDB) made to
 * wait LATENCY_MS first, a modest stand-in for AWS's own latency, where the function's lanes (DEFAULT_CONCURRENCY targets at once,
 * lambda/lanes.ts) overlap the waits. Each run starts from fresh policies and an empty table; the N and the
 * latencies are interleaved round by round.
 */
import { DEFAULT_CONCURRENCY } from '../lambda/lanes';
import { managedPolicyShape, normalize, plan } from '../lambda/allowlist';
import { coldStart } from './processes';
import { Row, median, ms, passIf, spread } from './stats';
import { type Stage, callsBetween } from './stage';

const COUNTS = [1, 5, 20, 50] as const;
const LATENCY_MS = 25;
const TARGET_RATIO = 2;

interface FanOutTarget {
  name: string;
  kind: 'managed-policy';
  policyArn: string;
  sources: string[];
}

/** Target i: a few addresses in its policy, one more in its source. */
function target(i: number): { spec: FanOutTarget; document: string } {
  const inPolicy = ['192.0.2.10/32', '198.51.100.0/24', `203.0.113.${i}/32`];
  const entries = inPolicy.map((value) => ({ value, source: 'static' }));
  const name = `fan-out-${String(i).padStart(2, '0')}`;
  return {
    spec: { name, kind: 'managed-policy', policyArn: `arn:aws:iam::123456789012:policy/bench-${name}`, sources: [`static:${[...inPolicy, `192.0.2.${100 + i}/32`].join(',')}`] },
    document: plan({}, normalize(entries), { shape: managedPolicyShape({}) }).document,
  };
}

/** One cold invocation over n targets at this latency: the invocation's time, and the requests it made. */
async function run(stage: Stage, n: number, latencyMs: number): Promise<{ ms: number; requests: number }> {
  const targets = Array.from({ length: n }, (_, i) => target(i + 1));
  stage.aws.removeOtherPolicies();
  for (const t of targets) stage.aws.setPolicy(t.spec.policyArn, t.document);
  stage.aws.latencyMs = 0;
  stage.dynamo.latencyMs = 0;
  await stage.dynamo.reset();
  stage.aws.latencyMs = latencyMs;
  stage.dynamo.latencyMs = latencyMs;
  const before = stage.counts();
  try {
    const first = targets[0].spec;
    // As the stack sets it: the single-target variables name the first target; no OCM, so no OCM variables.
    const { report } = await coldStart(stage, {
      env: {
        ALLOWLIST_TARGETS: JSON.stringify(targets.map((t) => t.spec)),
        POLICY_ARN: first.policyArn,
        ALLOWLIST_NAME: first.name,
        POWERTOOLS_SERVICE_NAME: first.name,
        OCM_CREDENTIALS_PARAMETER: undefined,
        OCM_API_URL: undefined,
        OCM_TOKEN_URL: undefined,
      },
    });
    const statuses = report.targets ?? [];
    if (statuses.length !== n || statuses.some((s) => s !== 'updated')) {
      throw new Error(`fan-out: ${n} targets ended ${report.status} (${statuses.join(', ') || 'no targets'}), expected every one updated`);
    }
    return { ms: report.ms, requests: callsBetween(before, stage.counts()).total };
  } finally {
    stage.aws.latencyMs = 0;
    stage.dynamo.latencyMs = 0;
  }
}

export async function fanOut(stage: Stage, rounds = 5): Promise<Row[]> {
  const latencies = [0, LATENCY_MS];
  const times = new Map<string, number[]>();
  const requests = new Map<number, number>();
  const key = (n: number, latency: number): string => `${n}@${latency}`;
  for (let round = 0; round < rounds; round++) {
    for (const latency of latencies) {
      for (const n of COUNTS) {
        const t = await run(stage, n, latency);
        times.set(key(n, latency), [...(times.get(key(n, latency)) ?? []), t.ms]);
        requests.set(n, t.requests);
      }
    }
  }
  stage.aws.removeOtherPolicies();
  const rows: Row[] = [];
  for (const latency of latencies) {
    const of = (n: number): number[] => times.get(key(n, latency)) ?? [];
    const ratio = median(of(20)) / median(of(1));
    const ok = ratio <= TARGET_RATIO;
    const where = latency === 0 ? 'stand-ins answering at once' : `every AWS request (IAM, SNS, DynamoDB) +${latency} ms`;
    rows.push({
      figure: `Fan-out: 20 targets updated against 1, ${latency === 0 ? 'no latency' : `${latency} ms per AWS request`}`,
      measured: `${ratio.toFixed(2)}×`,
      spread: `${ms(median(of(20)))} / ${ms(median(of(1)))}, one cold invocation each; ${where}`,
      target: `≤ ${TARGET_RATIO}×`,
      result: passIf(ok),
      note: ok
        ? undefined
        : `${latency === 0 ? 'no latency' : `${latency} ms latency`}: 20 targets take ${ratio.toFixed(1)}× one (${ms(median(of(20)) - median(of(1)))} more), ` +
          `${((median(of(20)) - median(of(1))) / 19).toFixed(1)} ms per extra target; the function runs ${DEFAULT_CONCURRENCY} targets at once (lambda/lanes.ts)`,
    });
    for (const n of COUNTS) {
      rows.push({ figure: `  ${n} target${n === 1 ? '' : 's'}, ${latency === 0 ? 'no latency' : `+${latency} ms`}`, measured: ms(median(of(n))), spread: `${spread(of(n), ms)}; ${requests.get(n)} requests` });
    }
  }
  return rows;
}
