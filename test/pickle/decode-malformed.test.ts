import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { PickleError, type PickleErrorCode } from '../../src/pickle/errors.js';
import { toView, type View } from '../../src/pickle/view.js';
import { loadJsonl } from '../helpers/fixtures.js';
import { assertViewsEqual } from '../helpers/views.js';

interface MalformedLine {
  id: string;
  kind: string;
  desc: string;
  error: boolean;
  expect: 'error' | 'ok' | 'ok_or_error';
  pickle_b64: string;
  full_pickle_b64?: string;
  value?: View;
  view_omitted?: string;
}

/** No line may take long: a hang or an expanded memo bomb would blow far past this. */
const MAX_MS_PER_LINE = 2000;

function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function decodeOutcome(data: Uint8Array): { ok: true; view: View | null } | { ok: false; error: unknown } {
  try {
    const v = decodePickle(data);
    let view: View | null = null;
    try {
      view = toView(v);
    } catch {
      view = null; // too large for a view (bad-01437): fine, the decode itself succeeded
    }
    return { ok: true, view };
  } catch (error) {
    return { ok: false, error };
  }
}

function assertPickleError(error: unknown, code?: PickleErrorCode): void {
  assert.ok(error instanceof PickleError, `expected a PickleError, got ${String(error)}`);
  if (code !== undefined) assert.equal(error.code, code);
}

const lines = loadJsonl('pickle/malformed.jsonl') as MalformedLine[];

/** The code each generated family must fail with; hand-written lines only need some PickleError. */
const CODE_BY_KIND: Record<string, PickleErrorCode | undefined> = {
  truncated: 'PICKLE_TRUNCATED',
  bad_opcode: 'PICKLE_BAD_OPCODE',
  limits: 'PICKLE_LIMIT',
};

describe('malformed.jsonl: hostile and broken pickles fail cleanly and quickly', () => {
  for (const line of lines) {
    test(`${line.id}: ${line.desc}`, () => {
      const started = performance.now();
      const outcome = decodeOutcome(bytesOf(line.pickle_b64));
      assert.ok(performance.now() - started < MAX_MS_PER_LINE, 'decode took too long');
      if (line.expect === 'error') {
        assert.equal(outcome.ok, false, 'must be refused');
        if (!outcome.ok) assertPickleError(outcome.error, CODE_BY_KIND[line.kind]);
        return;
      }
      if (!outcome.ok) {
        assert.equal(line.expect, 'ok_or_error', `must decode: ${String(outcome.error)}`);
        assertPickleError(outcome.error);
        return;
      }
      if (line.value !== undefined && outcome.view !== null) assertViewsEqual(outcome.view, line.value);
    });
  }

  test('the fixture file is complete', () => {
    assert.equal(lines.length, 1437);
  });
});

/** Valid pickles of every protocol, including text forms and a memoized shared list. */
const SAMPLES: Record<string, string> = {
  'protocol 0 text forms': "(lp0\nI1\naF2.5\naL12L\naS'ab'\naVx\\u20ac\nag0\na(dp1\nVk\np2\nI01\nsa.",
  'protocol 2 with LONG1 and tuples': '\x80\x02]q\x00(K\x01\x8a\x02\xff\x00X\x01\x00\x00\x00aq\x01h\x01\x86q\x02e.',
  'protocol 4 framed dict':
    '\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01\x8c\x01b\x94]\x94(G?\xe0\x00\x00\x00\x00\x00\x00\x88eu.',
  'protocol 5 bytearray and set': '\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x8f\x94(K\x01K\x02\x90C\x01z\x86.',
};

