/**
 * The opcode scanner's verdict against CPython's C unpickler (test/tools/plain_verdict.py: the
 * add-on's `pickle.loads`, globals refused). Where the scanner is stricter it must be on purpose:
 * PICKLE_FORBIDDEN (globals, object building, bytearray, SETITEM on a list), PICKLE_MEMO_SPARSE
 * and PICKLE_LIMIT (the size bounds); every other refusal must be one CPython makes too, and
 * every acceptance must load in CPython to plain values of the type the scanner reported.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { PickleError } from '../../src/pickle/errors.js';
import { scanPlainPickle, type PlainScan } from '../../src/pickle/scan.js';
import { encodePickle } from '../../src/pickle/encode.js';
import { PyDict, PyTuple, pyInt } from '../../src/pickle/value.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { PYREF_PATH } from '../helpers/python.js';
import { prng } from '../helpers/prng.js';

const VERDICT_PATH = PYREF_PATH.replace(/pyref\.py$/, 'plain_verdict.py');

interface PyVerdict {
  /** A PUT past index 100,000: not loaded (the scanner refuses those as PICKLE_MEMO_SPARSE). */
  skipped?: boolean;
  ok: boolean;
  type?: string;
  plain?: boolean;
  error?: string;
  /** `pickle.loads` itself; false: the file-reading strict loader, which also enforces FRAME bounds. */
  exact: boolean;
}

/** CPython's verdict on each pickle, in one Python process. */
function cpython(pickles: readonly Uint8Array[]): PyVerdict[] {
  const res = spawnSync('/usr/bin/python3', [VERDICT_PATH], {
    input: pickles.map((p) => Buffer.from(p).toString('base64')).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  if (res.error) throw res.error;
  assert.equal(res.status, 0, res.stderr);
  const out = res.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PyVerdict);
  assert.equal(out.length, pickles.length);
  return out;
}

type Outcome = { ok: true; scan: PlainScan } | { ok: false; code: string };

function scan(p: Uint8Array): Outcome {
  try {
    return { ok: true, scan: scanPlainPickle(p) };
  } catch (e) {
    assert.ok(e instanceof PickleError, `scanner threw ${String(e)}`);
    return { ok: false, code: e.code };
  }
}

const CPYTHON_FAILS_TOO = new Set([
  'PICKLE_TRUNCATED',
  'PICKLE_BAD_OPCODE',
  'PICKLE_MALFORMED',
  'PICKLE_MEMO',
  'PICKLE_PROTOCOL',
]);
const STRICTER_ON_PURPOSE = new Set(['PICKLE_FORBIDDEN', 'PICKLE_MEMO_SPARSE', 'PICKLE_LIMIT']);
const PY_TYPES: Record<string, string[]> = {
  scalar: ['int', 'float', 'bool', 'NoneType', 'str'],
  bytes: ['bytes'],
  tuple: ['tuple'],
  frozenset: ['frozenset'],
  list: ['list'],
  dict: ['dict'],
  set: ['set'],
};

/** Why the two verdicts disagree, or undefined. */
function disagreement(ours: Outcome, py: PyVerdict): string | undefined {
  if (ours.ok) {
    // Only `pickle.loads` on bytes ignores FRAME bounds, as the scanner and the client do.
    if (!py.ok) return py.exact ? `scanner accepts, CPython fails (${py.error})` : undefined;
    if (py.plain !== true) return `scanner accepts, CPython builds a non-plain ${py.type}`;
    if (!PY_TYPES[ours.scan.kind].includes(py.type as string)) return `kind ${ours.scan.kind} but CPython ${py.type}`;
    return undefined;
  }
  if (CPYTHON_FAILS_TOO.has(ours.code)) return py.ok ? `scanner ${ours.code}, CPython loads a ${py.type}` : undefined;
  if (STRICTER_ON_PURPOSE.has(ours.code)) return undefined;
  return `unexpected code ${ours.code}`;
}

/** Opcodes worth inserting: every plain one, the stack and memo ones, and a few forbidden ones. */
const INTERESTING = [
  ...'(01234abdeghijlpqrstu}])NKMJGXCBFILSTUVR'.split('').map((c) => c.charCodeAt(0)),
  0x85,
  0x86,
  0x87,
  0x88,
  0x89,
  0x8a,
  0x8c,
  0x8f,
  0x90,
  0x91,
  0x94,
  0x95,
  0x96,
  0x97,
  0x98,
  0x93,
  0x81,
];

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const b = Array.from(base);
  const at = Math.floor(r() * (b.length + 1));
  switch (Math.floor(r() * 6)) {
    case 0:
      return Uint8Array.from(b.slice(0, at));
    case 1:
      if (at < b.length) b[at] = Math.floor(r() * 256);
      break;
    case 2:
      if (at < b.length) b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)];
      break;
    case 3: {
      const ins = [INTERESTING[Math.floor(r() * INTERESTING.length)]];
      for (let k = Math.floor(r() * 3); k > 0; k--) ins.push(Math.floor(r() * 4));
      b.splice(at, 0, ...ins);
      break;
    }
    case 4:
      b.splice(at, 1);
      break;
    default: {
      const from = Math.floor(r() * b.length);
      b.splice(at, 0, ...b.slice(from, from + 1 + Math.floor(r() * 8)));
    }
  }
  return Uint8Array.from(b);
}

