/**
 * An in-memory IAM customer managed policy behind aws-sdk-client-mock: versions v1..vN with CreateDate, one
 * default, IAM's limit of 5 versions and of 6,144 characters (both `LimitExceeded`, told apart by IAM's real
 * wording), tags, and documents returned URL-encoded by GetPolicyVersion as IAM does. State lives in the
 * object, not in the mock, so it survives `mock.reset()` and simulated cold starts: call `install(mock)` again.
 */
import {
  CreatePolicyVersionCommand,
  DeleteConflictException,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMServiceException,
  InvalidInputException,
  LimitExceededException,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PolicyVersion,
  SetDefaultPolicyVersionCommand,
  Tag,
  TagPolicyCommand,
  UntagPolicyCommand,
  type CreatePolicyVersionCommandInput,
  type DeletePolicyVersionCommandInput,
  type GetPolicyCommandInput,
  type GetPolicyVersionCommandInput,
  type IAMClientResolvedConfig,
  type ListPolicyTagsCommandInput,
  type ListPolicyVersionsCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SetDefaultPolicyVersionCommandInput,
  type TagPolicyCommandInput,
  type UntagPolicyCommandInput,
} from '@aws-sdk/client-iam';
import type { AwsStub } from 'aws-sdk-client-mock';

/** The mock of IAMClient (`mockClient(IAMClient)` or of an instance). */
export type IamMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, IAMClientResolvedConfig>;

/** IAM's own words (CreatePolicyVersion on a policy that has 5 versions). */
export const VERSION_LIMIT_MESSAGE = 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.';
/** IAM's own words (a managed policy document over 6,144 characters, whitespace not counted). */
export const SIZE_LIMIT_MESSAGE = 'Cannot exceed quota for PolicySize: 6144';
export const MAX_VERSIONS = 5;
export const MAX_POLICY_SIZE = 6144;
export const MAX_TAGS = 50;

/** The commands the fake answers, by name (used to inject failures). */
export type FakeIamAction =
  | 'GetPolicy'
  | 'GetPolicyVersion'
  | 'ListPolicyVersions'
  | 'CreatePolicyVersion'
  | 'DeletePolicyVersion'
  | 'SetDefaultPolicyVersion'
  | 'ListPolicyTags'
  | 'TagPolicy'
  | 'UntagPolicy';

/** One stored version. `document` is kept as written (plain JSON). */
export interface FakeVersion {
  versionId: string;
  document: string;
  createDate: Date;
}

export interface FakeIamOptions {
  arn?: string;
  /** The document of v1, the default. */
  document: string;
  /** More versions after v1, oldest first; the last becomes the default. */
  moreDocuments?: string[];
  tags?: Record<string, string>;
  /** CreateDate of v1; each later version is one minute younger. Default 2024-01-01T00:00:00Z. */
  createdAt?: Date;
}

export const DEFAULT_POLICY_ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';

const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: '00000000-0000-4000-8000-000000000000' });

/** IAM's AccessDenied for `action` (an unmodelled error code, as the SDK surfaces it). */
export function accessDenied(action: string, arn = DEFAULT_POLICY_ARN): IAMServiceException {
  return new IAMServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: `User: arn:aws:sts::123456789012:assumed-role/allowlist-sync-role/allowlist-sync-fn is not authorized to perform: ${action} on resource: policy ${arn} because no identity-based policy allows the ${action} action`,
    $metadata: meta(403),
  });
}

/** IAM's NoSuchEntity for a policy that does not exist. */
export function noSuchPolicy(arn = DEFAULT_POLICY_ARN): NoSuchEntityException {
  return new NoSuchEntityException({ message: `Policy ${arn} was not found.`, $metadata: meta(404) });
}

/** IAM's ServiceFailure (5xx). */
export function serviceFailure(): IAMServiceException {
  return new IAMServiceException({ name: 'ServiceFailure', $fault: 'server', message: 'Service Failure', $metadata: meta(500) });
}

