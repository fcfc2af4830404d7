// The real policy engine (iam:SimulateCustomPolicy) is asked the proof's questions too, but there each question is
// one API call against IAM's account-wide rate limit. So it gets a bounded sample: every probe that does not depend
// on one entry (outside addresses, AWS services calling, KMS, VPC endpoints; one exempt VPC and one exempt endpoint,
// as the rest of a value list behaves alike), then the first or last address of entries spread over the list, each
// with its neighbour just outside. The pure proof (proof.ts) still asks every question of every entry.
import { AddressRanges, FastAddress, RequestContext } from './evaluate';
import { PolicyDocument, findAllowlistStatement } from './policy';
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
  const exempt = exemptionsOf(index === -1 ? undefined : document.Statement[index]);

  // outsideProbes ends with one probe per exempt VPC, then one per exempt endpoint: keep the first of each.
  const all = outsideProbes(exempt, ranges, base, options.viaAwsServiceExemption ?? true);
  const core = all.slice(0, all.length - exempt.vpcs.length - exempt.vpces.length);
  const vpcProbes = all.slice(core.length, core.length + exempt.vpcs.length);
  const vpceProbes = all.slice(core.length + exempt.vpcs.length);
  const fixed = [...core, ...vpcProbes.slice(0, 1), ...vpceProbes.slice(0, 1)].map(materialize);

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
  return [...fixed, ...inEntries].slice(0, max);
}