function capturePickles(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dir = fixturePath('captures');
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
      if (line === '') continue;
      const rec = JSON.parse(line) as { frames_b64?: string[]; type_num?: number | null };
      if (rec.type_num === null || rec.type_num === undefined || rec.frames_b64 === undefined) continue;
      // Every frame but the text ones (ids, owners): pickles and bytes that only look like one.
      for (const b64 of rec.frames_b64.slice(2)) out.push(Buffer.from(b64, 'base64'));
    }
  }
  for (const f of readdirSync(fixturePath('captures/samples'))) {
    if (f.endsWith('.pkl')) out.push(readFileSync(fixturePath(`captures/samples/${f}`)));
  }
  return out;
}

function fixturePickles(file: string): Uint8Array[] {
  return loadJsonl(file).map((item: { pickle_b64: string }) => Buffer.from(item.pickle_b64, 'base64'));
}

function checkAgainstCPython(pickles: readonly Uint8Array[]): { compared: number; stricter: number } {
  const ours = pickles.map(scan);
  const theirs = cpython(pickles);
  const problems: string[] = [];
  let stricter = 0;
  let compared = 0;
  pickles.forEach((p, i) => {
    if (theirs[i].skipped === true) {
      if (ours[i].ok)
        problems.push(`${Buffer.from(p).toString('base64').slice(0, 120)}: accepted with a huge PUT index`);
      return;
    }
    compared += 1;
    const d = disagreement(ours[i], theirs[i]);
    if (d !== undefined) problems.push(`${Buffer.from(p).toString('base64').slice(0, 120)}: ${d}`);
    else if (!ours[i].ok && theirs[i].ok) stricter += 1;
  });
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} disagreements`);
  return { compared, stricter };
}

describe('the plain-pickle scanner agrees with CPython', () => {
  test('on every plain, malformed and opaque fixture pickle', () => {
    const all = [
      ...fixturePickles('pickle/plain.jsonl'),
      ...fixturePickles('pickle/malformed.jsonl'),
      ...fixturePickles('pickle/opaque.jsonl'),
    ];
    const { compared } = checkAgainstCPython(all);
    assert.ok(compared > 3000, `only ${compared} compared`);
  });

  test('on MARK, a run of fixed-width scalars and APPENDS/SETITEMS onto every kind of target', () => {
    // The scanner takes such a run straight into its container (no slot per value): every
    // target and count must still get CPython's verdict.
    const targets = ['5d', '7d', '29', '8f', '4e', '4b01', '']; // list, dict, tuple, set, None, int, nothing
    const runs = ['', '4b01', '4b014b02', '4e4e4e', '88894a000000014701020304050607084d0100'];
    const ops = ['65', '75'];
    const pickles: Uint8Array[] = [];
    for (const t of targets)
      for (const r of runs)
        for (const op of ops) {
          pickles.push(hex(`8002 ${t} 28 ${r} ${op} 2e`));
          // Nested: the container inside a list, and a run after a value that breaks the pattern.
          pickles.push(hex(`8002 5d 28 ${t} 28 ${r} ${op} 65 2e`));
          pickles.push(hex(`8002 ${t} 28 8c0161 ${r} ${op} 2e`));
        }
    checkAgainstCPython(pickles);
    assert.equal(scanCode(hex('8002 5d 28 4b01 4b02 65 2e')), 'ok');
    assert.equal(scanCode(hex('8002 7d 28 4b01 4b02 75 2e')), 'ok');
    assert.equal(scanCode(hex('8002 7d 28 4b01 4b02 65 2e')), 'PICKLE_MALFORMED');
    assert.equal(scanCode(hex('8002 5d 28 4b01 4b02 75 2e')), 'PICKLE_FORBIDDEN');
    assert.equal(scanCode(hex('8002 7d 28 4b01 75 2e')), 'PICKLE_MALFORMED');
    assert.equal(scanCode(hex('8002 28 4b01 65 2e')), 'PICKLE_MALFORMED');
  });

  test('on every pickle frame of the captured sessions, all accepted', () => {
    const pickles = capturePickles();
    checkAgainstCPython(pickles);
    // Frames of the real client that are plain pickles: the scanner must not refuse one of them.
    for (const p of pickles) {
      let decodable = true;
      try {
        decodePickle(p, { allowGlobal: () => false, allowPersistentIds: false });
      } catch {
        decodable = false;
      }
      if (decodable) assert.ok(scan(p).ok, Buffer.from(p).toString('base64'));
    }
  });

  test('on 6,000 mutations of real and fixture pickles', () => {
    const r = prng(0x5eed);
    const bases = [...capturePickles(), ...fixturePickles('pickle/plain.jsonl').filter((p) => p.length < 400)];
    const mutants: Uint8Array[] = [];
    for (let i = 0; i < 6000; i++) {
      let m = bases[Math.floor(r() * bases.length)];
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) m = mutate(m, r);
      mutants.push(m);
    }
    const { compared } = checkAgainstCPython(mutants);
    assert.ok(compared > 5000);
  });
});

function scanCode(p: Uint8Array, limits?: Parameters<typeof scanPlainPickle>[1]): string {
  try {
    scanPlainPickle(p, limits);
    return 'ok';
  } catch (e) {
    return (e as PickleError).code;
  }
}

function hex(s: string): Uint8Array {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

describe('the scanner refuses on purpose', () => {
  test('a memo index that skips entries: LONG_BINPUT at 2^28 and 0xffffffff, BINPUT 5 as the first entry', () => {
    assert.equal(scanCode(hex('8004 7d 72 00000010 2e')), 'PICKLE_MEMO_SPARSE');
    assert.equal(scanCode(hex('8004 7d 72 ffffffff 2e')), 'PICKLE_MEMO_SPARSE');
    assert.equal(scanCode(hex('8002 7d 71 05 2e')), 'PICKLE_MEMO_SPARSE');
    assert.equal(scanCode(Buffer.from('(dp5\n.', 'latin1')), 'PICKLE_MEMO_SPARSE');
    // In order, or overwriting an entry, is what picklers write: accepted.
    assert.equal(scanCode(hex('8002 7d 71 00 5d 71 01 71 00 68 00 2e')), 'ok');
    assert.equal(scanCode(hex('8004 7d 94 5d 94 72 00000000 6a 01000000 2e')), 'ok');
  });

  test('globals, object building, persistent ids, extensions and bytearray', () => {
    const cases = [
      '8004 8c 05 706f736978 8c 06 73797374656d 93 8c 02 6964 85 52 2e', // posix.system('id')
      '63 6f730a73797374656d0a 2e', // GLOBAL
      '8002 5d 4e 62 2e', // BUILD None on a list: CPython accepts it, the add-on never writes it
      '8002 5d 4b00 4e 73 2e', // SETITEM on a list (list[0] = None): same
      '8002 82 01 2e', // EXT1
      '8004 4b 01 51 2e', // BINPERSID
      '8005 96 0100000000000000 61 2e', // BYTEARRAY8
    ];
    for (const c of cases) assert.equal(scanCode(hex(c)), 'PICKLE_FORBIDDEN', c);
  });

  test('more containers than the budget, without building them', () => {
    const dicts = Buffer.alloc(2 + 200_000 + 1, 0x7d);
    dicts[0] = 0x80;
    dicts[1] = 4;
    dicts[dicts.length - 1] = 0x2e;
    assert.equal(scanCode(dicts), 'PICKLE_LIMIT'); // 200,000 > max(65,536, 200,003 / 8)
    assert.equal(scanCode(dicts, { containerBytes: 1 }), 'ok');
    assert.equal(scanCode(dicts, { containerBytes: 1, maxContainers: 199_999 }), 'PICKLE_LIMIT');
  });

  test('a tuple key that hashes too many values, once or in total', () => {
    // t0 = (); t_{k+1} = (t_k, t_k): hashing t_20 visits 2^21 values in CPython (no cache).
    let hexs = '8004 29 94';
    for (let k = 0; k < 20; k++)
      hexs += ` 68 ${k.toString(16).padStart(2, '0')} 68 ${k.toString(16).padStart(2, '0')} 86 94`;
    assert.equal(scanCode(hex(hexs + ' 2e')), 'ok', 'sharing alone is cheap');
    assert.equal(scanCode(hex(hexs + ' 7d 94 68 14 4e 73 2e')), 'PICKLE_LIMIT');
    // A 127-value key used 100,000 times: 12.7 M values hashed.
    let small = '8004 29 94';
    for (let k = 0; k < 6; k++)
      small += ` 68 ${k.toString(16).padStart(2, '0')} 68 ${k.toString(16).padStart(2, '0')} 86 94`;
    const key = '68 06'; // t6: 127 values
    const pairs = ` ${key} 4e`.repeat(100_000);
    assert.equal(scanCode(hex(small + ' 7d 28' + pairs + ' 75 2e')), 'PICKLE_LIMIT');
  });

  test('the top-level kind is reported for the caller to check', () => {
    assert.equal(scanPlainPickle(encodePickle(PyDict.from([['a', pyInt(1)]]))).kind, 'dict');
    assert.equal(scanPlainPickle(encodePickle([])).kind, 'list');
    assert.equal(scanPlainPickle(encodePickle(new PyTuple([]))).kind, 'tuple');
    assert.equal(scanPlainPickle(encodePickle(null)).kind, 'scalar');
  });
});

describe('the decoder has the same container budget', () => {
  test('9.9 M empty dicts stop at the budget, in the scanner and in the decoder', () => {
    const n = 9_900_000;
    const b = Buffer.alloc(n + 5, 0x7d);
    b.set([0x80, 0x04, 0x5d, 0x28], 0);
    b[n + 3] = 0x65;
    b[n + 4] = 0x2e;
    assert.equal(scanCode(b), 'PICKLE_LIMIT');
    // The budget of command data (session limits: maxCommandContainers).
    assert.throws(
      () => decodePickle(b, { limits: { maxContainers: 2_000 } }),
      (e: PickleError) => e.code === 'PICKLE_LIMIT',
    );
    const fits = Buffer.from(b.subarray(0, 20_005));
    fits[20_003] = 0x65;
    fits[20_004] = 0x2e;
    assert.equal((decodePickle(fits, { limits: { maxContainers: 20_000 } }) as unknown[]).length, 19_999);
  });
});

describe('the decoder bounds hashing over the whole pickle', () => {
  test('a shared 127-value tuple used as 10,000 keys is refused, not hashed 1.27 M times', () => {
    let small = '8004 29 94';
    for (let k = 0; k < 6; k++)
      small += ` 68 ${k.toString(16).padStart(2, '0')} 68 ${k.toString(16).padStart(2, '0')} 86 94`;
    const pairs = ' 68 06 4e'.repeat(10_000);
    const p = hex(small + ' 7d 28' + pairs + ' 75 2e');
    assert.throws(
      () => decodePickle(p),
      (e: PickleError) => e.code === 'PICKLE_LIMIT',
    );
    // The same key 1,000 times is fine (127,000 values hashed).
    const few = hex(small + ' 7d 28' + ' 68 06 4e'.repeat(1000) + ' 75 2e');
    assert.ok(decodePickle(few) instanceof PyDict);
  });
});
