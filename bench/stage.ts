/**
 * The stage the bundled function runs on, offline: FakeOcmServer (test/helpers) for Red Hat SSO + OCM, the AWS
 * stand-in for IAM, SSM and SNS, and a fresh `node` process per cold start that loads bench/out's bundle the
 * way Lambda does (require, then invoke `handler`), with the environment the stack gives the function.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { managedPolicyShape, normalize, plan } from '../lambda/allowlist';
import { FakeOcmServer, type FakeTrustedIp } from '../test/helpers/ocm-server';
import { AwsStandIn } from '../test/helpers/aws-stand-in';
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

/** Requests seen so far: AWS by action (`GetPolicy`...), Red Hat as `SSO token` and `OCM page`. */
export type CallCounts = Map<string, number>;

/** What one invocation reported from inside the function's process. */
export interface InvokeReport {
  status: string;
  /** The invocation alone. */
  ms: number;
  /** `require(bundle)` alone. */
  requireMs: number;
  /** process.resourceUsage().maxRSS after the invocation, in kB. */
  maxRssKb: number;
  /** Since the process started (performance.now()). */
  uptimeMs: number;
}

/** What a `require`-only process reports: the require, and the time since the process started. */
export interface RequireReport {
  requireMs: number;
  uptimeMs: number;
}

/**
 * The process the function runs in. `require`: load the bundle, report on fd 3, exit; `invoke`: load it,
 * invoke once, report on fd 3, exit; `ipc`: load it, then invoke on every message from the parent.
 */
const DRIVER = `
const t0 = performance.now();
const handler = require(process.env.BENCH_BUNDLE).handler;
const requireMs = performance.now() - t0;
let n = 0;
function context() {
  n++;
  return { callbackWaitsForEmptyEventLoop: true, functionName: 'allowlist-sync', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:allowlist-sync', memoryLimitInMB: '256',
    awsRequestId: 'bench-' + n, logGroupName: '/aws/lambda/allowlist-sync', logStreamName: 'bench',
    getRemainingTimeInMillis: () => 60000, done() {}, fail() {}, succeed() {} };
}
async function invoke() {
  const start = performance.now();
  let status;
  try { status = (await handler({}, context())).status; } catch (err) { status = 'error: ' + (err && err.message); }
  return { status, ms: performance.now() - start, requireMs, maxRssKb: process.resourceUsage().maxRSS, uptimeMs: performance.now() };
}
const mode = process.env.BENCH_MODE;
if (mode === 'require') require('node:fs').writeSync(3, JSON.stringify({ requireMs, uptimeMs: performance.now() }));
if (mode === 'invoke') invoke().then((r) => { require('node:fs').writeSync(3, JSON.stringify(r)); process.exit(0); });
if (mode === 'ipc') {
  process.on('message', (m) => { if (m === 'exit') process.exit(0); else invoke().then((r) => process.send(r)); });
  process.send({ ready: true });
}
`;

/** The servers, the list they serve, and the environment of the function. */
export class Stage {
  items: FakeTrustedIp[];
  private added = 0;
  private readonly home = mkdtempSync(path.join(tmpdir(), 'allowlist-sync-bench-'));

  private constructor(
    readonly ocm: FakeOcmServer,
    readonly aws: AwsStandIn,
    readonly bundle: string,
  ) {
    this.items = ocm.items;
  }

  static async start(bundle: string, items = ocmItems()): Promise<Stage> {
    const ocm = await FakeOcmServer.start({ ...CLIENT, items });
    const aws = await AwsStandIn.start({ policyArn: POLICY_ARN, parameter: { name: PARAMETER, value: JSON.stringify(CLIENT) } });
    const stage = new Stage(ocm, aws, bundle);
    stage.policyMatchesList();
    return stage;
  }

  /** The policy holds exactly what the list renders to, and the alert state is `ok`: a sync finds nothing to do. */
  policyMatchesList(): void {
    this.aws.reset(documentFor(this.items), {});
  }

  /** OCM gains one trusted IP, so the next sync writes a new version. */
  addTrustedIp(): void {
    this.added++;
    const id = `203.0.113.${this.added % 250}`;
    this.items = [...this.items.filter((i) => i.id !== id), { kind: 'TrustedIp', id, enabled: true }];
    this.ocm.items = this.items;
  }

