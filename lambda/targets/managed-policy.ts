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
  Tag,
} from '@aws-sdk/client-iam';
import { MANAGED_POLICY_SIZE_LIMIT, policySize } from '../allowlist/policy';
import { SyncError, describeError } from '../errors';
import type { Log } from '../sync';
import { iamFailure, isAwsError, tagRecord } from './iam-client';
import { CurrentPolicy, Target, TargetRefusedError, WriteRequest, WriteResult } from './target';

export { createIamClient } from './iam-client';

/** IAM keeps at most this many versions of a managed policy; creating one more fails with LimitExceeded. */
export const MAX_POLICY_VERSIONS = 5;

const POLICY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/;

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
  /** Called with the policy's tags whenever a read sees them, so the alert state needs no extra call. */
  onTags?: (tags: Record<string, string>) => void;
}

/**
 * Decodes a policy document as GetPolicyVersion returns it (URL-encoded, RFC 3986), tolerating one that is
 * already plain JSON: a plain document is returned untouched, so a `%` inside it is never decoded twice.
 */
export function decodePolicyDocument(text: string): string {
  if (isJson(text)) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function checkArn(policyArn: string): void {
  if (!POLICY_ARN.test(policyArn)) {
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
  const tags: Tag[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await iam.send(new ListPolicyTagsCommand({ PolicyArn: policyArn, Marker: marker }));
      tags.push(...(page.Tags ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  } catch (err) {
    throw iamFailure(err, 'iam:ListPolicyTags', policyArn);
  }
  return tagRecord(tags);
}

async function listVersions(iam: IAMClient, policyArn: string): Promise<PolicyVersion[]> {
  const versions: PolicyVersion[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn, Marker: marker }));
      versions.push(...(page.Versions ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
  } catch (err) {
    throw iamFailure(err, 'iam:ListPolicyVersions', policyArn);
  }
  return versions;
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

/**
 * The policy as an allowlist target: reads the default version, writes a new default version.
 * Never deletes the default version, never overwrites a default it did not plan against.
 */
export function managedPolicyTarget(iam: IAMClient, policyArn: string, options: ManagedPolicyTargetOptions = {}): Target {
  checkArn(policyArn);
  const confirmDelays = options.confirmDelaysMs ?? [500, 1000, 2000];
  const log = options.log;

  /** Deletes the oldest non-default versions until there is room for one more. */
  async function prune(versions: readonly PolicyVersion[], defaultId: string): Promise<void> {
    const excess = versions.length - (MAX_POLICY_VERSIONS - 1);
    if (excess <= 0) return;
    const candidates = versions.filter((v) => !v.IsDefaultVersion && v.VersionId && v.VersionId !== defaultId).sort(byAge);
    for (const victim of candidates.slice(0, excess)) {
      const versionId = victim.VersionId as string;
      try {
        await iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
        log?.info('deleted the oldest policy version to make room', { policyArn, versionId, createDate: victim.CreateDate?.toISOString() });
      } catch (err) {
        // Someone else pruned it already: the room is made all the same.
        if (isAwsError(err, 'NoSuchEntity')) continue;
        // It became the default meanwhile: another writer is at work.
        if (isAwsError(err, 'DeleteConflict')) throw concurrentWriter(`Version ${versionId} of ${policyArn} could not be deleted to make room: ${describeError(err)}.`);
        throw iamFailure(err, 'iam:DeletePolicyVersion', policyArn);
      }
    }
  }

  async function create(document: string): Promise<CreateOutcome> {
    try {
      const created = await iam.send(new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: document, SetAsDefault: true }));
      const versionId = created.PolicyVersion?.VersionId;
      if (!versionId) throw new SyncError('iam-error', `IAM created a version of ${policyArn} but did not say which.`, 'Check the policy with "allowlist-sync status".');
      return { versionId };
    } catch (err) {
      const message = describeError(err);
      if (isAwsError(err, 'LimitExceeded')) {
        // IAM uses one error code for both limits; only the message tells them apart:
        // "Cannot exceed quota for PolicySize: 6144" vs "A managed policy can have up to 5 versions. ...".
        if (/size|characters/i.test(message)) throw new TargetRefusedError(`IAM refused the document as too large: ${message}`);
        if (/version/i.test(message)) return { versionLimit: true };
      }
      if (isAwsError(err, 'MalformedPolicyDocument')) {
        throw new SyncError('iam-malformed', `IAM rejected the policy document for ${policyArn}: ${message}.`, 'Nothing was written. This is a bug in the rendered document; report it with the plan.', { cause: err });
      }
      if (isAwsError(err, 'ConcurrentModification')) throw concurrentWriter(`IAM reported a concurrent modification of ${policyArn}: ${message}.`);
      throw iamFailure(err, 'iam:CreatePolicyVersion', policyArn);
    }
  }

  /** Waits out IAM's eventual consistency until the new version reads back as the default. */
  async function confirm(created: string, previous: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const now = await defaultVersionId(iam, policyArn);
      if (now === created) return;
      if (now !== previous || attempt >= confirmDelays.length) {
        throw concurrentWriter(`allowlist-sync created ${created} of ${policyArn} as the default version, but the default is now ${now}.`);
      }
      await new Promise((resolve) => setTimeout(resolve, confirmDelays[attempt]));
    }
  }

  return {
    name: `iam:${policyArn}`,

    async read(): Promise<CurrentPolicy> {
      const policy = await getPolicy(iam, policyArn);
      const versionId = policy.DefaultVersionId as string;
      // GetPolicy carries the tags (when the policy has any): the alert state comes with them for free.
      if (policy.Tags) options.onTags?.(tagRecord(policy.Tags));
      let document: string | undefined;
      try {
        document = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }))).PolicyVersion?.Document;
      } catch (err) {
        if (isAwsError(err, 'NoSuchEntity')) throw concurrentWriter(`The default version ${versionId} of ${policyArn} vanished while it was being read.`);
        throw iamFailure(err, 'iam:GetPolicyVersion', policyArn);
      }
      if (document === undefined) throw new SyncError('iam-error', `IAM returned no document for version ${versionId} of ${policyArn}.`);
      // Returned as IAM gave it (URL-encoded); the plan decodes it with the same tolerance as decodePolicyDocument.
      return { document, versionId };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      // The plan refuses these already; checking again here means a version is never pruned for a doomed write.
      const size = policySize(request.document);
      if (size > MANAGED_POLICY_SIZE_LIMIT) {
        throw new TargetRefusedError(`the document is ${size} characters, over IAM's limit of ${MANAGED_POLICY_SIZE_LIMIT} for a managed policy`);
      }
      const previous = await defaultVersionId(iam, policyArn);
      const base = request.baseVersionId ?? previous;
      if (previous !== base) {
        throw concurrentWriter(`Plan ${request.planId} was computed against version ${base} of ${policyArn}, but the default is now ${previous}.`);
      }
      await prune(await listVersions(iam, policyArn), previous);
      let outcome = await create(request.document);
      if ('versionLimit' in outcome) {
        // Another version appeared since the listing. Go on only if the default is still the one planned against.
        const versions = await listVersions(iam, policyArn);
        const now = versions.find((v) => v.IsDefaultVersion)?.VersionId;
        if (now !== base) {
          throw concurrentWriter(`Plan ${request.planId} was computed against version ${base} of ${policyArn}, but the default is now ${now ?? 'unknown'}.`);
        }
        log?.warn('policy version limit hit after pruning: another version was created meanwhile; pruning again', { policyArn });
        await prune(versions, base);
        outcome = await create(request.document);
        if ('versionLimit' in outcome) {
          throw concurrentWriter(`${policyArn} kept reaching IAM's limit of ${MAX_POLICY_VERSIONS} versions while old ones were deleted.`);
        }
      }
      await confirm(outcome.versionId, previous);
      return { versionId: outcome.versionId, previousVersionId: previous };
    },
  };
}
