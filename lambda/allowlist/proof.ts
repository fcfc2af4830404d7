// Before it writes, the tool proves with the evaluator (evaluate.ts) that the document keeps its promises for the
// entries it holds: every entry's first and last address get through; the addresses just outside an entry, an
// address outside every entry and a request without `aws:SourceIp` (through a VPC endpoint) are denied; AWS
// services calling on the caller's behalf, and the KMS and VPC exemptions when the statement carries them, are not.
//
// Linear in the entries: the document is compiled once (its value lists parsed once), each probe is a binary
// search, and a probe's text is made only for the failure that is reported.
import type { Family } from './block';
import { formatCidr } from './cidr';
import { AddressRanges, Decision, DenyEvaluator, FastAddress, RequestContext, SourceAddress, compileDenyPolicy, parseBlock } from './evaluate';
import { fastIpv4Key } from './fast-parse';
import { JsonValue, PolicyDocument, Statement, asObject, findAllowlistStatement } from './policy';

/** What the proof asks about. */
export interface ProofOptions {
  /** The action of every probe: e.g. `s3:GetObject` for a managed policy, `sts:AssumeRole` for a trust policy. */
  action: string;
  /** The calling principal of every probe: for a trust policy, one of its statement's principals. */
  principal?: string;
  /**
   * What the document promises for AWS services calling on the caller's behalf from outside: not denied (the
   * default, `Bool aws:ViaAWSService false`), or denied (`viaAwsServiceExemption: false` in the conditions).
   */
  viaAwsServiceExemption?: boolean;
  /**
   * The exemptions the configuration asks for: the document's must be exactly these (a renderer that adds a VPC
   * nobody listed widens the door; one that drops a listed endpoint locks its users out). Unset: not compared.
   */
  exemptions?: { kmsViaService: boolean; vpcExemption: readonly string[] };
}

/** The first promise the document breaks: the request, what was promised, what the evaluator says, and why. */
export interface ProofFailure {
  probe: RequestContext;
  expected: 'denied' | 'not denied';
  got: Decision;
  why: string;
}

const TOP: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

/** Outside addresses to try first (TEST-NET-2, TEST-NET-3; the IPv6 documentation prefix). */
const OUTSIDE_CANDIDATES: Record<Family, bigint[]> = {
  4: [0xc6336401n /* 198.51.100.1 */, 0xcb007101n /* 203.0.113.1 */],
  6: [(0x20010db8n << 96n) | 1n /* 2001:db8::1 */, (0x20010db8n << 96n) | (0x8000n << 80n) | 1n /* 2001:db8:8000::1 */],
};

/** An address as text: IPv4 dotted, IPv6 RFC 5952. */
export function formatSourceAddress(address: SourceAddress): string {
  const text = formatCidr({ family: address.family, network: address.value, prefix: address.family === 4 ? 32 : 128 });
  return text.slice(0, text.lastIndexOf('/'));
}

/** A KMS request made on the caller's behalf by this service carries `kms:ViaService`. */
const KMS_VIA_SERVICE = 'ec2.us-east-1.amazonaws.com';

/** The first address at or above `from` that no range covers, wrapping to the bottom once; undefined when all are. */
function uncovered(ranges: AddressRanges, family: Family, from: bigint): bigint | undefined {
  for (const start of [from, 0n]) {
    const range = ranges.rangeOf({ family, value: start });
    if (!range) return start;
    if (range.last < TOP[family]) return range.last + 1n;
  }
  return undefined;
}

/** The exemptions an allowlist statement carries. */
export interface Exemptions {
  kms: boolean;
  vpcs: string[];
  vpces: string[];
}

/** The exemptions the allowlist statement carries: `Null kms:ViaService true`, and the VPC ids of `StringNotEqualsIfExists`. */
export function exemptionsOf(statement: Statement | undefined): Exemptions {
  const condition = asObject(statement?.Condition) ?? {};
  const keyOf = (operator: string, key: string) => {
    const block = asObject(condition[operator]) ?? {};
    const values = (v: JsonValue) => (Array.isArray(v) ? v : [v]).filter((x) => typeof x !== 'object').map(String);
    return Object.entries(block).flatMap(([k, v]) => (k.toLowerCase() === key ? values(v) : []));
  };
  return {
    kms: keyOf('Null', 'kms:viaservice').some((v) => v.toLowerCase() === 'true'),
    vpcs: keyOf('StringNotEqualsIfExists', 'aws:sourcevpc'),
    vpces: keyOf('StringNotEqualsIfExists', 'aws:sourcevpce'),
  };
}

