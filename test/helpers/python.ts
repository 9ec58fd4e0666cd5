import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A script of test/tools in the source tree. Tests run from dist/test/helpers, three levels below
 * the repo root; the scripts are not compiled, so they are never copied to dist.
 */
export function testToolPath(name: string): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'tools', name);
}

export const PYREF_PATH = testToolPath('pyref.py');

/** One output line of pyref.py: `{"id", "ok", "view"}` or `{"id", "ok": false, "error"}`, plus `match` with `--check`. */
export interface PyrefLine {
  id: unknown;
  ok: boolean;
  view?: unknown;
  error?: string;
  match?: boolean;
}

export interface PyrefRun {
  /** Parsed stdout, one entry per non-empty input line, in input order. */
  lines: PyrefLine[];
  /** pyref's stderr; its last line is "N passed, N failed". */
  stderr: string;
  passed: number;
  failed: number;
  /** Exit status: 0 when every line passed, 1 otherwise. */
  status: number | null;
}

/**
 * Runs `python3 test/tools/pyref.py <args>` once, feeding `input` as stdin lines (objects are
 * written as JSON, strings as they are). Batch many cases into one call: starting Python costs
 * more than checking hundreds of pickles. Throws if python3 cannot be started or pyref crashes.
 */
export function runPyref(args: readonly string[], input: Iterable<string | object>): PyrefRun {
  const text: string[] = [];
  for (const item of input) text.push(typeof item === 'string' ? item : JSON.stringify(item));
  const res = spawnSync('python3', [PYREF_PATH, ...args], {
    input: text.join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  const summary = /(\d+) passed, (\d+) failed\s*$/.exec(res.stderr);
  if (summary === null) throw new Error(`pyref.py did not finish (status ${String(res.status)}):\n${res.stderr}`);
  const lines = res.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PyrefLine);
  return { lines, stderr: res.stderr, passed: Number(summary[1]), failed: Number(summary[2]), status: res.status };
}

/** `runPyref` output indexed by id (ids must be unique). */
export function pyrefById(run: PyrefRun): Map<unknown, PyrefLine> {
  return new Map(run.lines.map((l) => [l.id, l]));
}
