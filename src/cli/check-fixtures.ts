/**
 * `multiuser-server check-fixtures DIR`: runs every fixture under DIR through the codecs and the
 * delta engine and reports per file. Fixture files are `*.jsonl` and `*.jsonl.gz`, found
 * recursively, plus delta-sample indexes (`*.json` with `cases`); each line's kind is recognised by its fields (fixture-checks/detect.ts), so any
 * mix of fixture files works. Encode cases need CPython: they are checked by
 * `python3 test/tools/pyref.py --check`, one process per file.
 *
 * Output: one `<file>: N passed, N failed` line per file (paths relative to DIR), the failures
 * on stderr, then a total `N passed, N failed` line. Exit status 1 on any failure.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { listDirSync, pathExistsSync, readFileBytesSync, readTextFileSync, statPathSync } from '../store/index.js';

import { checkCaptureRecord } from './fixture-checks/capture.js';
import { checkDeltaCase } from './fixture-checks/delta-case.js';
import { checkDeltaChain } from './fixture-checks/delta-chain.js';
import { checkDeltaRefusal } from './fixture-checks/delta-refusal.js';
import { checkDeltaSample, isDeltaSampleIndex } from './fixture-checks/delta-sample.js';
import { detectKind, type FixtureKind } from './fixture-checks/detect.js';
import { checkMalformedPickle } from './fixture-checks/pickle-malformed.js';
import {
  judgeEncodeCase,
  prepareEncodeCase,
  type PyrefAnswer,
  type PyrefCheckItem,
} from './fixture-checks/pickle-encode.js';
import { checkOpaquePickle } from './fixture-checks/pickle-opaque.js';
import { checkPlainPickle } from './fixture-checks/pickle-plain.js';
import type { CaseResult, FixtureRecord } from './fixture-checks/result.js';

/**
 * test/tools/pyref.py of the source tree. This file runs as dist/src/cli/check-fixtures.js, three
 * levels below the repository root; the script is not compiled, so it is never copied to dist.
 */
const PYREF_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'tools', 'pyref.py');

/** Failures printed per file; the counts always include all of them. */
const MAX_FAILURES_SHOWN = 20;

type Checker = (record: FixtureRecord, fallbackId: string) => CaseResult;

const CHECKERS: Readonly<Record<Exclude<FixtureKind, 'pickle-encode'>, Checker>> = {
  capture: checkCaptureRecord,
  'delta-chain': checkDeltaChain,
  'delta-case': checkDeltaCase,
  'delta-refusal': checkDeltaRefusal,
  'pickle-malformed': checkMalformedPickle,
  'pickle-opaque': checkOpaquePickle,
  'pickle-plain': checkPlainPickle,
};

/** Every fixture file under `dir`, sorted, recursively. */
function findFixtureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of listDirSync(dir).sort()) {
    const path = join(dir, name);
    if (statPathSync(path).isDirectory()) out.push(...findFixtureFiles(path));
    else if (name.endsWith('.jsonl') || name.endsWith('.jsonl.gz') || isSampleIndexFile(path)) out.push(path);
  }
  return out;
}

/** A `*.json` file holding delta sample triples (captures/samples/delta_cases.json); other JSON files are not fixtures. */
function isSampleIndexFile(path: string): boolean {
  if (!path.endsWith('.json')) return false;
  try {
    return isDeltaSampleIndex(JSON.parse(readTextFileSync(path)));
  } catch {
    return false;
  }
}

/** Checks every triple of a delta-sample index; the pickles live in a folder named after the index. */
function checkSampleIndex(path: string): CaseResult[] {
  const doc = JSON.parse(readTextFileSync(path)) as { cases: FixtureRecord[] };
  const folder = path.slice(0, -'.json'.length);
  const read = (name: string): Uint8Array => {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new Error(`bad file name ${name}`);
    return new Uint8Array(readFileBytesSync(join(pathExistsSync(join(folder, name)) ? folder : dirname(path), name)));
  };
  return doc.cases.map((c) => checkDeltaSample(c, read));
}

function readLines(path: string): string[] {
  let raw = readFileBytesSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  return raw.toString('utf8').split('\n');
}

