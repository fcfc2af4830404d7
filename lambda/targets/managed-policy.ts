import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  Policy,
  PolicyVersion,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import { MANAGED_POLICY_SIZE_LIMIT, decodePolicyDocument, policySize } from '../allowlist/policy';
import { SyncError, describeError } from '../errors';
import type { Log } from '../ports';
import { iamFailure, isAwsError, isIamQuotaError, tagRecord, uncertainWrite } from './iam-client';
import { listAll } from './paginate';
import { checkPolicyArn } from '../validate';
import { CurrentPolicy, Target, TargetRefusedError, WriteRequest, WriteResult } from '../ports';

export { createIamClient } from './iam-client';

/** IAM keeps at most this many versions of a managed policy; creating one more fails with LimitExceeded. */
export const MAX_POLICY_VERSIONS = 5;

/** One version of a managed policy, as the CLI shows it. */
export interface PolicyVersionInfo {
  versionId: string;
  isDefault: boolean;
  /** ISO 8601, when IAM gave one. */
  createDate?: string;
}

/** What the CLI's `status` shows about a managed policy. */
export interface ManagedPolicyDescription {
  arn: string;
  name: string;
  defaultVersionId: string;
  attachmentCount: number;
  /** Newest first. */
  versions: PolicyVersionInfo[];
  tags: Record<string, string>;
}

/** Options of `managedPolicyTarget`. */
export interface ManagedPolicyTargetOptions {
  /**
   * IAM is eventually consistent: right after CreatePolicyVersion, GetPolicy may still report the previous
   * default. While it does, the write is re-checked after each of these delays before calling it a conflict.
   */
  confirmDelaysMs?: readonly number[];
  log?: Log;
}

export { decodePolicyDocument } from '../allowlist/policy';

function checkArn(policyArn: string): void {
  if (checkPolicyArn(policyArn) !== undefined) {
    throw new SyncError(
      'policy-arn-invalid',
      `${JSON.stringify(policyArn)} is not an IAM customer managed policy ARN.`,
      'Expected arn:aws:iam::<12-digit account id>:policy/<optional path/>name.',
    );
  }
}

function versionNumber(versionId: string | undefined): number {
  const match = /^v(\d+)$/.exec(versionId ?? '');
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

/** Oldest first: by CreateDate, then by version number (v9 before v10). */
function byAge(a: PolicyVersion, b: PolicyVersion): number {
  const at = a.CreateDate?.getTime() ?? Number.MAX_SAFE_INTEGER;
  const bt = b.CreateDate?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return at - bt || versionNumber(a.VersionId) - versionNumber(b.VersionId);
}

function concurrentWriter(message: string): SyncError {
  return new SyncError(
    'concurrent-writer',
    message,
    'Someone or something else changed the policy while allowlist-sync was working on it. Nothing was overwritten; find out who (CloudTrail) and run again, which plans against the new version.',
  );
}

async function getPolicy(iam: IAMClient, policyArn: string): Promise<Policy> {
  let policy: Policy | undefined;
  try {
    policy = (await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }))).Policy;
  } catch (err) {
    throw iamFailure(err, 'iam:GetPolicy', policyArn);
  }
  if (!policy?.DefaultVersionId) throw new SyncError('iam-error', `IAM returned no default version for ${policyArn}.`);
  return policy;
}

async function defaultVersionId(iam: IAMClient, policyArn: string): Promise<string> {
  return (await getPolicy(iam, policyArn)).DefaultVersionId as string;
}

/** Every tag of a managed policy (ListPolicyTags, all pages). */
export async function listPolicyTags(iam: IAMClient, policyArn: string): Promise<Record<string, string>> {
  try {
    const tags = await listAll('iam:ListPolicyTags', (Marker) => iam.send(new ListPolicyTagsCommand({ PolicyArn: policyArn, Marker })), (page) => page.Tags);
    return tagRecord(tags);
  } catch (err) {
    throw iamFailure(err, 'iam:ListPolicyTags', policyArn);
  }
}

async function listVersions(iam: IAMClient, policyArn: string): Promise<PolicyVersion[]> {
  try {
    return await listAll('iam:ListPolicyVersions', (Marker) => iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn, Marker })), (page) => page.Versions);
  } catch (err) {
    throw iamFailure(err, 'iam:ListPolicyVersions', policyArn);
  }
}