describe('every truncation of a valid pickle is refused as truncated', () => {
  for (const [name, latin1] of Object.entries(SAMPLES)) {
    test(`every prefix of the ${name} pickle fails with PICKLE_TRUNCATED`, () => {
      const full = new Uint8Array(Buffer.from(latin1, 'latin1'));
      decodePickle(full); // the sample itself is valid
      for (let cut = 0; cut < full.length; cut++) {
        assert.throws(
          () => decodePickle(full.subarray(0, cut)),
          (e) => e instanceof PickleError && e.code === 'PICKLE_TRUNCATED',
          `prefix of ${cut} bytes`,
        );
      }
    });
  }

  test('the longest truncated prefix of each fixture sample plus its STOP decodes', () => {
    // "dict p0 truncated to 51 of 52 bytes": the full pickle is that prefix followed by STOP.
    const longest = new Map<string, MalformedLine>();
    for (const l of lines.filter((x) => x.kind === 'truncated')) {
      const m = /^(.*) truncated to (\d+) of (\d+) bytes$/.exec(l.desc);
      assert.ok(m !== null, l.desc);
      if (Number(m[2]) === Number(m[3]) - 1) longest.set(m[1], l);
    }
    assert.ok(longest.size >= 7);
    for (const l of longest.values()) {
      const prefix = bytesOf(l.pickle_b64);
      const full = new Uint8Array(prefix.length + 1);
      full.set(prefix);
      full[prefix.length] = 0x2e;
      decodePickle(full);
    }
  });
});

describe('declared lengths are checked before anything is allocated', () => {
  const HALF_GIB = 512 * 1024 * 1024;
  const cases: [string, number[]][] = [
    ['BINBYTES8 of 512 MiB', [0x80, 0x04, 0x8e, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x61, 0x2e]],
    ['BYTEARRAY8 of 512 MiB', [0x80, 0x05, 0x96, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x61, 0x2e]],
    ['BINUNICODE of 4 GiB - 1', [0x80, 0x04, 0x58, 0xff, 0xff, 0xff, 0xff, 0x61, 0x2e]],
    ['BINBYTES of 512 MiB', [0x80, 0x04, 0x42, 0, 0, 0, 0x20, 0x61, 0x2e]],
    ['LONG4 of 512 MiB', [0x80, 0x04, 0x8b, 0, 0, 0, 0x20, 0x61, 0x2e]],
    ['FRAME of 512 MiB', [0x80, 0x04, 0x95, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x4e, 0x2e]],
  ];
  for (const [name, bytes] of cases) {
    test(`a ${name} declared in a few bytes fails without allocating it`, () => {
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(
        () => decodePickle(new Uint8Array(bytes)),
        (e) => e instanceof PickleError && (e.code === 'PICKLE_TRUNCATED' || e.code === 'PICKLE_LIMIT'),
      );
      assert.ok(process.memoryUsage().arrayBuffers - before < HALF_GIB / 4);
    });
  }
});

describe('corrupted pickles never escape as anything but PickleError', () => {
  test('thousands of seeded random corruptions of fixture pickles decode or throw PickleError', () => {
    const seeds = [...loadJsonl('pickle/plain.jsonl'), ...loadJsonl('pickle/opaque.jsonl')]
      .map((l: { pickle_b64: string }) => bytesOf(l.pickle_b64))
      .filter((b) => b.length < 2000);
    let state = 0x9e3779b9;
    const rnd = (): number => {
      // xorshift32: the same corruptions on every run
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 4294967296;
    };
    const structural = [0x28, 0x2e, 0x94, 0x68, 0x65, 0x75, 0x90, 0x61, 0x73, 0x52, 0x62, 0x81, 0x30, 0x31, 0x32];
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const b = seeds[Math.floor(rnd() * seeds.length)].slice();
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const at = Math.floor(rnd() * b.length);
        b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : structural[Math.floor(rnd() * structural.length)];
      }
      try {
        decodePickle(b, { plainConstructors: rnd() < 0.5, limits: { maxDepth: 8 } });
        decoded++;
      } catch (e) {
        assertPickleError(e);
      }
    }
    // Some corruptions are harmless (a changed digit); most are not.
    assert.ok(decoded > 0 && decoded < 5000);
  });
});
