import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SyncError, describeError } from '../../lambda/errors';

// Remote mode (`--function NAME`): the command runs in the deployed function, as one of its events, so the
// deployed settings, guards, state and the one writer apply, not whatever this workstation's environment holds.
// NAME is the function's name or ARN, or the stack's name (its `FunctionName` output).

/** What the remote side needs: a Lambda client and a CloudFormation client (built lazily, from the ambient AWS config). */
export interface RemoteClients {
  lambda?: LambdaClient;
  cloudFormation?: CloudFormationClient;
}

/** The function's answer: its JSON result, or the error it threw. */
export interface RemoteAnswer {
  functionName: string;
  result: unknown;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);

/** The function a stack deployed: its `FunctionName` output. */
async function functionOfStack(client: CloudFormationClient, stackName: string): Promise<string | undefined> {
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'FunctionName')?.OutputValue;
  } catch (err) {
    if ((err as { name?: string }).name === 'ValidationError') return undefined; // no such stack
    throw err;
  }
}

async function invokeOnce(client: LambdaClient, functionName: string, event: Record<string, unknown>): Promise<unknown> {
  const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }));
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  let payload: unknown;
  try {
    payload = text === '' ? null : JSON.parse(text);
  } catch {
    throw new SyncError('remote', `The function ${functionName} answered with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}.`);
  }
  if (out.FunctionError) {
    const error = payload as { errorType?: string; errorMessage?: string } | null;
    throw new SyncError('remote', `The function ${functionName} failed: ${error?.errorMessage ?? text.slice(0, 500)}${error?.errorType ? ` (${error.errorType})` : ''}.`);
  }
  return payload;
}

/** Invokes the deployed function with one event; NAME may be the stack's name. */
export async function invokeRemote(name: string, event: Record<string, unknown>, clients: RemoteClients = {}): Promise<RemoteAnswer> {
  const lambda = clients.lambda ?? new LambdaClient({});
  try {
    return { functionName: name, result: await invokeOnce(lambda, name, event) };
  } catch (err) {
    if (!NOT_FOUND.has((err as { name?: string }).name ?? '')) throw err;
    const stackFunction = await functionOfStack(clients.cloudFormation ?? new CloudFormationClient({}), name).catch((stackErr: unknown) => {
      throw new SyncError('remote', `No function named ${name}, and its stack could not be read: ${describeError(stackErr)}.`);
    });
    if (!stackFunction) throw new SyncError('remote', `No function and no stack named ${name} (--function takes the function's name or ARN, or the stack's name).`);
    return { functionName: stackFunction, result: await invokeOnce(lambda, stackFunction, event) };
  }
}