/** An id of this kind (`vpc`, `vpce`) that is not in the list. */
function unlisted(kind: string, listed: readonly string[]): string {
  const taken = new Set(listed);
  for (let n = 0; ; n++) {
    const id = `${kind}-${n.toString(16).padStart(17, '0')}`;
    if (!taken.has(id)) return id;
  }
}

function statementName(got: Decision): string {
  return got.denied === false ? '' : (got.sid ?? `#${got.statement}`);
}

/** The sentence for a broken promise: what was asked (`subject`) and what the document does instead. */
function explain(subject: string, expected: ProofFailure['expected'], got: Decision): string {
  if (got.denied === 'unknown') return `${subject}, cannot be shown ${expected}: in statement ${statementName(got)}, ${got.reason}`;
  return expected === 'not denied' ? `${subject}, would be denied by statement ${statementName(got)}` : `${subject}, would not be denied by any statement`;
}

/** The address one step up or down, or undefined outside the space. */
export function step(address: FastAddress, delta: 1 | -1): FastAddress | undefined {
  if (address.family === 4) {
    const value = address.value + delta;
    return value < 0 || value > Number(TOP[4]) ? undefined : { family: 4, value };
  }
  const value = address.value + BigInt(delta);
  return value < 0n || value > TOP[6] ? undefined : { family: 6, value };
}

const fastOf = (family: Family, value: bigint): FastAddress => (family === 4 ? { family, value: Number(value) } : { family, value });
/** An address as text (IPv4 dotted, IPv6 RFC 5952). */
export const text = (address: FastAddress): string => formatSourceAddress({ family: address.family, value: BigInt(address.value) });

/** An entry's first and last address; IPv4's common spelling without BigInt. Throws when it is not a block. */
export function entryBounds(entry: string): { first: FastAddress; last: FastAddress } {
  const key = fastIpv4Key(entry);
  if (key >= 0) {
    const first = Math.floor(key / 64);
    return { first: { family: 4, value: first }, last: { family: 4, value: first + 2 ** (32 - (key - first * 64)) - 1 } };
  }
  const block = parseBlock(entry);
  if ('reason' in block) throw new Error(`the entry ${JSON.stringify(entry)} cannot be proved: ${block.reason}`);
  return { first: fastOf(block.family, block.first), last: fastOf(block.family, block.last) };
}

/** One probe: a request (its `aws:SourceIp`, when it has one, as a parsed address) and what is promised for it. */
export interface Probe {
  address?: FastAddress;
  request: RequestContext;
  expected: ProofFailure['expected'];
  /** Made only when the probe fails. */
  subject: () => string;
}

/**
 * The probes that do not depend on one entry: an address outside every entry of each family (denied, unless an AWS
 * service or KMS through one calls), a request through an unlisted VPC endpoint (denied) and through each exempt
 * VPC or endpoint (not denied). The simulator sample (proof-sample.ts) asks the real engine the same questions.
 */
export function outsideProbes(exempt: Exemptions, ranges: AddressRanges, base: RequestContext, viaAws: boolean): Probe[] {
  const otherVpc = unlisted('vpc', exempt.vpcs);
  const otherVpce = unlisted('vpce', exempt.vpces);
  const probes: Probe[] = [];

  // An address outside every entry, of each family: denied, unless an AWS service (or KMS through one) makes the call.
  for (const family of [4, 6] as const) {
    const value = OUTSIDE_CANDIDATES[family].find((v) => !ranges.contains({ family, value: v })) ?? uncovered(ranges, family, OUTSIDE_CANDIDATES[family][0]);
    if (value === undefined) continue; // every address of the family is an entry: nothing is outside
    const address = fastOf(family, value);
    const outside = `${text(address)}, an address in no entry`;
    probes.push({ address, request: base, expected: 'denied', subject: () => outside });
    probes.push({
      address,
      request: { ...base, viaAwsService: true },
      expected: viaAws ? 'not denied' : 'denied',
      subject: () => `a request an AWS service makes on the caller's behalf (aws:ViaAWSService true) from ${outside}`,
    });
    if (exempt.kms) {
      probes.push({
        address,
        request: { ...base, kmsViaService: KMS_VIA_SERVICE },
        expected: 'not denied',
        subject: () => `a KMS request through ${KMS_VIA_SERVICE} (kms:ViaService present) from ${outside}`,
      });
    }
  }

  // Through a VPC endpoint a request has no aws:SourceIp: denied, unless through an exempt VPC or endpoint.
  probes.push({
    request: { ...base, sourceVpc: otherVpc, sourceVpce: otherVpce },
    expected: 'denied',
    subject: () => `a request through VPC endpoint ${otherVpce} of ${otherVpc} (no aws:SourceIp, neither exempt)`,
  });
  for (const vpc of exempt.vpcs) {
    probes.push({ request: { ...base, sourceVpc: vpc, sourceVpce: otherVpce }, expected: 'not denied', subject: () => `a request through exempt VPC ${vpc} (no aws:SourceIp)` });
  }
  for (const vpce of exempt.vpces) {
    probes.push({ request: { ...base, sourceVpc: otherVpc, sourceVpce: vpce }, expected: 'not denied', subject: () => `a request through exempt VPC endpoint ${vpce} (no aws:SourceIp)` });
  }
  return probes;
}

