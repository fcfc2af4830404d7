import type { Refusal } from '../../lambda/allowlist/guards';
import type { PolicyCheckRequest, PolicyVerifier } from '../../lambda/ports';
import { MAX_VERDICTS, VERDICT_TTL_MS, cachedVerifier, verdictKey } from '../../lambda/targets/verdict-cache';

// The shared verifier's memory of verdicts: the same question (policy type, document, our statement, probes) is asked
// of the engines once per hour however many targets ask it, concurrent askers share one check, and a throw is forgotten.

const request = (document = '{"Statement":[]}', target = 'iam:a'): PolicyCheckRequest => ({
  target,
  policyType: 'identity',
  document,
  entries: ['192.0.2.0/24'],
  proof: { action: 's3:ListAllMyBuckets', viaAwsServiceExemption: true },
});
const REFUSAL: Refusal = { code: 'policy-validation-findings', approvable: false, message: 'no' };

/** A verifier that counts its checks and answers from `answer` (resolving when `release` is called, if `held`). */
function counting(answer: (r: PolicyCheckRequest) => Refusal | undefined | Error = () => undefined, held = false) {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  const inner: PolicyVerifier = {
    verify: async (r) => {
      calls.push(r.target);
      if (held) await new Promise<void>((resolve) => waiting.push(resolve));
      const a = answer(r);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { inner, calls, release: () => waiting.splice(0).forEach((f) => f()) };
}

describe('cachedVerifier', () => {
  test('five targets with the same document: one check, each gets the verdict (its own copy)', async () => {
    const { inner, calls } = counting(() => REFUSAL);
    const verifier = cachedVerifier(inner);
    const verdicts = [];
    for (const t of ['a', 'b', 'c', 'd', 'e']) verdicts.push(await verifier.verify(request(undefined, `iam:${t}`)));
    expect(calls).toEqual(['iam:a']);
    expect(verdicts).toEqual(Array(5).fill(REFUSAL));
    expect(verdicts[0]).not.toBe(verdicts[1]);
  });

  test('concurrent callers of one key share the check under way', async () => {
    const engine = counting(() => undefined, true);
    const verifier = cachedVerifier(engine.inner);
    const pending = Promise.all([1, 2, 3].map((n) => verifier.verify(request(undefined, `iam:${n}`))));
    await new Promise((r) => setImmediate(r));
    engine.release();
    await expect(pending).resolves.toEqual([undefined, undefined, undefined]);
    expect(engine.calls).toHaveLength(1);
  });

  test('a throw is not kept: the caller sharing it gets it, the next one asks again', async () => {
    let fail = true;
    const { inner, calls } = counting(() => (fail ? new Error('Throttling') : undefined));
    const verifier = cachedVerifier(inner);
    await expect(Promise.all([verifier.verify(request()), verifier.verify(request())])).rejects.toThrow('Throttling');
    expect(calls).toHaveLength(1);
    fail = false;
    await expect(verifier.verify(request())).resolves.toBeUndefined();
    await expect(verifier.verify(request())).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });

  test('kept for the time given (an hour by default), then asked again', async () => {
    let now = 1_000_000;
    const { inner, calls } = counting();
    const verifier = cachedVerifier(inner, { now: () => now });
    await verifier.verify(request());
    now += VERDICT_TTL_MS - 1;
    await verifier.verify(request());
    expect(calls).toHaveLength(1);
    now += 1;
    await verifier.verify(request());
    expect(calls).toHaveLength(2);
  });

  test('at most the number given (100 by default): the oldest goes first', async () => {
    expect(MAX_VERDICTS).toBe(100);
    const { inner, calls } = counting();
    const verifier = cachedVerifier(inner, { maxEntries: 2 });
    for (const d of ['1', '2', '3']) await verifier.verify(request(d));
    await verifier.verify(request('3'));
    await verifier.verify(request('2'));
    expect(calls).toHaveLength(3);
    await verifier.verify(request('1'));
    expect(calls).toHaveLength(4);
  });

  test('the key: policy type, document, our statement, proof and probes; never the target', () => {
    const base = request();
    expect(verdictKey({ ...base, target: 'other' })).toBe(verdictKey(base));
    const different = [
      { ...base, policyType: 'trust' as const },
      { ...base, document: '{"Statement":[{}]}' },
      { ...base, ownStatement: 1 },
      { ...base, proof: { ...base.proof, viaAwsServiceExemption: false } },
      { ...base, proof: { ...base.proof, action: 'sts:AssumeRole' } },
    ];
    for (const r of different) expect(verdictKey(r)).not.toBe(verdictKey(base));
    expect(verdictKey(base, 'probes-a')).not.toBe(verdictKey(base, 'probes-b'));
  });
});