  /** Every request both servers have received so far. */
  counts(): CallCounts {
    const counts: CallCounts = new Map();
    const add = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const r of this.ocm.requests) add(r.route === 'token' ? 'SSO token' : r.route === 'api' ? 'OCM page' : 'OCM other');
    for (const c of this.aws.calls) add(c.action);
    return counts;
  }

  /** The environment the stack gives the function, pointed at the stand-ins; nothing from this machine. */
  env(mode: 'require' | 'invoke' | 'ipc', nodeOptions = '--enable-source-maps'): NodeJS.ProcessEnv {
    return {
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
  }

  async close(): Promise<void> {
    await Promise.all([this.ocm.close(), this.aws.close()]);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/**
 * `node` with these arguments, started through a small shell when `viaShell`. Linux keeps a process's maxRSS
 * across exec: a node forked straight from this (large) process starts with this process's RSS as its peak.
 * Forked by `sh` instead, it inherits only the shell's few megabytes, as on Lambda, whose runtime starts small.
 */
function nodeCommand(args: string[], viaShell: boolean): [string, string[]] {
  return viaShell ? ['/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, ...args]] : [process.execPath, args];
}

/** Wall time of a whole `node` process from spawn to exit, and what it wrote to fd 3. */
export function timeProcess(args: string[], env: NodeJS.ProcessEnv, viaShell = false): Promise<{ wallMs: number; report: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const [command, argv] = nodeCommand(args, viaShell);
    const child = spawn(command, argv, { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let report = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (c: Buffer) => (report += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`node ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve({ wallMs, report });
    });
  });
}

/** Options of a cold start. */
export interface ColdStartOptions {
  /** NODE_OPTIONS; default the stack's `--enable-source-maps`. */
  nodeOptions?: string;
  viaShell?: boolean;
}

/** A cold start of the bundle: `require` only. */
export async function coldRequire(stage: Stage, options: ColdStartOptions = {}): Promise<{ wallMs: number; report: RequireReport }> {
  const { wallMs, report } = await timeProcess(['-e', DRIVER], stage.env('require', options.nodeOptions), options.viaShell);
  return { wallMs, report: JSON.parse(report) as RequireReport };
}

/** A cold start of the bundle: `require` + one invocation. */
export async function coldStart(stage: Stage, options: ColdStartOptions = {}): Promise<{ wallMs: number; report: InvokeReport }> {
  const { wallMs, report } = await timeProcess(['-e', DRIVER], stage.env('invoke', options.nodeOptions), options.viaShell);
  return { wallMs, report: JSON.parse(report) as InvokeReport };
}

/** A bare `node -e` with the function's environment, reporting only its uptime at the end of its script. */
export async function bareNode(stage: Stage, viaShell = false): Promise<{ wallMs: number; uptimeMs: number; maxRssKb: number }> {
  const script = 'require("node:fs").writeSync(3, JSON.stringify({ uptimeMs: performance.now(), maxRssKb: process.resourceUsage().maxRSS }))';
  const { wallMs, report } = await timeProcess(['-e', script], stage.env('require'), viaShell);
  return { wallMs, ...(JSON.parse(report) as { uptimeMs: number; maxRssKb: number }) };
}

/** A function instance kept warm: one process, invoked on demand. */
export class WarmFunction {
  private constructor(private readonly child: ChildProcess) {}

  static async start(stage: Stage): Promise<WarmFunction> {
    const [command, argv] = nodeCommand(['-e', DRIVER], true);
    const child = spawn(command, argv, { env: stage.env('ipc'), stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the function's process exited with ${code} before it was ready`)));
    });
    return new WarmFunction(child);
  }

  invoke(): Promise<InvokeReport> {
    return new Promise((resolve, reject) => {
      const died = (code: number | null): void => reject(new Error(`the function's process exited with ${code} during an invocation`));
      this.child.once('exit', died);
      this.child.once('message', (m) => {
        this.child.off('exit', died);
        resolve(m as InvokeReport);
      });
      this.child.send('invoke');
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send('exit');
    await exited;
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
