/**
 * Figure: normalize() (lambda/allowlist/cidr.ts) on 10^4, 10^5, 10^6 mixed entries, against Python's
 * ipaddress.collapse_addresses on the same input in the same run (bench/aggregate.py).
 *
 * Input, deterministic (mulberry32): 80% IPv4 /24–/32 inside 16 /8s, 20% IPv6 /48–/64 inside four /32s,
 * all network-aligned; 5% exact duplicates, 5% blocks nested in an earlier one; IPv4 hosts written bare half
 * the time, IPv6 compressed (RFC 5952-like) or, one in ten, fully expanded. Both sides get the strings; only
 * parsing + aggregation is timed (TypeScript: the normalize() call; Python: ip_network + collapse_addresses).
 * normalize() runs as the Lambda runs it: lambda/allowlist bundled and minified by esbuild (under tsx every call
 * across modules would go through an export getter, which the deployed bundle does not have).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import type { SourcedValue } from '../lambda/allowlist';
import { OUT_DIR, PROJECT_ROOT } from './bundle-size';
import { Row, median, passIf, prng, rate, spread, time } from './stats';

type Normalize = typeof import('../lambda/allowlist').normalize;

/** normalize() from lambda/allowlist bundled with the deployed settings (minified, node24, cjs). */
function bundledNormalize(): Normalize {
  const outfile = path.join(OUT_DIR, 'allowlist', 'index.js');
  buildSync({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [path.join(PROJECT_ROOT, 'lambda', 'allowlist', 'index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    outfile,
    logLevel: 'error',
  });
  return (createRequire(__filename)(outfile) as { normalize: Normalize }).normalize;
}

const RATE_TARGET = 1e6;
const RATIO_TARGET = 3;

function hex4(value: number, pad: boolean): string {
  const text = value.toString(16);
  return pad ? text.padStart(4, '0') : text;
}

/** IPv6 text for a network whose set bits all lie in the first four groups. */
function ipv6Text(groups: readonly number[], prefix: number, expanded: boolean): string {
  if (expanded) return `${[...groups, 0, 0, 0, 0].map((g) => hex4(g, true)).join(':')}/${prefix}`;
  let last = groups.length;
  while (last > 0 && groups[last - 1] === 0) last--;
  return `${groups.slice(0, last).map((g) => hex4(g, false)).join(':')}::/${prefix}`;
}

function ipv4Text(network: number, prefix: number, bare: boolean): string {
  const address = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}`;
  return prefix === 32 && bare ? address : `${address}/${prefix}`;
}

/** `count` entries as described above; `ipv4Share` 1 gives the IPv4-only variant. */
export function aggregationInput(count: number, ipv4Share = 0.8, seed = 42): string[] {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const firstOctets = Array.from({ length: 16 }, () => 1 + int(223));
  const v6Prefixes = Array.from({ length: 4 }, () => [0x2000 + int(0x1000), int(0x10000)]);
  // Earlier blocks, for duplicates and nesting: [family, network (v4) or groups (v6), prefix].
  const v4Seen: [number, number][] = [];
  const v6Seen: [number[], number][] = [];
  const out: string[] = [];
  while (out.length < count) {
    const v4 = random() < ipv4Share;
    const pick = random();
    if (pick < 0.05 && out.length > 0) {
      out.push(out[int(out.length)]);
      continue;
    }
    if (v4) {
      let network: number;
      let prefix: number;
      if (pick < 0.1 && v4Seen.length > 0) {
        const [outer, outerPrefix] = v4Seen[int(v4Seen.length)];
        prefix = Math.min(32, outerPrefix + 1 + int(4));
        network = (outer + int(2 ** (32 - outerPrefix))) >>> 0;
      } else {
        prefix = 24 + int(9);
        network = ((firstOctets[int(16)] << 24) | int(1 << 24)) >>> 0;
      }
      network = network - (network % 2 ** (32 - prefix));
      v4Seen.push([network, prefix]);
      out.push(ipv4Text(network, prefix, random() < 0.5));
    } else {
      let groups: number[];
      let prefix: number;
      if (pick < 0.1 && v6Seen.length > 0) {
        const [outer, outerPrefix] = v6Seen[int(v6Seen.length)];
        prefix = Math.min(64, outerPrefix + 1 + int(8));
        groups = [...outer];
      } else {
        prefix = 48 + int(17);
        groups = [...v6Prefixes[int(4)], int(0x10000), int(0x10000)];
      }
      // Random bits below the outer block's prefix (for nesting), then clear the host bits.
      if (pick < 0.1) groups[3] = groups[3] | int(0x10000);
      const keep = prefix - 48;
      groups[3] = keep === 0 ? 0 : groups[3] & ((0xffff << (16 - keep)) & 0xffff);
      v6Seen.push([groups, prefix]);
      out.push(ipv6Text(groups, prefix, random() < 0.1));
    }
  }
  return out;
}

/**
 * Python needs ~100× longer than the budget of the whole bench allows at 10^6 on a busy 2-core machine, so
 * it gets a deadline: a run cut short still proves a lower bound on the ratio (Python took at least that long).
 */
const PYTHON_DEADLINE_MS = 30_000;

interface Measured {
  count: number;
  tsMs: number[];
  tsBlocks: number;
  pyMs?: number[];
  pyBlocks?: number;
  /** Python hit PYTHON_DEADLINE_MS: pyMs is then a lower bound. */
  pyStopped?: boolean;
}

function measure(normalize: Normalize, count: number, ipv4Share: number, runs: number, pythonRuns: number, dir: string): Measured {
  // Flat strings, as JSON.parse hands them over from OCM (built ones would be ropes, slower to scan).
  const lines = JSON.parse(JSON.stringify(aggregationInput(count, ipv4Share))) as string[];
  const entries: SourcedValue[] = lines.map((value) => ({ value, source: 'bench' }));
  let tsBlocks = 0;
  const tsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    tsMs.push(
      time(() => {
        tsBlocks = normalize(entries).cidrs.length;
      }),
    );
  }
  if (pythonRuns === 0) return { count, tsMs, tsBlocks };
  const file = path.join(dir, `input-${count}.txt`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const script = path.join(__dirname, 'aggregate.py');
  const python = spawnSync('python3', [script, file, String(pythonRuns)], { encoding: 'utf8', timeout: PYTHON_DEADLINE_MS, killSignal: 'SIGKILL' });
  if (python.signal === 'SIGKILL') return { count, tsMs, tsBlocks, pyMs: [PYTHON_DEADLINE_MS], pyStopped: true };
  if (python.status !== 0) throw new Error(`aggregate.py failed (${python.error?.message ?? `exit ${python.status}`}): ${python.stderr}`);
  const answer = JSON.parse(python.stdout) as { seconds: number[]; blocks: number };
  return { count, tsMs, tsBlocks, pyMs: answer.seconds.map((s) => s * 1000), pyBlocks: answer.blocks };
}

const POWERS: Record<number, string> = { 1e4: '10^4', 1e5: '10^5', 1e6: '10^6' };

/** The rows of this figure. Runs: median of several for TypeScript; Python, slower, fewer at 10^6. */
export function aggregation(): Row[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'allowlist-sync-aggregate-'));
  const rows: Row[] = [];
  let mixedMedian1e6 = NaN;
  try {
    const normalize = bundledNormalize();
    // Warm the JIT on a small list first, as a long-lived process would be.
    normalize(aggregationInput(2000).map((value) => ({ value, source: 'warm-up' })));
    const plans: [number, number, number][] = [
      [1e4, 15, 3],
      [1e5, 7, 1],
      [1e6, 3, 1],
    ];
    for (const [count, runs, pythonRuns] of plans) {
      const m = measure(normalize, count, 0.8, runs, pythonRuns, dir);
      const tsMedian = median(m.tsMs);
      if (count === 1e6) mixedMedian1e6 = tsMedian;
      const tsRate = count / (tsMedian / 1000);
      const pyMedian = median(m.pyMs ?? [NaN]);
      const ratio = pyMedian / tsMedian;
      const agree = m.pyStopped || m.tsBlocks === m.pyBlocks ? '' : ` (block counts differ: ${m.tsBlocks} vs Python ${m.pyBlocks})`;
      const pyText = m.pyStopped
        ? `≥ ${ratio.toFixed(1)}× faster (Python stopped at ${PYTHON_DEADLINE_MS / 1000} s)`
        : `${ratio.toFixed(1)}× faster (Python ${pyMedian.toFixed(0)} ms)${agree}`;
      rows.push({
        figure: `Aggregation ${POWERS[count]} mixed (→ ${m.tsBlocks.toLocaleString('en')} blocks)`,
        measured: `${rate(tsRate)} (${tsMedian.toFixed(1)} ms)`,
        spread: spread(m.tsMs, (v) => `${v.toFixed(1)} ms`),
        target: '≥ 1 M/s',
        result: passIf(tsRate >= RATE_TARGET),
        note: tsRate < RATE_TARGET ? `${POWERS[count]}: ${((1 - tsRate / RATE_TARGET) * 100).toFixed(0)}% under the rate target` : undefined,
      });
      rows.push({
        figure: `  vs Python ipaddress ${POWERS[count]}`,
        measured: pyText,
        spread: m.pyStopped ? 'lower bound, n=1' : spread(m.pyMs ?? [], (v) => `${v.toFixed(0)} ms`),
        target: '≥ 3×',
        result: passIf(ratio >= RATIO_TARGET && agree === ''),
      });
    }
    const v4 = measure(normalize, 1e6, 1, 3, 0, dir);
    const v4Median = median(v4.tsMs);
    // Mixed time = 0.8 N × (cost of an IPv4 entry) + 0.2 N × (cost of an IPv6 entry): what IPv6 costs.
    const mixed = rows.find((r) => r.figure.startsWith('Aggregation 10^6'));
    const mixedMs = mixedMedian1e6;
    const v4Cost = v4Median / 1e6;
    const v6Cost = (mixedMs - 0.8 * 1e6 * v4Cost) / (0.2 * 1e6);
    if (mixed?.note) {
      mixed.note += `; an IPv6 entry costs ${(v6Cost * 1000).toFixed(1)} µs, ${(v6Cost / v4Cost).toFixed(1)}× an IPv4 one (${(v4Cost * 1000).toFixed(2)} µs): IPv6 goes through BigInt (fastIpv6, toRanges, rangeToCidrs in lambda/allowlist)`;
    }
    rows.push({
      figure: `  IPv4 only, 10^6 (→ ${v4.tsBlocks.toLocaleString('en')} blocks)`,
      measured: `${rate(1e6 / (v4Median / 1000))} (${v4Median.toFixed(1)} ms)`,
      spread: spread(v4.tsMs, (v) => `${v.toFixed(1)} ms`),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
