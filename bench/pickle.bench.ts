/**
 * Pickle decode/encode throughput against CPython's C pickle on the same data, same run.
 * Datasets: the realistic node bases of the delta fixtures, and one ~50 MB bytes-heavy
 * mesh-like node. Targets (docs/benchmarks.md): decode ≥ 0.5× CPython on realistic data and ≥ 1 GB/s on
 * bytes-heavy data; encode ≥ 0.5× CPython.
 */
import { decodePickle, encodePickle, PyDict, PyTuple, pyInt, type PyValue } from '../src/pickle/index.js';
import { loadJsonlGz, opsPerSecond, report, rssMb, runPython } from './lib/harness.js';

const budgetMs = Number(process.env.BENCH_BUDGET_MS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

function meshNode(totalMb: number): PyValue {
  const d = new PyDict();
  d.setStr('type_id', 'Mesh');
  d.setStr('uuid', '6d1c1b8e-3c41-4d0b-9a55-2f5a3c0e9b11');
  d.setStr('name', 'HeavyMesh');
  const parts: [string, number][] = [
    ['vertices', 0.4],
    ['edges', 0.2],
    ['loops', 0.2],
    ['polygons', 0.12],
    ['uv_layers', 0.08],
  ];
  for (const [name, frac] of parts) {
    const n = Math.floor((totalMb * 1024 * 1024 * frac) / 4) * 4;
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) buf.writeFloatLE(Math.sin(i), i);
    d.setStr(name, new Uint8Array(buf.buffer, buf.byteOffset, n));
  }
  d.setStr('materials', [null, 'ba7e-mat']);
  d.setStr('attributes', new PyTuple([pyInt(3), 'position', 0.5]));
  return d;
}

const realistic = loadJsonlGz('delta/realistic.jsonl.gz').map((l) =>
  Buffer.from(l.base_pickle_b64 as string, 'base64'),
);
const mesh = encodePickle(meshNode(50));
const datasets: Record<string, Buffer[]> = { realistic_nodes: realistic, mesh_50mb: [mesh] };

const py = runPython('pickle_bench.py', {
  datasets: Object.fromEntries(Object.entries(datasets).map(([k, v]) => [k, v.map((b) => b.toString('base64'))])),
  budget_ms: budgetMs,
  rounds,
});

for (const [name, blobs] of Object.entries(datasets)) {
  const bytes = blobs.reduce((n, b) => n + b.length, 0);
  const values = blobs.map((b) => decodePickle(b));
  const decodeOps = opsPerSecond(
    () => {
      for (const b of blobs) decodePickle(b);
    },
    { budgetMs, rounds },
  );
  const encodeOps = opsPerSecond(
    () => {
      for (const v of values) encodePickle(v);
    },
    { budgetMs, rounds },
  );
  const pyr = (py?.[name] ?? null) as { decode_ops: number; encode_ops: number } | null;
  report({
    bench: 'pickle',
    dataset: name,
    items: blobs.length,
    bytes,
    decode_mb_s: Math.round((decodeOps * bytes) / 1e6),
    encode_mb_s: Math.round((encodeOps * bytes) / 1e6),
    python_decode_mb_s: pyr ? Math.round((pyr.decode_ops * bytes) / 1e6) : null,
    python_encode_mb_s: pyr ? Math.round((pyr.encode_ops * bytes) / 1e6) : null,
    decode_ratio_vs_python: pyr ? Math.round((decodeOps / pyr.decode_ops) * 100) / 100 : null,
    encode_ratio_vs_python: pyr ? Math.round((encodeOps / pyr.encode_ops) * 100) / 100 : null,
    rss_mb: rssMb(),
  });
}
