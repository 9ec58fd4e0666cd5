/**
 * Delta applications per second on the realistic corpus (single cases and chain steps), against
 * Python deepdiff on the same cases in the same run (Debian's python3-deepdiff when installed:
 * an older 6.x, so only the deltas it can load are compared). Target (issue 2): faster than Python.
 */
import { applyDelta, decodeDelta } from '../src/delta/index.js';
import { decodePickle } from '../src/pickle/index.js';
import { loadJsonlGz, opsPerSecond, report, runPython } from './lib/harness.js';

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
