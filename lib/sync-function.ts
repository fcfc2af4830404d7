import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULTS } from './defaults';

const PROJECT_ROOT = path.join(__dirname, '..');

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
 * The sync function: lambda/handler.ts bundled locally by esbuild, with its own log group.
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
    super(scope, id, {
      description: 'allowlist-sync: keeps an IP allowlist IAM policy in sync with its source',
      entry: path.join(PROJECT_ROOT, 'lambda', 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
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
