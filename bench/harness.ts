// Shared benchmark plumbing: timed loops, percentiles, a table printer and the JSON result file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Rate {
  name: string;
  opsPerSec: number;
  iterations: number;
  note?: string;
}

/** Runs fn repeatedly for about `seconds` after a short warm-up; returns operations per second. */
export function measure(name: string, fn: (i: number) => void, seconds = 1, note?: string): Rate {
  // One counter across warm-up and the timed loop: fn(i) never sees the same i twice.
  let i = 0;
  for (; i < 200; i++) fn(i);
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let n = 0;
  while (process.hrtime.bigint() - start < budget) {
    for (let j = 0; j < 50; j++, n++) fn(i++);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, opsPerSec: n / elapsed, iterations: n, ...(note ? { note } : {}) };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(n >= 10 ? 1 : 3);
}

export function writeResult(name: string, result: object): string {
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({ name, at: new Date().toISOString(), node: process.version, ...result }, null, 2) + '\n',
  );
  return path;
}
