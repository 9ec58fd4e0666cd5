/**
 * Tiny benchmark harness: run a body for a time budget several times and report medians.
 * The machine has 2 noisy cores, so every figure is a median of rounds and comparisons are
 * made against a baseline measured in the same process run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Runs `body` repeatedly for about `budgetMs`, `rounds` times; returns the median calls per second. */
export function opsPerSecond(body: () => void, opts: { budgetMs?: number; rounds?: number } = {}): number {
  const budgetMs = opts.budgetMs ?? 400;
  const rounds = opts.rounds ?? 5;
  body(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    do {
      body();
      n++;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    } while (elapsed < budgetMs);
    rates.push((n * 1000) / elapsed);
  }
  return median(rates);
}

export function loadJsonlGz(rel: string): Record<string, unknown>[] {
  const text = gunzipSync(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'data', rel))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a Python benchmark script from bench/py with JSON on stdin; returns its JSON stdout, or null if it could not run. */
export function runPython(script: string, input: unknown, python = 'python3'): Record<string, unknown> | null {
  const res = spawnSync(python, [join(REPO_ROOT, 'bench', 'py', script)], {
    input: JSON.stringify(input),
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  if (res.error || res.status !== 0) {
    process.stderr.write(`python3 ${script} failed: ${res.error?.message ?? res.stderr}\n`);
    return null;
  }
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

export function rssMb(): number {
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}

/** One result line: a JSON object per measurement, as STYLE.md §14 asks. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * The share of one core a busy thread gets on this machine right now (0–1): a tight loop for `ms`,
 * its CPU time over the wall time. On a machine shared with other jobs a single-threaded server
 * cannot use more than this, so it is the ceiling to read `server_cpu_load` against.
 */
export function busyCoreShare(ms = 200): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let x = 0;
  while (performance.now() - t0 < ms) x++;
  const c = process.cpuUsage(c0);
  const share = (c.user + c.system) / 1000 / (performance.now() - t0);
  return x > 0 ? Math.round(Math.min(1, share) * 100) / 100 : 0;
}