/**
 * Sends the prepared encode cases to CPython in one batch. When python3 or pyref.py is missing,
 * every case fails with a message saying so, rather than passing unchecked.
 */
function checkWithPyref(items: readonly PyrefCheckItem[]): CaseResult[] {
  if (items.length === 0) return [];
  const failAll = (detail: string): CaseResult[] => items.map((i) => ({ id: i.id, ok: false, detail }));
  if (!pathExistsSync(PYREF_PATH))
    return failAll(`pyref.py not found at ${PYREF_PATH}: encode cases cannot be checked`);
  const res = spawnSync('python3', [PYREF_PATH, '--mode', 'strict', '--check'], {
    input: items.map((i) => JSON.stringify(i)).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (res.error !== undefined) {
    const missing = (res.error as NodeJS.ErrnoException).code === 'ENOENT';
    return failAll(
      missing ? 'python3 not found: encode cases are checked by CPython' : `python3 failed: ${res.error.message}`,
    );
  }
  const answers = new Map<string, PyrefAnswer>();
  for (const line of res.stdout.split('\n')) {
    if (line === '') continue;
    const parsed = JSON.parse(line) as PyrefAnswer & { id: unknown };
    answers.set(String(parsed.id), parsed);
  }
  if (answers.size === 0)
    return failAll(`pyref.py gave no answer (status ${String(res.status)}): ${res.stderr.trim()}`);
  return items.map((item) => judgeEncodeCase(item, answers.get(item.id)));
}

/** Checks every line of one file. */
function checkFile(path: string): CaseResult[] {
  if (path.endsWith('.json')) return checkSampleIndex(path);
  const results: CaseResult[] = [];
  const encodeItems: PyrefCheckItem[] = [];
  readLines(path).forEach((line, i) => {
    if (line.trim() === '') return;
    const fallbackId = `line ${i + 1}`;
    let record: FixtureRecord;
    try {
      record = JSON.parse(line) as FixtureRecord;
    } catch {
      results.push({ id: fallbackId, ok: false, detail: 'not valid JSON' });
      return;
    }
    const kind = record !== null && typeof record === 'object' ? detectKind(record) : undefined;
    if (kind === undefined) {
      results.push({ id: fallbackId, ok: false, detail: 'no checker recognises this record' });
    } else if (kind === 'pickle-encode') {
      const prepared = prepareEncodeCase(record, fallbackId);
      if ('pickle_b64' in prepared) encodeItems.push(prepared);
      else results.push(prepared);
    } else {
      results.push(CHECKERS[kind](record, fallbackId));
    }
  });
  results.push(...checkWithPyref(encodeItems));
  return results;
}

/** The subcommand. Returns the exit status: 0 all passed, 1 a failure, 2 usage error. */
export async function runCheckFixtures(args: string[]): Promise<number> {
  if (args.length !== 1 || args[0].startsWith('-')) {
    process.stderr.write('usage: multiuser-server check-fixtures DIR\n');
    return 2;
  }
  const dir = resolve(args[0]);
  if (!pathExistsSync(dir) || !statPathSync(dir).isDirectory()) {
    process.stderr.write(`check-fixtures: ${args[0]} is not a directory\n`);
    return 2;
  }
  const files = findFixtureFiles(dir);
  if (files.length === 0) {
    process.stderr.write(`check-fixtures: no *.jsonl or *.jsonl.gz file under ${args[0]}\n`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const name = relative(dir, file);
    const results = checkFile(file);
    const failures = results.filter((r) => !r.ok);
    passed += results.length - failures.length;
    failed += failures.length;
    process.stdout.write(`${name}: ${results.length - failures.length} passed, ${failures.length} failed\n`);
    for (const f of failures.slice(0, MAX_FAILURES_SHOWN))
      process.stderr.write(`  FAIL ${name} ${f.id}: ${f.detail}\n`);
    if (failures.length > MAX_FAILURES_SHOWN) {
      process.stderr.write(`  ... and ${failures.length - MAX_FAILURES_SHOWN} more failures in ${name}\n`);
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