/** The decoded document of one version of a managed policy. */
export async function getPolicyVersionDocument(iam: IAMClient, policyArn: string, versionId: string): Promise<string> {
  checkArn(policyArn);
  let document: string | undefined;
  try {
    document = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }))).PolicyVersion?.Document;
  } catch (err) {
    if (isAwsError(err, 'NoSuchEntity')) {
      throw new SyncError(
        'policy-version-not-found',
        `Version ${versionId} of ${policyArn} does not exist (${describeError(err)}).`,
        'List the versions that do with "allowlist-sync status"; IAM keeps only the last five.',
        { cause: err },
      );
    }
    throw iamFailure(err, 'iam:GetPolicyVersion', policyArn);
  }
  if (document === undefined) throw new SyncError('iam-error', `IAM returned no document for version ${versionId} of ${policyArn}.`);
  return decodePolicyDocument(document);
}

/** Makes `versionId` the default version of the policy (a rollback). */
export async function setDefaultPolicyVersion(iam: IAMClient, policyArn: string, versionId: string): Promise<void> {
  checkArn(policyArn);
  try {
    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
  } catch (err) {
    if (isAwsError(err, 'NoSuchEntity')) {
      throw new SyncError(
        'policy-version-not-found',
        `Cannot make ${versionId} the default of ${policyArn}: ${describeError(err)}.`,
        'List the versions that exist with "allowlist-sync status"; IAM keeps only the last five.',
        { cause: err },
      );
    }
    throw iamFailure(err, 'iam:SetDefaultPolicyVersion', policyArn);
  }
}

/** Name, default version, attachments, versions (newest first) and tags of a managed policy. */
export async function describeManagedPolicy(iam: IAMClient, policyArn: string): Promise<ManagedPolicyDescription> {
  checkArn(policyArn);
  const policy = await getPolicy(iam, policyArn);
  const versions = await listVersions(iam, policyArn);
  const tags = await listPolicyTags(iam, policyArn);
  return {
    arn: policy.Arn ?? policyArn,
    name: policy.PolicyName ?? policyArn.slice(policyArn.lastIndexOf('/') + 1),
    defaultVersionId: policy.DefaultVersionId ?? '',
    attachmentCount: policy.AttachmentCount ?? 0,
    versions: [...versions]
      .sort((a, b) => byAge(b, a))
      .map((v) => ({
        versionId: v.VersionId ?? '',
        isDefault: v.IsDefaultVersion ?? false,
        ...(v.CreateDate ? { createDate: v.CreateDate.toISOString() } : {}),
      })),
    tags,
  };
}

type CreateOutcome = { versionId: string } | { versionLimit: true };

/** The number of a version id (`v12` is 12). */
function versionOrder(versionId: string | undefined): number {
  return versionNumber(versionId);
}

/**
 * The policy as an allowlist target: reads the default version, writes a new default version.
 *
 * Version slots: old versions are pruned AFTER a successful create, keeping at most four, so the next create
 * always has a free slot and a failed create deletes nothing. Only a policy someone else filled to five needs a
 * prune first; then the deleted version is named in what the run reports. Never pruned: the default, and the
 * versions the request protects (the removal guard's baseline, a version an owed announcement names).
 * Never overwrites a default it did not plan against; versions others created between the base and ours are
 * named, never silently demoted.
 */
