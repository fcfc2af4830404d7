// The real policy engine (iam:SimulateCustomPolicy) is asked the proof's questions too, but there each question is
// one API call against IAM's account-wide rate limit. So it gets a bounded sample: every probe that does not depend
// on one entry (outside addresses, AWS services calling, KMS; for a statement that does not test aws:SourceIp by
// value, VPC endpoints too, with one exempt VPC and one exempt endpoint, as the rest of a value list behaves alike), then the first or last address of entries spread over the list, each
// with its neighbour just outside. The pure proof (proof.ts) still asks every question of every entry.
//
// A probe without a key the statement's conditions test by value (`NotIpAddress aws:SourceIp` for a request through
// a VPC endpoint) is left out: AWS documents only `Null` and `...IfExists` for a key the request lacks, and says a
// simulation without a key "might not be reliable". The proof alone answers those questions.
import { AddressRanges, FastAddress, RequestContext } from './evaluate';
import { PolicyDocument, Statement, asObject, findAllowlistStatement } from './policy';
import { Probe, ProofOptions, entryBounds, exemptionsOf, outsideProbes, step, text } from './proof';

/** The most probes a sample holds: each is one SimulateCustomPolicy call before a write. */
export const MAX_SAMPLED_PROBES = 12;

/** One question for the real engine: a request (its `aws:SourceIp` as text, when it has one) and the proof's promise. */
export interface SampledProbe {
  request: RequestContext;
  expected: 'denied' | 'not denied';
  /** The probe as the proof words it, for a refusal's message. */
  subject: string;
}

const materialize = (probe: Probe): SampledProbe => ({
  request: probe.address ? { ...probe.request, sourceIp: text(probe.address) } : probe.request,
  expected: probe.expected,
  subject: probe.subject(),
});

/** Where each condition key the simulator is told about sits in a probe's request (aws:ViaAWSService is always told). */
const SUPPLIED: Record<string, (request: RequestContext) => boolean> = {
  'aws:sourceip': (r) => r.sourceIp !== undefined,
  'aws:viaawsservice': () => true,
  'aws:sourcevpc': (r) => r.sourceVpc !== undefined,
  'aws:sourcevpce': (r) => r.sourceVpce !== undefined,
  'kms:viaservice': (r) => r.kmsViaService !== undefined,
};

/**
 * The condition keys (lower case) of `statement` whose absence from a request AWS does not define: every key under an
 * operator other than `Null` and the `...IfExists` ones. A request must carry each of them for the simulator's answer to count.
 */
export function keysTestedByValue(statement: Statement | undefined): string[] {
  const condition = asObject(statement?.Condition) ?? {};
  const keys = new Set<string>();
  for (const [operator, block] of Object.entries(condition)) {
    const bare = operator.replace(/^For(AnyValue|AllValues):/i, '');
    if (bare.toLowerCase() === 'null' || /ifexists$/i.test(bare)) continue;
    for (const key of Object.keys(asObject(block) ?? {})) keys.add(key.toLowerCase());
  }
  return [...keys];
}

/** The keys the allowlist statement of `document` tests by value (see keysTestedByValue). */
export function allowlistKeysTestedByValue(document: PolicyDocument): string[] {
  const index = findAllowlistStatement(document);
  return keysTestedByValue(index === -1 ? undefined : document.Statement[index]);
}

/** Whether `request` carries every key in `keys` (one the simulator is never told about counts as missing). */
export function carriesKeys(request: RequestContext, keys: readonly string[]): boolean {
  return keys.every((key) => SUPPLIED[key]?.(request) === true);
}

/** Indices of `count` entries spread over `n`: the first, the last, and evenly between. */
export function spreadIndices(n: number, count: number): number[] {
  const k = Math.min(n, Math.max(0, count));
  if (k === 0) return [];
  if (k === 1) return [0];
  return [...new Set(Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1))))];
}

/**
 * The sample of the proof's probes for `document` (the rendered one, which its proof accepted) and its canonical
 * `entries`: at most `max`, always the same for the same input. Throws when an entry is not an address or block.
 */
export function sampleProbes(document: PolicyDocument, entries: readonly string[], options: ProofOptions, max = MAX_SAMPLED_PROBES): SampledProbe[] {
  const parsed = AddressRanges.parse(entries);
  if ('reason' in parsed) {
    entries.forEach(entryBounds); // throws, naming the entry
    throw new Error(`the entries cannot be sampled: ${parsed.reason}`);
  }
  const ranges = parsed;
  const base: RequestContext = { action: options.action, viaAwsService: false, ...(options.principal !== undefined ? { principal: options.principal } : {}) };
  const index = findAllowlistStatement(document);
  const statement = index === -1 ? undefined : document.Statement[index];
  const exempt = exemptionsOf(statement);
  const needed = keysTestedByValue(statement);

  // outsideProbes ends with one probe per exempt VPC, then one per exempt endpoint: keep the first of each.
  const all = outsideProbes(exempt, ranges, base, options.viaAwsServiceExemption ?? true);
  const core = all.slice(0, all.length - exempt.vpcs.length - exempt.vpces.length);
  const vpcProbes = all.slice(core.length, core.length + exempt.vpcs.length);
  const vpceProbes = all.slice(core.length + exempt.vpcs.length);
  const fixed = [...core, ...vpcProbes.slice(0, 1), ...vpceProbes.slice(0, 1)].map(materialize).filter((p) => carriesKeys(p.request, needed));

  const room = Math.max(0, max - fixed.length);
  const inEntries: SampledProbe[] = [];
  const outside = (address: FastAddress | undefined): address is FastAddress => address !== undefined && ranges.indexOf(address) === -1;
  spreadIndices(entries.length, Math.ceil(room / 2)).forEach((i, k) => {
    const entry = entries[i];
    const { first, last } = entryBounds(entry);
    // Alternate ends, so the sample holds both first and last addresses and neighbours below and above.
    const [inside, where] = k % 2 === 0 ? [first, 'first'] : [last, 'last'];
    inEntries.push({ request: { ...base, sourceIp: text(inside) }, expected: 'not denied', subject: `${text(inside)}, the ${where} address of ${entry}` });
    const below = step(first, -1);
    const above = step(last, 1);
    const candidates: [FastAddress | undefined, string][] = k % 2 === 0 ? [[below, 'below'], [above, 'above']] : [[above, 'above'], [below, 'below']];
    const neighbour = candidates.find(([address]) => outside(address));
    if (neighbour && neighbour[0]) {
      const address = neighbour[0];
      inEntries.push({ request: { ...base, sourceIp: text(address) }, expected: 'denied', subject: `${text(address)}, just ${neighbour[1]} ${entry} and in no entry` });
    }
  });
  return [...fixed, ...inEntries.filter((p) => carriesKeys(p.request, needed))].slice(0, max);
}
