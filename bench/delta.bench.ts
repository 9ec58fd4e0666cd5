/**
 * Delta applications per second on the realistic corpus (single cases and chain steps), against
 * Python deepdiff on the same cases in the same run (Debian's python3-deepdiff when installed:
 * an older 6.x, so only the deltas it can load are compared). Target (docs/benchmarks.md): faster than Python.
 */
import { applyDelta, applyDeltaStrict, decodeDelta } from '../src/delta/index.js';
import { decodePickle } from '../src/pickle/index.js';
import { loadJsonlGz, median, opsPerSecond, report, runPython } from './lib/harness.js';

const budgetMs = Number(process.env.BENCH_BUDGET_MS ?? 600);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const python = process.env.BENCH_DEEPDIFF_PYTHON ?? '/usr/bin/python3';

type Case = { base: string; delta: string };
const cases: Case[] = [];
for (const l of loadJsonlGz('delta/realistic.jsonl.gz')) {
  if (l.outcome === 'ok') cases.push({ base: l.base_pickle_b64 as string, delta: l.delta_pickle_b64 as string });
}
for (const chain of loadJsonlGz('delta/chains_realistic.jsonl.gz')) {
  let prev = chain.base_pickle_b64 as string;
  for (const step of chain.steps as Record<string, unknown>[]) {
    if (step.outcome === 'ok') cases.push({ base: prev, delta: step.delta_pickle_b64 as string });
    prev = step.expected_pickle_b64 as string;
  }
}

const decoded = cases.map((c) => ({
  base: decodePickle(Buffer.from(c.base, 'base64')),
  deltaBytes: Buffer.from(c.delta, 'base64'),
}));

function rateOver(indices: number[]): { applyOps: number; decodeApplyOps: number } {
  const subset = indices.map((i) => decoded[i]);
  const deltas = subset.map((c) => decodeDelta(c.deltaBytes));
  const perRound = subset.length;
  const applyOps =
    perRound *
    opsPerSecond(
      () => {
        for (let i = 0; i < subset.length; i++) applyDelta(subset[i].base, deltas[i]);
      },
      { budgetMs, rounds },
    );
  const decodeApplyOps =
    perRound *
    opsPerSecond(
      () => {
        for (const c of subset) applyDelta(c.base, decodeDelta(c.deltaBytes));
      },
      { budgetMs, rounds },
    );
  return { applyOps, decodeApplyOps };
}

const all = rateOver(decoded.map((_, i) => i));
report({
  bench: 'delta',
  corpus: 'realistic+chains_realistic',
  cases: decoded.length,
  apply_per_s: Math.round(all.applyOps),
  decode_and_apply_per_s: Math.round(all.decodeApplyOps),
});

// The server's strict Commit reader against the faithful decode + apply, paired round by round in
// this process (the cost of refusing what clients would misread: path checks, unknown keys).
{
  const accepted = decoded.filter((c) => {
    try {
      applyDeltaStrict(c.base, c.deltaBytes);
      return true;
    } catch {
      return false;
    }
  });
  const faithful = (): void => {
    for (const c of accepted) applyDelta(c.base, decodeDelta(c.deltaBytes));
  };
  const strict = (): void => {
    for (const c of accepted) applyDeltaStrict(c.base, c.deltaBytes);
  };
  const ratios: number[] = [];
  const strictRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const f = opsPerSecond(faithful, { budgetMs, rounds: 1 });
    const st = opsPerSecond(strict, { budgetMs, rounds: 1 });
    ratios.push(st / f);
    strictRates.push(st * accepted.length);
  }
  report({
    bench: 'delta_strict',
    cases: decoded.length,
    accepted: accepted.length,
    strict_decode_and_apply_per_s: Math.round(median(strictRates)),
    ratio_strict_faithful: Math.round(median(ratios) * 1000) / 1000,
    ratio_rounds: ratios.map((x) => Math.round(x * 1000) / 1000),
  });
}

const py = runPython(
  'delta_bench.py',
  { cases: cases.map((c) => [c.base, c.delta]), budget_ms: budgetMs * 2, rounds: 3 },
  python,
);
if (py && py.ops !== null && Array.isArray(py.usable)) {
  const sub = rateOver(py.usable as number[]);
  report({
    bench: 'delta_vs_python',
    deepdiff_version: py.version,
    cases_compared: (py.usable as number[]).length,
    decode_and_apply_per_s: Math.round(sub.decodeApplyOps),
    python_per_s: Math.round(py.ops as number),
    ratio_vs_python: Math.round((sub.decodeApplyOps / (py.ops as number)) * 10) / 10,
  });
} else {
  report({ bench: 'delta_vs_python', skipped: 'no python3 with deepdiff (apt-get install python3-deepdiff)' });
}
