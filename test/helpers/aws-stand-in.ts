/**
 * A local stand-in for the three AWS APIs the function calls, on 127.0.0.1 and an ephemeral port, reached
 * through AWS_ENDPOINT_URL (the SDK honours it for every client):
 *   IAM  query protocol, XML answers: GetPolicy (with Tags), GetPolicyVersion, ListPolicyVersions,
 *        CreatePolicyVersion, DeletePolicyVersion, SetDefaultPolicyVersion, ListPolicyTags, TagPolicy, UntagPolicy
 *   SSM  JSON 1.1: GetParameter
 *   SNS  query protocol: Publish
 * It keeps just enough state (managed policies by ARN, one parameter) to play a whole sync, records every request
 * so a benchmark can count round trips, and keeps what was published. `beforeAnswer` runs once a call has been
 * handled and before its answer is sent: a test kills a process there to stop it right after a write.
 * The primary policy (`policyArn`) always exists; `reset`, `defaultDocument` and `tags` are about it. More are
 * added with `setPolicy` (a benchmark with many targets) and read with `policy`. `latencyMs` (default 0) delays
 * every request before it is handled, to model AWS's latency.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as counted: the service (from the SigV4 scope) and the operation. */
export interface AwsCall {
  service: 'iam' | 'ssm' | 'sns' | 'unknown';
  action: string;
}

interface Version {
  id: string;
  document: string;
  created: Date;
}

/** One managed policy's state. Version ids keep counting across resets (v1, v2, ... per policy). */
interface ManagedPolicy {
  arn: string;
  versions: Version[];
  defaultId: string;
  nextVersion: number;
  tags: Map<string, string>;
}

/** What the stand-in holds for one policy (copies). */
export interface PolicyView {
  defaultDocument: string;
  defaultVersionId: string;
  versionCount: number;
  tags: Record<string, string>;
}