/**
 * Proves the promises above for these entries (canonical blocks, as `plan()` returns them in `entries`) with the
 * explicit-Deny evaluator. Returns the first broken promise, or undefined when every one holds. Throws when an
 * entry is not an IP address or block.
 */
export function proveAllowlist(document: PolicyDocument, entries: readonly string[], options: ProofOptions): ProofFailure | undefined {
  const evaluator: DenyEvaluator = compileDenyPolicy(document);
  const base: RequestContext = { action: options.action, viaAwsService: false, ...(options.principal !== undefined ? { principal: options.principal } : {}) };

  const covered = AddressRanges.parse(entries);
  if ('reason' in covered) entries.forEach(entryBounds); // throws, naming the entry
  const ranges = covered as AddressRanges;

  const held = (expected: ProofFailure['expected'], got: Decision) => (expected === 'denied' ? got.denied === true : got.denied === false);
  const check = (probe: Probe): ProofFailure | undefined => {
    const got = evaluator.evaluateFast(probe.address, probe.request);
    if (held(probe.expected, got)) return undefined;
    const request = probe.address ? { ...probe.request, sourceIp: text(probe.address) } : probe.request;
    return { probe: request, expected: probe.expected, got, why: explain(probe.subject(), probe.expected, got) };
  };

  const index = findAllowlistStatement(document);
  const exempt = exemptionsOf(index === -1 ? undefined : document.Statement[index]);
  if (options.exemptions) {
    const configured = options.exemptions;
    const sameIds = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();
    const documentIds = [...exempt.vpcs, ...exempt.vpces];
    const wrong =
      exempt.kms !== configured.kmsViaService
        ? `the KMS exemption is ${exempt.kms ? 'in the document but not configured' : 'configured but not in the document'}`
        : !sameIds(documentIds, configured.vpcExemption)
          ? `the document exempts VPCs and endpoints [${documentIds.join(', ')}], the configuration [${configured.vpcExemption.join(', ')}]`
          : undefined;
    if (wrong) return { probe: base, expected: 'denied', got: { denied: false }, why: wrong };
  }
  const probes = outsideProbes(exempt, ranges, base, options.viaAwsServiceExemption ?? true);
  for (const probe of probes) {
    const failure = check(probe);
    if (failure) return failure;
  }

  // Every entry: its first and last address get through; just outside it is denied unless another entry holds it.
  // The hot loop: no probe object (and for IPv4 no BigInt) unless one fails.
  const entryProbe = (i: number, address: FastAddress, where: 'first' | 'last' | 'below' | 'above'): ProofFailure | undefined => {
    const expected = where === 'first' || where === 'last' ? 'not denied' : 'denied';
    if (held(expected, evaluator.evaluateFast(address, base))) return undefined;
    const relation = expected === 'not denied' ? `the ${where} address of` : `just ${where}`;
    const subject = `${text(address)}, ${relation} ${entries[i]}${expected === 'denied' ? ' and in no entry' : ''}`;
    return check({ address, request: base, expected, subject: () => subject });
  };
  for (let i = 0; i < entries.length; i++) {
    const { first, last } = entryBounds(entries[i]);
    const below = step(first, -1);
    const above = step(last, 1);
    const failure =
      entryProbe(i, first, 'first') ??
      (last.value !== first.value ? entryProbe(i, last, 'last') : undefined) ??
      (below && ranges.indexOf(below) === -1 ? entryProbe(i, below, 'below') : undefined) ??
      (above && ranges.indexOf(above) === -1 ? entryProbe(i, above, 'above') : undefined);
    if (failure) return failure;
  }
  return undefined;
}
