/**
 * A local stand-in for what the CLI's remote mode calls, on 127.0.0.1 and an ephemeral port, reached through
 * AWS_ENDPOINT_URL: Lambda `Invoke` (REST JSON: POST /2015-03-31/functions/NAME/invocations) answered by a real
 * handler function the test gives, and CloudFormation `DescribeStacks` (query protocol, XML) for the stacks the
 * test declares (their `FunctionName` output). Records every request with its SigV4 scope and access key, so a
 * test sees which region and credentials the CLI used.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IAMClient } from '@aws-sdk/client-iam';
import type { Context } from 'aws-lambda';
import { createHandler } from '../../lambda/handler';

/** One request as received. */
export interface StandInRequest {
  service: string;
  region: string;
  accessKeyId: string;
  /** `Invoke FUNCTION` or the query action. */
  operation: string;
  /** Invoke: the event as sent. */
  event?: unknown;
}

/** A function: the event in, its result out (a throw is the function's error, as Lambda reports one). */
export type StandInFunction = (event: unknown) => Promise<unknown>;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class LambdaStandIn {
  readonly requests: StandInRequest[] = [];
  readonly functions = new Map<string, StandInFunction>();
  /** Stack name -> its `FunctionName` output. */
  readonly stacks = new Map<string, string>();
  private server!: Server;

  static async start(): Promise<LambdaStandIn> {
    const standIn = new LambdaStandIn();
    standIn.server = createServer((req, res) => {
      void standIn.handle(req).then(({ status, headers, body }) => {
        res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const body = await readBody(req);
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
    const [accessKeyId, region, service] = scope ? [scope[1], scope[2], scope[3]] : ['', '', 'unknown'];
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    if (invoke) {
      const name = decodeURIComponent(invoke[1]);
      const event: unknown = body === '' ? {} : JSON.parse(body);
      this.requests.push({ service, region, accessKeyId, operation: `Invoke ${name}`, event });
      const fn = this.functions.get(name);
      if (!fn) {
        return { status: 404, headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' }, body: JSON.stringify({ Type: 'User', Message: `Function not found: ${name}` }) };
      }
      try {
        return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify((await fn(event)) ?? null) };
      } catch (err) {
        const error = err as Error;
        return { status: 200, headers: { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' }, body: JSON.stringify({ errorType: error.name, errorMessage: error.message }) };
      }
    }
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? 'unknown';
    this.requests.push({ service, region, accessKeyId, operation: action });
    const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    const stackName = form.get('StackName') ?? '';
    const fnName = this.stacks.get(stackName);
    if (action !== 'DescribeStacks' || fnName === undefined) {
      const message = action === 'DescribeStacks' ? `Stack with id ${stackName} does not exist` : `Unsupported action ${action}`;
      return { status: 400, headers: { 'content-type': 'text/xml' }, body: `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>` };
    }
    const stack = `<member><StackName>${escapeXml(stackName)}</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${escapeXml(stackName)}/${randomUUID()}</StackId><CreationTime>2026-11-30T10:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs><member><OutputKey>FunctionName</OutputKey><OutputValue>${escapeXml(fnName)}</OutputValue></member></Outputs></member>`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks>${stack}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>` };
  }
}

/** What the deployed function is made of in a test: one managed policy on the IAM stand-in, a static list. */
export interface DeployedFunctionOptions {
  policyArn: string;
  /** The function's source: EXTRA_CIDRS (OCM off). */
  entries: readonly string[];
  /** The IAM stand-in's URL and the keys its client signs with. */
  iamEndpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  functionName?: string;
}

/**
 * The deployed function, as the stand-in runs it: the real handler (lambda/handler.ts) built from the environment the
 * stack would give it, its IAM client on the IAM stand-in, invoked with a Lambda context of two minutes.
 */
export function deployedFunction(options: DeployedFunctionOptions): StandInFunction {
  const functionName = options.functionName ?? 'allowlist-sync-fn';
  const handler = createHandler({
    env: { POLICY_ARN: options.policyArn, OCM_ENABLED: 'false', EXTRA_CIDRS: options.entries.join(','), ALLOWLIST_NAME: 'rosa-trusted-ips', AWS_LAMBDA_FUNCTION_NAME: functionName, POWERTOOLS_LOG_LEVEL: 'SILENT', POLICY_CHECKS: 'off' },
    clients: { iam: new IAMClient({ endpoint: options.iamEndpoint, region: 'us-east-1', credentials: options.credentials, maxAttempts: 1 }) },
  });
  const context = {
    functionName,
    awsRequestId: 'req-1',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    getRemainingTimeInMillis: () => 120_000,
  } as unknown as Context;
  return (event) => handler(event, context);
}
