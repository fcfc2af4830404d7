import type { CloudFormationClient, StackInstanceSummary } from '@aws-sdk/client-cloudformation';
import { SyncError, describeError } from '../errors';
import { awsErrorCode } from './iam-client';

// Which accounts a fleet covers: every account with a stack instance of the spoke StackSet that is CURRENT
// (cloudformation:ListStackInstances, all pages, in the function's region, where the StackSet lives).

/** An account whose instances are none of them CURRENT: left out of this run, and said so. */
export interface SkippedInstance {
  account: string;
  /** Each of its instances' region and status, e.g. `eu-west-1 OUTDATED (FAILED)`. */
  instances: string[];
  /** CloudFormation's StatusReason of the first instance that gives one (clipped). */
  reason?: string;
}

/** The accounts of a StackSet's instances. */
export interface StackSetAccounts {
  /** Accounts with at least one CURRENT instance, once each, in the order listed. */
  current: string[];
  skipped: SkippedInstance[];
}

/** More pages than a StackSet has (100 instances a page; an organization has at most a few thousand accounts). */
const MAX_PAGES = 1_000;

/** The SDK's CloudFormation module, loaded on first use only (a deployment without a StackSet fleet never loads it). */
function cloudFormationModule(): typeof import('@aws-sdk/client-cloudformation') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation');
}

/** A CloudFormation client for the function's region (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDFORMATION honoured by the SDK). */
export function createCloudFormationClient(): CloudFormationClient {
  return new (cloudFormationModule().CloudFormationClient)({});
}

function listFailure(err: unknown, stackSetName: string, callAs: string): SyncError {
  const code = awsErrorCode(err) ?? 'Error';
  const detail = describeError(err);
  const call = `cloudformation:ListStackInstances on StackSet ${stackSetName} (CallAs ${callAs})`;
  if (code === 'StackSetNotFound') {
    return new SyncError(
      'stackset-not-found',
      `${call}: the StackSet does not exist (${detail}).`,
      'Check the fleet entry\'s "accounts": "stackset:NAME", and its "callAs": a StackSet seen as a delegated administrator needs "DELEGATED_ADMIN".',
      { cause: err },
    );
  }
  if (code.startsWith('AccessDenied')) {
    return new SyncError('stackset-access-denied', `${call} was denied: ${detail}.`, 'Allow cloudformation:ListStackInstances on this StackSet for the function\'s role (and register the hub account as a delegated administrator when callAs is DELEGATED_ADMIN).', { cause: err });
  }
  return new SyncError('stackset-error', `${call} failed: ${code}: ${detail}.`, 'The next run tries again.', { cause: err });
}

/** Every account with a CURRENT instance of the StackSet (all pages), and those left out with their instances' status. */
export async function stackSetAccounts(cfn: CloudFormationClient, stackSetName: string, callAs: 'SELF' | 'DELEGATED_ADMIN'): Promise<StackSetAccounts> {
  const { ListStackInstancesCommand } = cloudFormationModule();
  const summaries: StackInstanceSummary[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === MAX_PAGES) throw new SyncError('stackset-error', `cloudformation:ListStackInstances on StackSet ${stackSetName} returned more than ${MAX_PAGES} pages; refusing to go on.`);
    let page;
    try {
      page = await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSetName, CallAs: callAs, MaxResults: 100, ...(token ? { NextToken: token } : {}) }));
    } catch (err) {
      throw listFailure(err, stackSetName, callAs);
    }
    summaries.push(...(page.Summaries ?? []));
    token = page.NextToken || undefined;
    if (token === undefined) break;
    if (seen.has(token)) throw new SyncError('stackset-error', `cloudformation:ListStackInstances on StackSet ${stackSetName} returned the same page token twice; refusing to loop on it.`);
    seen.add(token);
  }
  const current: string[] = [];
  const covered = new Set<string>();
  const others = new Map<string, string[]>();
  const reasons = new Map<string, string>();
  for (const s of summaries) {
    const account = s.Account ?? '';
    // Whatever the answer holds becomes part of an ARN the function assumes: only an account id will do.
    if (!/^\d{12}$/.test(account)) {
      throw new SyncError('stackset-error', `cloudformation:ListStackInstances on StackSet ${stackSetName} listed an instance whose account is not a 12-digit id: ${JSON.stringify(s.Account ?? null)}.`);
    }
    if (s.Status === 'CURRENT') {
      if (!covered.has(account)) current.push(account);
      covered.add(account);
    } else {
      others.set(account, [...(others.get(account) ?? []), `${s.Region ?? '?'} ${s.Status ?? 'unknown'}${s.StackInstanceStatus?.DetailedStatus ? ` (${s.StackInstanceStatus.DetailedStatus})` : ''}`]);
      if (s.StatusReason && !reasons.has(account)) reasons.set(account, s.StatusReason.replace(/\s+/g, ' ').trim().slice(0, 300));
    }
  }
  // An account CURRENT in one region and OUTDATED in another is covered (IAM is global).
  const skipped = [...others].filter(([account]) => !covered.has(account)).map(([account, instances]) => ({ account, instances, ...(reasons.has(account) ? { reason: reasons.get(account) as string } : {}) }));
  return { current, skipped };
}
