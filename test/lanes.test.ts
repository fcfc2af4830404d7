import { DEFAULT_CONCURRENCY, runInLanes } from '../lambda/lanes';

/** A job that waits for its release, recording when it starts and ends. */
function gate(): { started: string[]; ended: string[]; running: () => number; peak: () => number; work: (name: string) => Promise<string>; release: (name: string) => void } {
  const started: string[] = [];
  const ended: string[] = [];
  const waiting = new Map<string, () => void>();
  let running = 0;
  let peak = 0;
  return {
    started,
    ended,
    running: () => running,
    peak: () => peak,
    work: async (name) => {
      started.push(name);
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => waiting.set(name, resolve));
      running--;
      ended.push(name);
      if (name.startsWith('fail')) throw new Error(`${name} failed`);
      return name.toUpperCase();
    },
    release: (name) => {
      const resolve = waiting.get(name);
      if (!resolve) throw new Error(`${name} is not waiting`);
      waiting.delete(name);
      resolve();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runInLanes', () => {
  test('runs at most `concurrency` at once, results in the items\' order, failures as rejected', async () => {
    const g = gate();
    const items = ['a', 'fail-b', 'c', 'd'];
    const done = runInLanes(items, (_, i) => `#${i}`, g.work, 2);
    await tick();
    expect(g.started).toEqual(['a', 'fail-b']);
    g.release('fail-b');
    await tick();
    expect(g.started).toEqual(['a', 'fail-b', 'c']);
    g.release('c');
    await tick();
    g.release('a');
    await tick();
    g.release('d');
    const results = await done;
    expect(g.peak()).toBe(2);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['A', 'fail-b failed', 'C', 'D']);
  });

  test('items of one lane run one after the other, in order, while other lanes go on', async () => {
    const g = gate();
    const items = ['role-x/inline-1', 'other', 'role-x/trust'];
    const done = runInLanes(items, (item) => (item.startsWith('role-x') ? 'role:x' : item), g.work, 5);
    await tick();
    // Two lanes, two running: the second item of role x waits for the first.
    expect(g.started).toEqual(['role-x/inline-1', 'other']);
    g.release('other');
    await tick();
    expect(g.started).toEqual(['role-x/inline-1', 'other']);
    g.release('role-x/inline-1');
    await tick();
    expect(g.started).toEqual(['role-x/inline-1', 'other', 'role-x/trust']);
    g.release('role-x/trust');
    expect((await done).every((r) => r.status === 'fulfilled')).toBe(true);
  });

  test('a concurrency of 1 is strictly sequential; nothing to run is nothing', async () => {
    const g = gate();
    const done = runInLanes(['a', 'b'], (_, i) => `#${i}`, g.work, 1);
    await tick();
    expect(g.started).toEqual(['a']);
    g.release('a');
    await tick();
    g.release('b');
    await done;
    expect(g.ended).toEqual(['a', 'b']);
    await expect(runInLanes([], () => 'x', g.work)).resolves.toEqual([]);
  });

  test('refuses a concurrency that could run nothing', async () => {
    await expect(runInLanes(['a'], () => 'x', async () => 1, 0)).rejects.toThrow('concurrency must be a whole number of at least 1, got 0');
    expect(DEFAULT_CONCURRENCY).toBeGreaterThan(1);
  });
});
