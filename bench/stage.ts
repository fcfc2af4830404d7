/**
 * The stage the bundled function runs on, offline: FakeOcmServer (test/helpers) for Red Hat SSO + OCM, the AWS
 * stand-in for IAM, SSM and SNS, and LocalDynamo (dynalite) for the state table the stack always gives the
 * function (STATE_TABLE, reached through AWS_ENDPOINT_URL_DYNAMODB; the rest through AWS_ENDPOINT_URL). The
 * function's processes (bench/processes.ts) get the environment the stack gives it, pointed at these.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { managedPolicyShape, normalize, plan } from '../lambda/allowlist';
import { FakeOcmServer, type FakeTrustedIp } from '../test/helpers/ocm-server';
import { AwsStandIn } from '../test/helpers/aws-stand-in';
import { LocalDynamo } from '../test/helpers/dynamodb';
import { prng } from './stats';

export const POLICY_ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:allowlist-sync-alerts';
const PARAMETER = '/allowlist-sync/ocm-credentials';
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret-0123456789' };

/**
 * A list shaped like OCM's (one page of at most 100): mostly IPv4 hosts, some IPv4 blocks, a few IPv6
 * blocks (one fully expanded), two disabled items. Deterministic.
 */
export function ocmItems(count = 80): FakeTrustedIp[] {
  const random = prng(6);
  const byte = (): number => Math.floor(random() * 256);
  const ids = new Set<string>();
  while (ids.size < count) {
    const kind = random();
    if (kind < 0.75) ids.add(`${[3, 18, 52, 54][Math.floor(random() * 4)]}.${byte()}.${byte()}.${byte()}`);
    else if (kind < 0.92) {
      const prefix = 24 + Math.floor(random() * 6);
      const last = byte() & ~((1 << (32 - prefix)) - 1) & 255;
      ids.add(`52.${byte()}.${byte()}.${last}/${prefix}`);
    } else ids.add(`2600:1f18:${byte().toString(16)}${byte().toString(16)}:${byte().toString(16)}00::/56`);
  }
  ids.add('2600:1f18:0000:0000:0000:0000:0000:0000/48');
  return [...ids].map((id, i) => ({ kind: 'TrustedIp', id, href: `/api/clusters_mgmt/v1/trusted_ip_addresses/${encodeURIComponent(id)}`, enabled: i % 40 !== 39 }));
}

/** The document the function renders for these items (as the handler does, default conditions). */
export function documentFor(items: readonly FakeTrustedIp[]): string {
  const entries = items.filter((i) => i.enabled === true).map((i) => ({ value: String(i.id), source: 'ocm' }));
  return plan({}, normalize(entries), { shape: managedPolicyShape({}) }).document;
}

/**
 * Requests seen so far: AWS by action (`GetPolicy`...), DynamoDB by operation (`GetItem`...), Red Hat as
 * `SSO token` and `OCM page`.
 */
export type CallCounts = Map<string, number>;

/** The servers, the list they serve, and the environment of the function. */
export class Stage {
  items: FakeTrustedIp[];
  private added = 0;
  private readonly home = mkdtempSync(path.join(tmpdir(), 'allowlist-sync-bench-'));

  private constructor(
    readonly ocm: FakeOcmServer,
    readonly aws: AwsStandIn,
    readonly dynamo: LocalDynamo,
    readonly bundle: string,
  ) {
    this.items = ocm.items;
  }

  static async start(bundle: string, items = ocmItems()): Promise<Stage> {
    const ocm = await FakeOcmServer.start({ ...CLIENT, items });
    const aws = await AwsStandIn.start({ policyArn: POLICY_ARN, parameter: { name: PARAMETER, value: JSON.stringify(CLIENT) } });
    const dynamo = await LocalDynamo.start();
    const stage = new Stage(ocm, aws, dynamo, bundle);
    await stage.policyMatchesList();
    return stage;
  }

  /**
   * The policy holds exactly what the list renders to, and the state table is empty: a sync finds nothing to
   * write (the first one adopts the policy into the table). Other policies (fan-out) are dropped.
   */
  async policyMatchesList(): Promise<void> {
    this.aws.removeOtherPolicies();
    this.aws.reset(documentFor(this.items), {});
    await this.dynamo.reset();
  }

  /** OCM gains one trusted IP, so the next sync writes a new version. */
  addTrustedIp(): void {
    this.added++;
    const id = `203.0.113.${this.added % 250}`;
    this.items = [...this.items.filter((i) => i.id !== id), { kind: 'TrustedIp', id, enabled: true }];
    this.ocm.items = this.items;
  }

  /** Every request the three servers (OCM, AWS stand-in, DynamoDB) have received so far. */
  counts(): CallCounts {
    const counts: CallCounts = new Map();
    const add = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const r of this.ocm.requests) add(r.route === 'token' ? 'SSO token' : r.route === 'api' ? 'OCM page' : 'OCM other');
    for (const c of this.aws.calls) add(c.action);
    for (const op of this.dynamo.calls) add(op);
    return counts;
  }

  /**
   * The environment the stack gives the function, pointed at the stand-ins; nothing from this machine.
   * `overrides` set variables on top (undefined: unset).
   */
  env(mode: 'require' | 'invoke' | 'ipc', nodeOptions = '--enable-source-maps', overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.home,
      NODE_OPTIONS: nodeOptions,
      BENCH_BUNDLE: this.bundle,
      BENCH_MODE: mode,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'ASIABENCHSTANDIN0000',
      AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key-0000000000000000',
      AWS_SESSION_TOKEN: 'bench-session-token',
      AWS_CONFIG_FILE: path.join(this.home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(this.home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: this.aws.url,
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamo.env().AWS_ENDPOINT_URL_DYNAMODB,
      STATE_TABLE: this.dynamo.env().STATE_TABLE,
      AWS_LAMBDA_FUNCTION_NAME: 'allowlist-sync',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      POLICY_ARN,
      ALERT_TOPIC_ARN: TOPIC_ARN,
      ALLOWLIST_NAME: 'rosa-trusted-ips',
      OCM_CREDENTIALS_PARAMETER: PARAMETER,
      OCM_API_URL: this.ocm.apiUrl,
      OCM_TOKEN_URL: this.ocm.tokenUrl,
      POWERTOOLS_SERVICE_NAME: 'rosa-trusted-ips',
      POWERTOOLS_METRICS_NAMESPACE: 'AllowlistSync',
    };
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    return env;
  }

  async close(): Promise<void> {
    await Promise.all([this.ocm.close(), this.aws.close(), this.dynamo.stop()]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** The calls between two snapshots, e.g. "OCM page, GetPolicy ×3". */
export function callsBetween(before: CallCounts, after: CallCounts): { total: number; detail: string } {
  const parts: string[] = [];
  let total = 0;
  for (const [key, count] of after) {
    const n = count - (before.get(key) ?? 0);
    if (n > 0) {
      parts.push(n === 1 ? key : `${key} ×${n}`);
      total += n;
    }
  }
  return { total, detail: parts.join(', ') };
}