/** Options of `AwsStandIn.start`. */
export interface AwsStandInOptions {
  policyArn: string;
  parameter: { name: string; value: string };
  /** Milliseconds every request waits before it is handled; default 0. */
  latencyMs?: number;
}

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function queryResponse(ns: string, action: string, result: string): string {
  const body = result ? `<${action}Result>${result}</${action}Result>` : '';
  return `<${action}Response xmlns="${ns}">${body}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Members `<prefix>.member.<n>[.<field>]` of a query-protocol list, in order. */
function members(form: URLSearchParams, prefix: string, field?: string): string[] {
  const out: string[] = [];
  for (let n = 1; ; n++) {
    const value = form.get(`${prefix}.member.${n}${field ? `.${field}` : ''}`);
    if (value === null) return out;
    out.push(value);
  }
}

/** The stand-in; `start()` it, point AWS_ENDPOINT_URL at `url`, `close()` it. */
export class AwsStandIn {
  /** Every request received, in order. */
  readonly calls: AwsCall[] = [];
  /** Every SNS Publish: subject, message and the `event` attribute. */
  readonly published: { subject: string; message: string; event: string | undefined }[] = [];
  /** Runs after a call changed the state and before its answer is sent. */
  beforeAnswer: ((call: AwsCall) => void) | undefined;
  readonly policyArn: string;
  parameter: { name: string; value: string };
  /** Milliseconds every request waits before it is handled (0: at once). */
  latencyMs: number;
  private readonly policies = new Map<string, ManagedPolicy>();
  private server!: Server;
  private port = 0;

  private constructor(options: AwsStandInOptions) {
    this.policyArn = options.policyArn;
    this.parameter = options.parameter;
    this.latencyMs = options.latencyMs ?? 0;
    this.policies.set(options.policyArn, AwsStandIn.emptyPolicy(options.policyArn));
  }

  private static emptyPolicy(arn: string): ManagedPolicy {
    return { arn, versions: [], defaultId: '', nextVersion: 1, tags: new Map() };
  }

  static async start(options: AwsStandInOptions): Promise<AwsStandIn> {
    const standIn = new AwsStandIn(options);
    standIn.server = createServer((req, res) => void standIn.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      standIn.server.once('error', reject);
      standIn.server.listen(0, '127.0.0.1', () => resolve());
    });
    standIn.port = (standIn.server.address() as AddressInfo).port;
    return standIn;
  }

  /** Value for AWS_ENDPOINT_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get primary(): ManagedPolicy {
    return this.policies.get(this.policyArn) as ManagedPolicy;
  }

  /** The primary policy's tags. */
  get tags(): Map<string, string> {
    return this.primary.tags;
  }

  set tags(tags: Map<string, string>) {
    this.primary.tags = tags;
  }

  /** Replaces the primary policy's versions with one default version holding `document` (plain JSON), and sets tags. */
  reset(document: string, tags: Record<string, string> = {}): void {
    this.setPolicy(this.policyArn, document, tags);
  }

  /**
   * Makes the policy `arn` exist (creating it if new) with one default version holding `document` and these tags.
   * Version ids go on from the policy's earlier ones.
   */
  setPolicy(arn: string, document: string, tags: Record<string, string> = {}): void {
    const policy = this.policies.get(arn) ?? AwsStandIn.emptyPolicy(arn);
    this.policies.set(arn, policy);
    policy.versions = [];
    this.addVersion(policy, document, true);
    policy.tags = new Map(Object.entries(tags));
  }

  /** Forgets every policy but the primary one (which keeps its state). */
  removeOtherPolicies(): void {
    for (const arn of this.policies.keys()) if (arn !== this.policyArn) this.policies.delete(arn);
  }

  /** The state of the policy `arn`, or undefined when the stand-in has no such policy. */
  policy(arn: string): PolicyView | undefined {
    const p = this.policies.get(arn);
    if (!p) return undefined;
    return {
      defaultDocument: p.versions.find((v) => v.id === p.defaultId)?.document ?? '',
      defaultVersionId: p.defaultId,
      versionCount: p.versions.length,
      tags: Object.fromEntries(p.tags),
    };
  }

  /** The primary policy's default version's document (plain JSON). */
  get defaultDocument(): string {
    return this.policy(this.policyArn)?.defaultDocument ?? '';
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private addVersion(policy: ManagedPolicy, document: string, setDefault: boolean): Version {
    const version = { id: `v${policy.nextVersion++}`, document, created: new Date() };
    policy.versions.push(version);
    if (setDefault) policy.defaultId = version.id;
    return version;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request/.exec(req.headers.authorization ?? '')?.[1];
    const target = req.headers['x-amz-target'];
    if (scope === 'ssm' || (typeof target === 'string' && target.startsWith('AmazonSSM.'))) {
      this.ssm(String(target ?? '').replace(/^AmazonSSM\./, ''), body, res);
      return;
    }
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? '(none)';
    if (scope === 'sns' || action === 'Publish') {
      this.sns(action, form, res);
      return;
    }
    if (scope === 'iam') {
      this.iam(action, form, res);
      return;
    }
    this.calls.push({ service: 'unknown', action });
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`aws stand-in: cannot tell the service of this request (scope ${scope ?? 'none'})`);
  }

  private ssm(action: string, body: string, res: ServerResponse): void {
    this.calls.push({ service: 'ssm', action });
    const reply = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(value));
    };
    const { Name } = JSON.parse(body || '{}') as { Name?: string };
    if (action !== 'GetParameter') return reply(400, { __type: 'InvalidAction', message: `stand-in: ${action} is not supported` });
    if (Name !== this.parameter.name) return reply(400, { __type: 'ParameterNotFound', message: `Parameter ${Name} not found.` });
    reply(200, {
      Parameter: {
        Name,
        Type: 'SecureString',
        Value: this.parameter.value,
        Version: 1,
        LastModifiedDate: 1700000000,
        ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${Name.startsWith('/') ? '' : '/'}${Name}`,
        DataType: 'text',
      },
    });
  }

  private sns(action: string, form: URLSearchParams, res: ServerResponse): void {
    this.calls.push({ service: 'sns', action });
    if (action === 'Publish') {
      this.published.push({ subject: form.get('Subject') ?? '', message: form.get('Message') ?? '', event: form.get('MessageAttributes.entry.1.Value.StringValue') ?? undefined });
    }
    this.beforeAnswer?.({ service: 'sns', action });
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(queryResponse(SNS_NS, action, action === 'Publish' ? `<MessageId>${randomUUID()}</MessageId>` : ''));
  }

  private iamError(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(`<ErrorResponse xmlns="${IAM_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
  }

  private tagsXml(policy: ManagedPolicy): string {
    return [...policy.tags].map(([k, v]) => `<member><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value></member>`).join('');
  }

  private versionXml(policy: ManagedPolicy, v: Version, withDocument: boolean): string {
    return (
      (withDocument ? `<Document>${encodeURIComponent(v.document)}</Document>` : '') +
      `<VersionId>${v.id}</VersionId><IsDefaultVersion>${v.id === policy.defaultId}</IsDefaultVersion><CreateDate>${v.created.toISOString()}</CreateDate>`
    );
  }

  private iam(action: string, form: URLSearchParams, res: ServerResponse): void {
    this.calls.push({ service: 'iam', action });
    const arn = form.get('PolicyArn');
    const policy = arn === null ? undefined : this.policies.get(arn);
    if (!policy) return this.iamError(res, 404, 'NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
    const ok = (result = ''): void => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(queryResponse(IAM_NS, action, result));
    };
    const versionId = form.get('VersionId');
    const version = policy.versions.find((v) => v.id === versionId);
    switch (action) {
      case 'GetPolicy': {
        const tags = policy.tags.size > 0 ? `<Tags>${this.tagsXml(policy)}</Tags>` : '';
        const name = policy.arn.slice(policy.arn.lastIndexOf('/') + 1);
        return ok(
          `<Policy><PolicyName>${name}</PolicyName><DefaultVersionId>${policy.defaultId}</DefaultVersionId><PolicyId>ANPABENCHSTANDIN</PolicyId>` +
            `<Path>/</Path><Arn>${policy.arn}</Arn><AttachmentCount>1</AttachmentCount><IsAttachable>true</IsAttachable>` +
            `<CreateDate>2024-01-01T00:00:00Z</CreateDate><UpdateDate>2024-01-01T00:00:00Z</UpdateDate>${tags}</Policy>`,
        );
      }
      case 'GetPolicyVersion':
        if (!version) return this.iamError(res, 404, 'NoSuchEntity', `Policy version ${versionId} does not exist.`);
        return ok(`<PolicyVersion>${this.versionXml(policy, version, true)}</PolicyVersion>`);
      case 'ListPolicyVersions':
        return ok(`<Versions>${policy.versions.map((v) => `<member>${this.versionXml(policy, v, false)}</member>`).join('')}</Versions><IsTruncated>false</IsTruncated>`);
      case 'CreatePolicyVersion': {
        if (policy.versions.length >= 5) {
          return this.iamError(res, 409, 'LimitExceeded', 'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.');
        }
        const created = this.addVersion(policy, form.get('PolicyDocument') ?? '', form.get('SetAsDefault') === 'true');
        this.beforeAnswer?.({ service: 'iam', action });
        return ok(`<PolicyVersion>${this.versionXml(policy, created, false)}</PolicyVersion>`);
      }
      case 'DeletePolicyVersion':
        if (!version) return this.iamError(res, 404, 'NoSuchEntity', `Policy version ${versionId} does not exist.`);
        if (version.id === policy.defaultId) return this.iamError(res, 409, 'DeleteConflict', 'Cannot delete the default version.');
        policy.versions = policy.versions.filter((v) => v !== version);
        return ok();
      case 'SetDefaultPolicyVersion':
        if (!version) return this.iamError(res, 404, 'NoSuchEntity', `Policy version ${versionId} does not exist.`);
        policy.defaultId = version.id;
        return ok();
      case 'ListPolicyTags':
        return ok(`<Tags>${this.tagsXml(policy)}</Tags><IsTruncated>false</IsTruncated>`);
      case 'TagPolicy': {
        const keys = members(form, 'Tags', 'Key');
        const values = members(form, 'Tags', 'Value');
        keys.forEach((k, i) => policy.tags.set(k, values[i] ?? ''));
        return ok();
      }
      case 'UntagPolicy':
        for (const key of members(form, 'TagKeys')) policy.tags.delete(key);
        return ok();
      default:
        return this.iamError(res, 400, 'InvalidAction', `stand-in: ${action} is not supported`);
    }
  }
}