/** RFC 3986 percent-encoding, as GetPolicyVersion returns documents. */
export function iamEncode(document: string): string {
  return encodeURIComponent(document).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The policy and its history. */
export class FakeIam {
  readonly arn: string;
  versions: FakeVersion[] = [];
  defaultVersionId = 'v1';
  readonly tags = new Map<string, string>();
  /** When true, every call answers NoSuchEntity (the policy was deleted, or never existed). */
  deleted = false;
  /** After each CreatePolicyVersion that sets a new default, GetPolicy reports the previous default this many times (eventual consistency). */
  staleReadsAfterWrite = 0;
  private stale: { defaultVersionId: string; reads: number } | undefined;
  /** Runs once, just before the next CreatePolicyVersion is handled: another writer acting in between. */
  beforeCreate: (() => void) | undefined;
  private nextVersion = 1;
  private readonly start: number;
  private readonly failures = new Map<FakeIamAction, { error: Error; times: number }[]>();

  constructor(options: FakeIamOptions) {
    this.arn = options.arn ?? DEFAULT_POLICY_ARN;
    this.start = (options.createdAt ?? new Date('2024-01-01T00:00:00.000Z')).getTime();
    for (const [key, value] of Object.entries(options.tags ?? {})) this.tags.set(key, value);
    for (const document of [options.document, ...(options.moreDocuments ?? [])]) this.addVersion(document, true);
  }

  /** The stored (plain) document of the default version. */
  get defaultDocument(): string {
    return this.version(this.defaultVersionId).document;
  }

  /** Version ids, oldest first. */
  versionIds(): string[] {
    return this.versions.map((v) => v.versionId);
  }

  version(versionId: string): FakeVersion {
    const found = this.versions.find((v) => v.versionId === versionId);
    if (!found) throw new Error(`fake IAM: no version ${versionId}`);
    return found;
  }

  /** Makes the next `times` calls of `action` fail with `error` (default: every call until `clearFailures`). */
  failOn(action: FakeIamAction, error: Error, times = Number.POSITIVE_INFINITY): this {
    const list = this.failures.get(action) ?? [];
    list.push({ error, times });
    this.failures.set(action, list);
    return this;
  }

  clearFailures(): void {
    this.failures.clear();
  }

  /** Adds a version as another writer would (a person in the console, another tool). */
  addVersion(document: string, setAsDefault: boolean): string {
    const versionId = `v${this.nextVersion}`;
    this.versions.push({ versionId, document, createDate: new Date(this.start + (this.nextVersion - 1) * 60_000) });
    this.nextVersion++;
    if (setAsDefault) this.defaultVersionId = versionId;
    return versionId;
  }

  /** Registers the fake's answers on `mock` (after a `reset()`, call again). */
  install(mock: IamMock): void {
    mock.on(GetPolicyCommand).callsFake((input: GetPolicyCommandInput) => this.answer('GetPolicy', input.PolicyArn, () => this.getPolicy()));
    mock.on(GetPolicyVersionCommand).callsFake((input: GetPolicyVersionCommandInput) => this.answer('GetPolicyVersion', input.PolicyArn, () => this.getPolicyVersion(input)));
    mock.on(ListPolicyVersionsCommand).callsFake((input: ListPolicyVersionsCommandInput) => this.answer('ListPolicyVersions', input.PolicyArn, () => this.listPolicyVersions()));
    mock.on(CreatePolicyVersionCommand).callsFake((input: CreatePolicyVersionCommandInput) => this.answer('CreatePolicyVersion', input.PolicyArn, () => this.createPolicyVersion(input)));
    mock.on(DeletePolicyVersionCommand).callsFake((input: DeletePolicyVersionCommandInput) => this.answer('DeletePolicyVersion', input.PolicyArn, () => this.deletePolicyVersion(input)));
    mock.on(SetDefaultPolicyVersionCommand).callsFake((input: SetDefaultPolicyVersionCommandInput) => this.answer('SetDefaultPolicyVersion', input.PolicyArn, () => this.setDefault(input)));
    mock.on(ListPolicyTagsCommand).callsFake((input: ListPolicyTagsCommandInput) => this.answer('ListPolicyTags', input.PolicyArn, () => this.listTags()));
    mock.on(TagPolicyCommand).callsFake((input: TagPolicyCommandInput) => this.answer('TagPolicy', input.PolicyArn, () => this.tag(input)));
    mock.on(UntagPolicyCommand).callsFake((input: UntagPolicyCommandInput) => this.answer('UntagPolicy', input.PolicyArn, () => this.untag(input)));
  }

  private answer<T>(action: FakeIamAction, arn: string | undefined, run: () => T): T {
    const list = this.failures.get(action);
    const failure = list?.[0];
    if (list && failure) {
      failure.times--;
      if (failure.times <= 0) list.shift();
      throw failure.error;
    }
    if (this.deleted || arn !== this.arn) throw noSuchPolicy(arn);
    return run();
  }

  /** The default as a read sees it: for a few reads after a write, still the previous one (eventual consistency). */
  private visibleDefault(): string {
    if (this.stale && this.stale.reads > 0) {
      this.stale.reads--;
      return this.stale.defaultVersionId;
    }
    return this.defaultVersionId;
  }

  private getPolicy() {
    const defaultVersionId = this.visibleDefault();
    const name = this.arn.slice(this.arn.lastIndexOf('/') + 1);
    return {
      Policy: {
        PolicyName: name,
        PolicyId: 'ANPAEXAMPLEEXAMPLE0001',
        Arn: this.arn,
        Path: '/',
        DefaultVersionId: defaultVersionId,
        AttachmentCount: 1,
        IsAttachable: true,
        CreateDate: new Date(this.start),
        UpdateDate: this.versions[this.versions.length - 1].createDate,
        // GetPolicy returns the tags too (left out when there are none).
        ...(this.tags.size > 0 ? { Tags: this.listTags().Tags } : {}),
      },
    };
  }

  private getPolicyVersion(input: GetPolicyVersionCommandInput) {
    const found = this.versions.find((v) => v.versionId === input.VersionId);
    if (!found) throw new NoSuchEntityException({ message: `Policy ${this.arn} version ${input.VersionId} does not exist or is not attachable.`, $metadata: meta(404) });
    return { PolicyVersion: { ...this.describe(found), Document: iamEncode(found.document) } };
  }

  private describe(v: FakeVersion): PolicyVersion {
    return { VersionId: v.versionId, IsDefaultVersion: v.versionId === this.defaultVersionId, CreateDate: v.createDate };
  }

  private listPolicyVersions() {
    const visible = this.visibleDefault();
    // Newest first, as IAM lists them.
    return { Versions: [...this.versions].reverse().map((v) => ({ ...this.describe(v), IsDefaultVersion: v.versionId === visible })), IsTruncated: false };
  }

  private createPolicyVersion(input: CreatePolicyVersionCommandInput) {
    const hook = this.beforeCreate;
    this.beforeCreate = undefined;
    hook?.();
    const document = input.PolicyDocument ?? '';
    try {
      JSON.parse(document);
    } catch {
      throw new MalformedPolicyDocumentException({ message: 'Syntax errors in policy.', $metadata: meta(400) });
    }
    if (document.replace(/\s/g, '').length > MAX_POLICY_SIZE) throw new LimitExceededException({ message: SIZE_LIMIT_MESSAGE, $metadata: meta(409) });
    if (this.versions.length >= MAX_VERSIONS) throw new LimitExceededException({ message: VERSION_LIMIT_MESSAGE, $metadata: meta(409) });
    const previous = this.defaultVersionId;
    const versionId = this.addVersion(document, input.SetAsDefault === true);
    if (input.SetAsDefault === true) this.stale = { defaultVersionId: previous, reads: this.staleReadsAfterWrite };
    return { PolicyVersion: this.describe(this.version(versionId)) };
  }

  private deletePolicyVersion(input: DeletePolicyVersionCommandInput) {
    const index = this.versions.findIndex((v) => v.versionId === input.VersionId);
    if (index === -1) throw new NoSuchEntityException({ message: `Policy ${this.arn} version ${input.VersionId} does not exist or is not attachable.`, $metadata: meta(404) });
    if (input.VersionId === this.defaultVersionId) throw new DeleteConflictException({ message: 'Cannot delete the default version of a policy.', $metadata: meta(409) });
    this.versions.splice(index, 1);
    return {};
  }

  private setDefault(input: SetDefaultPolicyVersionCommandInput) {
    this.version(input.VersionId ?? '');
    this.defaultVersionId = input.VersionId ?? '';
    return {};
  }

  private listTags() {
    return { Tags: [...this.tags].map(([Key, Value]): Tag => ({ Key, Value })), IsTruncated: false };
  }

  private tag(input: TagPolicyCommandInput) {
    const tags = input.Tags ?? [];
    for (const { Key, Value } of tags) {
      if (!Key || Key.length > 128 || (Value ?? '').length > 256 || !TAG_VALUE.test(Value ?? '')) {
        throw new InvalidInputException({ message: `1 validation error detected: Value at 'tags' failed to satisfy constraint (tag ${JSON.stringify(Key)})`, $metadata: meta(400) });
      }
    }
    const after = new Map(this.tags);
    for (const { Key, Value } of tags) after.set(Key as string, Value ?? '');
    if (after.size > MAX_TAGS) throw new LimitExceededException({ message: `Cannot exceed quota for TagsPerPolicy: ${MAX_TAGS}`, $metadata: meta(409) });
    for (const [key, value] of after) this.tags.set(key, value);
    return {};
  }

  private untag(input: UntagPolicyCommandInput) {
    for (const key of input.TagKeys ?? []) this.tags.delete(key);
    return {};
  }
}
