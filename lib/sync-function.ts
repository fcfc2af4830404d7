import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULTS } from './defaults';

/** Lock files NodejsFunction knows, in its order of preference within one directory. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json'] as const;

/** Where esbuild finds the function's code: NodejsFunction's `entry`, `projectRoot`, `depsLockFilePath` and tsconfig. */
export interface FunctionCode {
  /** lambda/handler.ts, in the repository and in the package (which ships the function's TypeScript sources). */
  readonly entry: string;
  /** esbuild's working directory: the repository, or the CDK app the package is installed in. */
  readonly projectRoot: string;
  /** The lock file in projectRoot (it picks the package manager that runs esbuild). */
  readonly depsLockFilePath: string;
  /** The project's tsconfig.json, so an app's own tsconfig never changes how the function compiles. */
  readonly tsconfig: string;
}

/**
 * Finds the function's code from the directory this module runs from: lib/ (TypeScript, in the repository) or
 * dist/lib/ (compiled, installed from the package). Both bundle the same lambda/handler.ts with the same tsconfig, so
 * the function deployed from the package is the one tested and measured here (bundling tsc's CommonJS output instead
 * gives a bundle 25% larger: its interop helpers defeat esbuild's tree shaking). In the repository the lock file is the
 * repository's own; installed, the package has none (npm never packs one), so the nearest lock file above the package,
 * the CDK app's, gives the project root, as NodejsFunction itself would find it: esbuild then runs in the app, and
 * resolves the function's dependencies wherever the app's package manager put them.
 */
export function functionCode(moduleDir: string = __dirname): FunctionCode {
  const repository = path.resolve(moduleDir, '..');
  if (existsSync(path.join(repository, 'lambda', 'handler.ts'))) {
    return {
      entry: path.join(repository, 'lambda', 'handler.ts'),
      projectRoot: repository,
      depsLockFilePath: path.join(repository, 'package-lock.json'),
      tsconfig: path.join(repository, 'tsconfig.json'),
    };
  }
  const packageRoot = path.resolve(moduleDir, '..', '..');
  const entry = path.join(packageRoot, 'lambda', 'handler.ts');
  const tsconfig = path.join(packageRoot, 'tsconfig.json');
  if (!existsSync(entry) || !existsSync(tsconfig)) {
    throw new Error(`allowlist-sync: the sync function's sources are missing: ${existsSync(entry) ? tsconfig : entry} does not exist. Reinstall the package.`);
  }
  for (let dir = packageRoot; ; dir = path.dirname(dir)) {
    const lock = LOCK_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (lock) return { entry, projectRoot: dir, depsLockFilePath: lock, tsconfig };
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(
    `allowlist-sync: no lock file (${LOCK_FILES.join(', ')}) in ${packageRoot} or any folder above it. The sync function is ` +
      "bundled with esbuild from your CDK app: install the app's dependencies (npm install, which writes package-lock.json) and synthesize again.",
  );
}

/** Props of {@link SyncFunction}. */
export interface SyncFunctionProps {
  /** Execution role; the caller grants exactly what the function needs. */
  readonly role: iam.IRole;
  /** Environment variables: the contract with lambda/config.ts. */
  readonly environment: Record<string, string>;
  /** Memory in MB. @default 256 */
  readonly memorySize?: number;
  /** Function timeout. @default 60 seconds */
  readonly timeout?: Duration;
  /** Retention of the function's log group. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** Drop queued asynchronous invocations older than this. @default 6 hours (Lambda's own default) */
  readonly maxEventAge?: Duration;
}

/**
 * The sync function: lambda/handler.ts bundled locally by esbuild (in the repository or installed from the package), with its own log group.
 * Like Powertools' FunctionWithLogGroup, it bakes in the runtime choices so the construct
 * that uses it only decides what the function may do and how it is configured.
 */
export class SyncFunction extends NodejsFunction {
  /** The log group the function writes to (retention set, kept when the stack is deleted). */
  public readonly logs: LogGroup;

  constructor(scope: Construct, id: string, props: SyncFunctionProps) {
    // Created before the function so it can be passed in; named by CloudFormation, so a
    // retained group from a previous install never blocks a new one.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? (DEFAULTS.logRetentionDays as RetentionDays),
      // Logs are the audit trail of every policy change: keep them when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const code = functionCode();
    super(scope, id, {
      description: 'allowlist-sync: keeps an IP allowlist IAM policy in sync with its source',
      entry: code.entry,
      projectRoot: code.projectRoot,
      depsLockFilePath: code.depsLockFilePath,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      // From the benchmark (npm run bench): a full cold sync peaks at 78 MiB RSS until the process exits, which
      // 128 MB would hold, but Lambda gives CPU in proportion to memory and cold init is CPU-bound (~220 ms on a
      // full core), so 256 MB.
      // 60 s: the OCM fetch is bounded at 40 s, IAM writes and alerts take a few seconds.
      memorySize: props.memorySize ?? DEFAULTS.memorySize,
      timeout: props.timeout ?? Duration.seconds(DEFAULTS.timeoutSeconds),
      // One writer at a time: runs never overlap, extra invocations wait in Lambda's async queue.
      reservedConcurrentExecutions: 1,
      // The next scheduled run is the retry; Lambda's own retries of a failed run would only
      // repeat its alert.
      retryAttempts: 0,
      maxEventAge: props.maxEventAge,
      role: props.role,
      logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      // The version the deploy-time trigger invokes is replaced on every change; old ones go.
      currentVersionOptions: { removalPolicy: RemovalPolicy.DESTROY },
      bundling: {
        tsconfig: code.tsconfig,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        // The nodejs24.x runtime carries AWS SDK v3: bundling it too made the bundle 1.46 MB instead of
        // 0.66 MB (npm run bench), with a slower cold start. The code uses only long-stable SDK APIs.
        bundleAwsSDK: false,
        forceDockerBundling: false,
      },
    });
    this.logs = logGroup;
  }
}
