// Runs every compiled benchmark under dist/bench, one process each, in name order.
// Usage: npm run bench [-- name-substring ...]    run the benchmarks whose name contains one of them
//        npm run bench -- --list                  list the benchmarks (name and what it measures)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const BENCH_DIR = 'dist/bench';
const USAGE = 'usage: npm run bench [-- --list | name-substring ...]';

const args = process.argv.slice(2);
const options = args.filter((a) => a.startsWith('-'));
const filter = args.filter((a) => !a.startsWith('-'));
const unknown = options.filter((o) => o !== '--list' && o !== '--help' && o !== '-h');
if (unknown.length > 0) {
  console.error(`run-bench: unknown option ${unknown.join(' ')}\n${USAGE}`);
  process.exit(2);
}
if (options.includes('--help') || options.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}

const all = readdirSync(BENCH_DIR)
  .filter((f) => f.endsWith('.bench.js'))
  .sort();
const files = all.filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`run-bench: no benchmark matches ${filter.join(', ')}; there are: ${all.map(benchName).join(', ')}`);
  process.exit(1);
}

if (options.includes('--list')) {
  const width = Math.max(...files.map((f) => benchName(f).length));
  for (const f of files) console.log(`${benchName(f).padEnd(width)}  ${summary(f)}`);
  process.exit(0);
}

// The environment the benchmarks' server processes get (`npm start`'s, src/cli/main.ts).
const { SERVER_ENV } = await import(pathToFileURL(join(BENCH_DIR, 'lib', 'server-launch.js')).href);
let failed = 0;
for (const f of files) {
  console.error(`# ${f}`);
  // The server's environment, for the benchmarks that run server code in-process.
  const env = { ...process.env, ...SERVER_ENV };
  const res = spawnSync(process.execPath, ['--expose-gc', join(BENCH_DIR, f)], { stdio: 'inherit', env });
  if (res.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);

function benchName(file) {
  return file.slice(0, -'.bench.js'.length);
}

/** The first sentence of the benchmark's leading doc comment (from its source: tsc may move it). */
function summary(file) {
  const source = join('bench', `${benchName(file)}.bench.ts`);
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(existsSync(source) ? source : join(BENCH_DIR, file), 'utf8'));
  if (m === null) return '';
  const text = m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim())
    .join(' ')
    .trim();
  const first = /^(.*?\.)(\s|$)/.exec(text)?.[1] ?? text;
  if (first.length <= 110) return first;
  return `${first.slice(0, 110).replace(/\s+\S*$/, '')} …`;
}
