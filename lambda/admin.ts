import { IAMClient } from '@aws-sdk/client-iam';
import { Plan, PlanOptions, PolicyShape, formatCidr, isApprovable, managedPolicyShape, normalize, parseEntry, parsePolicy, plan } from './allowlist';
import { ALERT_STATE_TAGS } from './alerts';
import { SyncError } from './errors';
import { ManagedPolicyDescription, describeManagedPolicy, getPolicyVersionDocument, setDefaultPolicyVersion } from './targets/managed-policy';

/** What `allowlist-sync status` reports about a managed policy. */
export interface PolicyStatus extends ManagedPolicyDescription {
  /** The allowlist in the default version (empty when it holds none). */
  entries: string[];
  /** When the default version was made (ISO 8601). */
  defaultCreatedAt?: string;
  /** The last alert state kept in the policy's tags, if any. */
  alertState?: { status: string; key?: string; at?: string };
}

/** The allowlist of a document, canonical (`192.0.2.1` reads as `192.0.2.1/32`); unreadable entries as written. */
function entriesOf(document: string, shape: PolicyShape): string[] {
  return (shape.extract(parsePolicy(document)) ?? []).map((value) => {
    const parsed = parseEntry(value);
    return parsed.ok ? formatCidr(parsed.cidr) : value;
  });
}

/** Default version, its entries, when it was made, the versions kept, and the last alert state. */
export async function policyStatus(iam: IAMClient, policyArn: string, shape: PolicyShape = managedPolicyShape()): Promise<PolicyStatus> {
  const description = await describeManagedPolicy(iam, policyArn);
  const document = await getPolicyVersionDocument(iam, policyArn, description.defaultVersionId);
  const alertStatus = description.tags[ALERT_STATE_TAGS.status];
  const createdAt = description.versions.find((v) => v.isDefault)?.createDate;
  return {
    ...description,
    entries: entriesOf(document, shape),
    ...(createdAt ? { defaultCreatedAt: createdAt } : {}),
    ...(alertStatus
      ? { alertState: { status: alertStatus, key: description.tags[ALERT_STATE_TAGS.key], at: description.tags[ALERT_STATE_TAGS.at] } }
      : {}),
  };
}

/** The outcome of a rollback. */
export interface RollbackResult {
  status: 'rolled-back' | 'refused' | 'unchanged';
  fromVersionId: string;
  toVersionId: string;
  /** The change the rollback makes, judged by the same guards as a sync. */
  plan: Plan;
  forced: boolean;
}

/**
 * Makes an earlier version the default again: `to`, or else the newest version older than the default.
 * The change is judged by the sync's guards (a version holding a catch-all or an empty list is refused);
 * `force` overrides approvable refusals only. Nothing is written on refusal.
 */
export async function rollback(
  iam: IAMClient,
  policyArn: string,
  options: { to?: string; force?: boolean; plan?: PlanOptions } = {},
): Promise<RollbackResult> {
  const description = await describeManagedPolicy(iam, policyArn);
  const from = description.defaultVersionId;
  const older = description.versions.filter((v) => !v.isDefault);
  const to = options.to ?? older[0]?.versionId;
  if (!to) {
    throw new SyncError('rollback-no-version', `${policyArn} has no version other than the default ${from}.`, 'There is nothing to roll back to.');
  }
  if (!description.versions.some((v) => v.versionId === to)) {
    const kept = description.versions.map((v) => v.versionId).join(', ');
    throw new SyncError('policy-version-not-found', `Version ${to} of ${policyArn} does not exist; IAM keeps ${kept}.`, 'Pick one of those with --to.');
  }
  const shape = options.plan?.shape ?? managedPolicyShape();
  const [current, target] = await Promise.all([
    getPolicyVersionDocument(iam, policyArn, from),
    getPolicyVersionDocument(iam, policyArn, to),
  ]);
  const entries = entriesOf(target, shape).map((value) => ({ value, source: `version ${to}` }));
  const p = plan({ document: current, versionId: from }, normalize(entries), { ...options.plan, shape });
  const base = { fromVersionId: from, toVersionId: to, plan: p };
  if (to === from) return { ...base, status: 'unchanged', forced: false };
  const forced = p.status === 'refused' && options.force === true && isApprovable(p);
  if (p.status === 'refused' && !forced) return { ...base, status: 'refused', forced: false };
  await setDefaultPolicyVersion(iam, policyArn, to);
  return { ...base, status: 'rolled-back', forced };
}
