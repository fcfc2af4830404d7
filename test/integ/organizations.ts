/**
 * A minimal AWS Organizations client for the opt-in integration suite: the repository does not depend on
 * @aws-sdk/client-organizations (the function never calls Organizations but for ListDelegatedAdministrators'
 * permission), so the suite signs its few JSON 1.1 calls itself with the SDK's own SigV4 signer. Endpoint:
 * AWS_ENDPOINT_URL_ORGANIZATIONS, else AWS_ENDPOINT_URL, else AWS's global one.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';

/** SHA-256 (and HMAC-SHA-256 with a secret) as SigV4 wants it, on node:crypto. */
const bytes = (data: SourceData): Uint8Array | string =>
  typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

class Sha256 {
  private hash: Hash;
  private readonly secret?: Uint8Array | string;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash {
    return (this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret)) as unknown as Hash;
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** An error answer of Organizations: its `__type` (such as AWSOrganizationsNotInUseException) and message. */
export class OrganizationsError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
  ) {
    super(`Organizations ${code} (HTTP ${status}): ${message}`);
    this.name = 'OrganizationsError';
  }
}

export type OrganizationsCall = (action: string, input?: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** A caller of Organizations' actions (`CreateOrganization`, `ListRoots`, ...) with these credentials. */
export function organizations(credentials: () => Promise<AwsCredentialIdentity>): OrganizationsCall {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_ORGANIZATIONS?.trim() || process.env.AWS_ENDPOINT_URL?.trim() || 'https://organizations.us-east-1.amazonaws.com');
  const signer = new SignatureV4({ service: 'organizations', region: 'us-east-1', credentials, sha256: Sha256 });
  return async (action, input = {}) => {
    const body = JSON.stringify(input);
    const request = {
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname || '/',
      query: {},
      headers: { host: endpoint.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSOrganizationsV20161128.${action}` },
      body,
    };
    const signed = await signer.sign(request);
    const response = await fetch(endpoint, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new OrganizationsError('NotJson', response.status, `${action} answered something other than JSON: ${text.slice(0, 120)}`);
    }
    if (!response.ok) {
      const code = String(parsed.__type ?? parsed.code ?? 'Unknown').split('#').pop() ?? 'Unknown';
      throw new OrganizationsError(code, response.status, String(parsed.message ?? parsed.Message ?? text.slice(0, 200)));
    }
    return parsed;
  };
}
