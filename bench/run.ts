/**
 * `npm run bench`: every figure, offline, printed as one table with its target and pass/MISS, and the machine
 * it ran on. Figures are measured, never asserted: this exits 0 whatever it finds (1 only if it cannot measure).
 * Each figure lives in its own module; see their comments for how each is measured.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { aggregation } from './aggregation';
import { bundleSize } from './bundle-size';
import { coldInit } from './cold-init';
import { fanOut } from './fan-out';
import { memory } from './memory';
import { policyCapacity } from './policy-capacity';
import { roundTrips } from './round-trips';
import { Stage } from './stage';
import { type Row, median } from './stats';

function pythonVersion(): string {
  try {
    return execFileSync('python3', ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not found';
  }
}

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/**
 * ns per iteration of a trivial loop, median of 5: the CPU this process actually got. The machine is shared
 * (2 cores, tests running beside), so compare runs by this and the load average, not by date alone.
 */
function calibrate(): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 1e7; i++) sink += i & 7;
    samples.push(Number(process.hrtime.bigint() - start) / 1e7);
  }
  if (sink < 0) console.log(sink);
  return median(samples);
}

function printTable(rows: Row[]): void {
  const notes: string[] = [];
  const cells = rows.map((r) => {
    let result = r.result ?? '';
    if (r.note) {
      notes.push(r.note);
      result += ` [${notes.length}]`;
    }
    return [r.figure, r.measured, r.spread ?? '', r.target ?? '', result];
  });
  const header = ['Figure', 'Measured (median)', 'Spread / detail', 'Target', 'Result'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
  notes.forEach((n, i) => console.log(`[${i + 1}] ${n}`));
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = load();
  const nsPerLoop = calibrate();
  const rows: Row[] = [];
  process.stderr.write('bench: building the bundle...\n');
  const bundle = await bundleSize();
  rows.push(...bundle.rows);
  // Process-level figures first, while this process is still small and quiet; the aggregation's
  // million-entry heaps come last.
  const stage = await Stage.start(bundle.deployed.file);
  try {
    process.stderr.write('bench: cold init...\n');
    rows.push(...(await coldInit(stage)));
    process.stderr.write('bench: round trips...\n');
    const trips = await roundTrips(stage);
    rows.push(...trips.rows);
    process.stderr.write('bench: memory...\n');
    rows.push(...(await memory(stage, 5, trips.warmReport.maxRssKb)));
    process.stderr.write('bench: fan-out (1, 5, 20, 50 targets)...\n');
    rows.push(...(await fanOut(stage)));
  } finally {
    await stage.close();
  }
  process.stderr.write('bench: policy capacity...\n');
  rows.push(...policyCapacity());
  process.stderr.write('bench: aggregation (TypeScript and Python)...\n');
  rows.push(...aggregation());
  const cpus = os.cpus();
  console.log('');
  console.log(`allowlist-sync benchmark, ${new Date().toISOString()}`);
  console.log(
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${os.type()} ${os.release()} ${os.arch()}; ` +
      `Node ${process.version}, Python ${pythonVersion()}`,
  );
  console.log(
    `Load average ${loadBefore} before, ${load()} after; calibration loop ${nsPerLoop.toFixed(2)} ns/iteration; bench took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('(The Lambda runs nodejs24.x on ARM64; times here are this machine\'s. MB = 10^6 bytes, MiB = 2^20 bytes.)');
  console.log('');
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exit(1);
});