export function managedPolicyTarget(iam: IAMClient, policyArn: string, options: ManagedPolicyTargetOptions = {}): Target {
  checkArn(policyArn);
  const confirmDelays = options.confirmDelaysMs ?? [500, 1000, 2000];
  const log = options.log;

  /** Deletes the oldest versions that are neither the default nor protected until at most `keep` remain; returns those deleted. */
  async function prune(versions: readonly PolicyVersion[], keep: number, protect: readonly string[]): Promise<string[]> {
    const excess = versions.length - keep;
    if (excess <= 0) return [];
    const candidates = versions.filter((v) => !v.IsDefaultVersion && v.VersionId && !protect.includes(v.VersionId)).sort(byAge);
    const deleted: string[] = [];
    for (const victim of candidates.slice(0, excess)) {
      const versionId = victim.VersionId as string;
      try {
        await iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
        deleted.push(versionId);
        log?.info('deleted an old policy version', { policyArn, versionId, createDate: victim.CreateDate?.toISOString() });
      } catch (err) {
        // Someone else pruned it already: the room is made all the same.
        if (isAwsError(err, 'NoSuchEntity')) continue;
        // It became the default meanwhile: another writer is at work.
        if (isAwsError(err, 'DeleteConflict')) {
          throw concurrentWriter(`Version ${versionId} of ${policyArn} could not be deleted: ${describeError(err)}.`).withChanges(deleted.map((v) => `deleted version ${v}`));
        }
        throw iamFailure(err, 'iam:DeletePolicyVersion', policyArn).withChanges(deleted.map((v) => `deleted version ${v}`));
      }
    }
    if (deleted.length < excess) {
      log?.warn('could not prune down to the kept number of versions: the rest are the default or protected', { policyArn, keep, protect });
    }
    return deleted;
  }

  async function create(document: string): Promise<CreateOutcome> {
    try {
      const created = await iam.send(new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: document, SetAsDefault: true }));
      const versionId = created.PolicyVersion?.VersionId;
      if (!versionId) throw new SyncError('iam-error', `IAM created a version of ${policyArn} but did not say which.`, 'Check the policy with "allowlist-sync status".');
      return { versionId };
    } catch (err) {
      const message = describeError(err);
      if (isIamQuotaError(err)) {
        // IAM uses one error code for both limits; only the message tells them apart:
        // "Cannot exceed quota for PolicySize: 6144" vs "A managed policy can have up to 5 versions. ...".
        if (/size|characters/i.test(message)) throw new TargetRefusedError(`IAM refused the document as too large: ${message}`);
        if (/version/i.test(message)) return { versionLimit: true };
      }
      if (isAwsError(err, 'MalformedPolicyDocument')) {
        throw new SyncError('iam-malformed', `IAM rejected the policy document for ${policyArn}: ${message}.`, 'This is a bug in the rendered document; report it with the plan.', { cause: err });
      }
      if (isAwsError(err, 'ConcurrentModification')) throw concurrentWriter(`IAM reported a concurrent modification of ${policyArn}: ${message}.`);
      // A refusal IAM modelled (denied, throttled before it ran...) wrote nothing; anything else may have.
      if (isAwsError(err, 'AccessDenied', 'NoSuchEntity', 'InvalidInput', 'Throttling', 'LimitExceeded', 'ExpiredToken', 'InvalidClientTokenId')) throw iamFailure(err, 'iam:CreatePolicyVersion', policyArn);
      throw uncertainWrite(err, 'iam:CreatePolicyVersion', policyArn);
    }
  }

  /**
   * Lists the versions until ours reads back as the default (IAM is eventually consistent right after a create);
   * fails when another version became the default.
   */
  async function confirm(created: string, previous: string): Promise<PolicyVersion[]> {
    for (let attempt = 0; ; attempt++) {
      const versions = await listVersions(iam, policyArn);
      const now = versions.find((v) => v.IsDefaultVersion)?.VersionId;
      if (now === created) return versions;
      if ((now !== undefined && now !== previous) || attempt >= confirmDelays.length) {
        throw concurrentWriter(`allowlist-sync created ${created} of ${policyArn} as the default version, but the default is now ${now ?? 'unknown'}.`).withChanges([
          `created version ${created} (not the default now)`,
        ]);
      }
      await new Promise((resolve) => setTimeout(resolve, confirmDelays[attempt]));
    }
  }

  return {
    name: `iam:${policyArn}`,
    key: policyArn,
    versioned: true,

    async read(): Promise<CurrentPolicy> {
      const policy = await getPolicy(iam, policyArn);
      const versionId = policy.DefaultVersionId as string;
      let document: string | undefined;
      try {
        document = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }))).PolicyVersion?.Document;
      } catch (err) {
        if (isAwsError(err, 'NoSuchEntity')) throw concurrentWriter(`The default version ${versionId} of ${policyArn} vanished while it was being read.`);
        throw iamFailure(err, 'iam:GetPolicyVersion', policyArn);
      }
      if (document === undefined) throw new SyncError('iam-error', `IAM returned no document for version ${versionId} of ${policyArn}.`);
      // Returned as IAM gave it (URL-encoded); the plan decodes it with the same tolerance as decodePolicyDocument.
      // AttachmentCount comes free with GetPolicy: what lets the attachment check skip ListEntitiesForPolicy.
      return { document, versionId, ...(policy.AttachmentCount !== undefined ? { attachmentCount: policy.AttachmentCount } : {}) };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      // The plan refuses these already; checking again here means nothing is touched for a doomed write.
      const size = policySize(request.document);
      if (size > MANAGED_POLICY_SIZE_LIMIT) {
        throw new TargetRefusedError(`the document is ${size} characters, over IAM's limit of ${MANAGED_POLICY_SIZE_LIMIT} for a managed policy`);
      }
      // One listing: the default now (it must still be the one planned against) and the newest version id, so
      // any version above it when ours is created was written by someone else meanwhile.
      const before = await listVersions(iam, policyArn);
      const previous = before.find((v) => v.IsDefaultVersion)?.VersionId ?? (await defaultVersionId(iam, policyArn));
      const base = request.baseVersionId ?? previous;
      if (previous !== base) {
        throw concurrentWriter(`Plan ${request.planId} was computed against version ${base} of ${policyArn}, but the default is now ${previous}.`);
      }
      const newestBefore = Math.max(0, ...before.map((v) => versionOrder(v.VersionId)).filter((n) => n !== Number.MAX_SAFE_INTEGER));
      const protect = [base, ...(request.protect ?? [])];
      const deleted: string[] = [];
      let outcome = await create(request.document);
      if ('versionLimit' in outcome) {
        // Someone else filled the five slots (allowlist-sync keeps at most four). Make one room, only while the
        // default is still the one planned against, and say which version went.
        const versions = before.length >= MAX_POLICY_VERSIONS ? before : await listVersions(iam, policyArn);
        const now = versions.find((v) => v.IsDefaultVersion)?.VersionId;
        if (now !== base) {
          throw concurrentWriter(`Plan ${request.planId} was computed against version ${base} of ${policyArn}, but the default is now ${now ?? 'unknown'}.`);
        }
        log?.warn('policy found at the version limit: deleting the oldest unprotected version before creating', { policyArn });
        deleted.push(...(await prune(versions, MAX_POLICY_VERSIONS - 1, protect)));
        if (deleted.length === 0) {
          throw new SyncError(
            'policy-versions-full',
            `${policyArn} holds ${versions.length} versions and none may be deleted (the default ${base} and the protected ${protect.slice(1).join(', ') || 'none'}).`,
            'Delete an old version by hand (aws iam delete-policy-version), then run again.',
          );
        }
        outcome = await create(request.document).catch((err: unknown) => {
          throw (err instanceof SyncError ? err : iamFailure(err, 'iam:CreatePolicyVersion', policyArn)).withChanges(deleted.map((v) => `deleted version ${v}`));
        });
        if ('versionLimit' in outcome) {
          throw concurrentWriter(`${policyArn} kept reaching IAM's limit of ${MAX_POLICY_VERSIONS} versions while old ones were deleted.`).withChanges(deleted.map((v) => `deleted version ${v}`));
        }
      }
      const created = outcome.versionId;
      const versions = await confirm(created, previous);
      // Version ids are sequential: any above the newest we listed and below ours was written by someone else meanwhile.
      const otherWriters = versions
        .map((v) => v.VersionId as string)
        .filter((id) => id !== created && versionOrder(id) > newestBefore && versionOrder(id) < versionOrder(created))
        .sort((a, b) => versionOrder(a) - versionOrder(b));
      deleted.push(...(await prune(versions, MAX_POLICY_VERSIONS - 1, [...protect, created, ...otherWriters])));
      return {
        versionId: created,
        previousVersionId: previous,
        ...(deleted.length ? { deleted } : {}),
        ...(otherWriters.length ? { otherWriters: otherWriters.map((v) => `version ${v} of ${policyArn}, created by someone else while ${created} was being written (plan against ${base})`) } : {}),
      };
    },
  };
}
