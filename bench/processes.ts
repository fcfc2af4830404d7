/**
 * The function's processes: a fresh `node` per cold start that loads bench/out's bundle the way Lambda does
 * (require, then invoke `handler`) with the environment a Stage gives it, a warm process invoked on demand, and
 * a bare `node`. Each reports on fd 3; the parent only times and, for memory, watches from outside.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Stage } from './stage';

/** What one invocation reported from inside the function's process. */
export interface InvokeReport {
  status: string;
  /** With ALLOWLIST_TARGETS: each target's status, in target order. */
  targets?: string[];
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
  let status, targets;
  try {
    const result = await handler({}, context());
    status = result.status;
    if (Array.isArray(result.targets)) targets = result.targets.map((t) => t.status);
  } catch (err) { status = 'error: ' + (err && err.message); }
  return { status, targets, ms: performance.now() - start, requireMs, maxRssKb: process.resourceUsage().maxRSS, uptimeMs: performance.now() };
}
const mode = process.env.BENCH_MODE;
if (mode === 'require') require('node:fs').writeSync(3, JSON.stringify({ requireMs, uptimeMs: performance.now() }));
if (mode === 'invoke') invoke().then((r) => { require('node:fs').writeSync(3, JSON.stringify(r)); process.exit(0); });
if (mode === 'ipc') {
  process.on('message', (m) => { if (m === 'exit') process.exit(0); else invoke().then((r) => process.send(r)); });
  process.send({ ready: true });
}
`;

/**
 * Runs a command and, once it has exited, prints the peak RSS of its process (ru_maxrss of the waited-for child,
 * KiB on Linux) on stderr as `BENCH_PEAK_RSS_KIB=<n>`. fd 3 is passed through for the child's report. Python
 * is itself forked from this (large) process, but the child it forks inherits only Python's own small peak.
 */
const PEAK_RSS_WRAPPER =
  'import resource,subprocess,sys\n' +
  'r = subprocess.run(sys.argv[1:], pass_fds=(3,))\n' +
  'print("BENCH_PEAK_RSS_KIB=%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n' +
  'sys.exit(r.returncode)\n';

/** How a `node` process is started. */
type Launch = 'direct' | 'shell' | 'peak-rss';

/**
 * `node` with these arguments. `shell`: through a small shell; Linux keeps a process's maxRSS across exec, so a
 * node forked straight from this (large) process starts with this process's RSS as its peak, while one forked by
 * `sh` inherits only the shell's few megabytes, as on Lambda, whose runtime starts small. `peak-rss`: under
 * PEAK_RSS_WRAPPER, which measures the whole process from outside until it exits.
 */
function nodeCommand(args: string[], launch: Launch): [string, string[]] {
  if (launch === 'shell') return ['/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, ...args]];
  if (launch === 'peak-rss') return ['python3', ['-c', PEAK_RSS_WRAPPER, process.execPath, ...args]];
  return [process.execPath, args];
}

/** What a whole process gave: wall time from spawn to exit, its fd 3, and (peak-rss) its peak RSS in KiB. */
export interface ProcessResult {
  wallMs: number;
  report: string;
  peakRssKib?: number;
}

/** Wall time of a whole `node` process from spawn to exit, and what it wrote to fd 3. */
export function timeProcess(args: string[], env: NodeJS.ProcessEnv, launch: Launch = 'direct'): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const [command, argv] = nodeCommand(args, launch);
    const child = spawn(command, argv, { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let report = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (c: Buffer) => (report += c.toString()));
    child.on('error', reject);
    // Timed to its exit; answered once its pipes are drained (the wrapper prints its figure just before it exits).
    let exited = started;
    child.on('exit', () => (exited = process.hrtime.bigint()));
    child.on('close', (code) => {
      const wallMs = Number(exited - started) / 1e6;
      if (code !== 0) return reject(new Error(`node ${args[0]} exited with ${code}: ${stderr.slice(-2000)}`));
      if (launch !== 'peak-rss') return resolve({ wallMs, report });
      const peak = /BENCH_PEAK_RSS_KIB=(\d+)/.exec(stderr)?.[1];
      if (!peak) return reject(new Error(`the peak RSS wrapper printed no figure: ${stderr.slice(-2000)}`));
      resolve({ wallMs, report, peakRssKib: Number(peak) });
    });
  });
}

/** Options of a cold start. */
export interface ColdStartOptions {
  /** NODE_OPTIONS; default the stack's `--enable-source-maps`. */
  nodeOptions?: string;
  /** Through `sh` (its in-process maxRSS is its own), or under the peak-RSS wrapper. */
  launch?: Launch;
  /** Variables set (or, undefined, unset) on top of the Stage's environment. */
  env?: Record<string, string | undefined>;
}

/** A cold start of the bundle: `require` only. */
export async function coldRequire(stage: Stage, options: ColdStartOptions = {}): Promise<{ wallMs: number; report: RequireReport }> {
  const { wallMs, report } = await timeProcess(['-e', DRIVER], stage.env('require', options.nodeOptions, options.env), options.launch);
  return { wallMs, report: JSON.parse(report) as RequireReport };
}

/** A cold start of the bundle: `require` + one invocation. */
export async function coldStart(stage: Stage, options: ColdStartOptions = {}): Promise<{ wallMs: number; report: InvokeReport; peakRssKib?: number }> {
  const { wallMs, report, peakRssKib } = await timeProcess(['-e', DRIVER], stage.env('invoke', options.nodeOptions, options.env), options.launch);
  return { wallMs, report: JSON.parse(report) as InvokeReport, ...(peakRssKib === undefined ? {} : { peakRssKib }) };
}

/** A bare `node -e` with the function's environment, reporting only its uptime at the end of its script. */
export async function bareNode(stage: Stage, launch: Launch = 'direct'): Promise<{ wallMs: number; uptimeMs: number; maxRssKb: number; peakRssKib?: number }> {
  const script = 'require("node:fs").writeSync(3, JSON.stringify({ uptimeMs: performance.now(), maxRssKb: process.resourceUsage().maxRSS }))';
  const { wallMs, report, peakRssKib } = await timeProcess(['-e', script], stage.env('require'), launch);
  return { wallMs, ...(JSON.parse(report) as { uptimeMs: number; maxRssKb: number }), ...(peakRssKib === undefined ? {} : { peakRssKib }) };
}

/** A function instance kept warm: one process, invoked on demand. */
export class WarmFunction {
  private constructor(private readonly child: ChildProcess) {}

  static async start(stage: Stage): Promise<WarmFunction> {
    const [command, argv] = nodeCommand(['-e', DRIVER], 'shell');
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
