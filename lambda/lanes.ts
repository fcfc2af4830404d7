// Running several targets (and, with the fleet, accounts) at once, bounded: independent work overlaps its waits on
// AWS, work on one resource stays in order.

/**
 * How many lanes run at once by default (`TARGET_CONCURRENCY` sets it, 1 to 50). IAM's API rate is shared by the
 * whole account, so not all at once; 10 keeps 20 targets within two rounds of requests (bench: fan-out), and the
 * client's adaptive retries slow down by themselves if IAM throttles.
 */
export const DEFAULT_CONCURRENCY = 10;

/**
 * How many lanes run at once by default when the deployment keeps a fleet (`TARGET_CONCURRENCY` still wins): each
 * account has its own IAM rate, but the function's sockets, memory and STS calls are shared; 8 at once keep 50
 * accounts within 7 rounds of requests.
 */
export const DEFAULT_FLEET_CONCURRENCY = 8;

/**
 * Runs `work` for every item, at most `concurrency` lanes at once; items with the same lane key run one after the
 * other in their given order (two targets on one role share its inline-policy budget and its trust policy's
 * neighbour: never written at the same time). Never rejects: each result says whether its item succeeded. Results
 * come back in the items' order.
 */
export async function runInLanes<T, R>(
  items: readonly T[],
  laneOf: (item: T, index: number) => string,
  work: (item: T) => Promise<R>,
  concurrency = DEFAULT_CONCURRENCY,
): Promise<PromiseSettledResult<R>[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  const lanes = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = laneOf(item, index);
    const lane = lanes.get(key);
    if (lane) lane.push(index);
    else lanes.set(key, [index]);
  });
  const queue = [...lanes.values()];
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  const worker = async (): Promise<void> => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      for (const index of lane) {
        try {
          results[index] = { status: 'fulfilled', value: await work(items[index]) };
        } catch (reason) {
          results[index] = { status: 'rejected', reason };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return results;
}
