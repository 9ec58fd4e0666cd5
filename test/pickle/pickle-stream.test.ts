/**
 * The streaming encoder: the same bytes as encodePickle for one value, output handed out in
 * bounded parts with big payloads by reference, strs safe when other encodings run between
 * writes, and misuse refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { encodePickle } from '../../src/pickle/encode.js';
import { PickleStream } from '../../src/pickle/index.js';
import { PyDict, PyTuple, pyInt, type PyValue } from '../../src/pickle/value.js';
import { toView } from '../../src/pickle/view.js';

function dict(entries: [string, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

function sample(): PyValue {
  const shared: PyValue[] = [1.5, 'x'];
  const chat = Array.from({ length: 3000 }, (_, i) =>
    dict([
      ['message', `hello ${i}`],
      ['who', 'alice'],
    ]),
  );
  return dict([
    ['shared', shared],
    ['again', shared],
    ['tuple', new PyTuple([pyInt(1), 'key', null, true])],
    ['big', Buffer.alloc(100_000, 7)],
    ['text', 'é'.repeat(40_000)],
    ['chat', chat],
  ]);
}

describe('PickleStream', () => {
  test('one value streamed is byte-identical to encodePickle', () => {
    for (const v of [null, pyInt(3), 'abc', [] as PyValue[], sample()]) {
      const s = new PickleStream();
      s.value(v);
      assert.deepEqual(Buffer.concat(s.end()), encodePickle(v));
    }
  });

  test('a list built from lazily written items decodes; parts stay bounded and big payloads are not copied', () => {
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(i % 2 === 0 ? 300_000 : 1000, i));
    const s = new PickleStream();
    const outer: PyValue[] = [];
    s.value(dict([['items', outer]]));
    s.get(outer);
    s.mark();
    const parts: Buffer[] = [];
    for (const p of payloads) {
      s.mark();
      s.bytes(p);
      s.value('label');
      s.list();
      s.boundary();
      parts.push(...s.take());
    }
    s.appends();
    s.pop();
    parts.push(...s.end());
    for (const p of payloads) {
      if (p.length < 64 * 1024) continue;
      assert.ok(
        parts.some((part) => part.buffer === p.buffer && part.byteOffset === p.byteOffset && part.length === p.length),
        'a payload of 64 KiB or more is handed out as a view of its own memory',
      );
    }
    for (const part of parts) {
      if (payloads.some((p) => p.buffer === part.buffer)) continue;
      assert.ok(part.length <= 2 * 64 * 1024 + 64, `part of ${part.length} bytes`);
    }
    const decoded = toView(decodePickle(Buffer.concat(parts)));
    const expected = toView(decodePickle(encodePickle(dict([['items', payloads.map((p) => [p, 'label'])]]))));
    assert.deepEqual(decoded, expected);
  });

  test('strs stay right when other encodings run between writes', () => {
    const s = new PickleStream();
    const list: PyValue[] = [];
    s.value(list);
    s.get(list);
    s.mark();
    for (let i = 0; i < 50; i++) {
      s.value(dict([['common', `v${i % 3}`]]));
      // Another encoding of the same strs in between reuses the shared str memo.
      encodePickle(
        dict([
          ['other', 'common'],
          ['common', `v${(i + 1) % 3}`],
        ]),
      );
    }
    s.appends();
    s.pop();
    const got = toView(decodePickle(Buffer.concat(s.end())));
    const want = toView(
      decodePickle(encodePickle(Array.from({ length: 50 }, (_, i) => dict([['common', `v${i % 3}`]])))),
    );
    assert.deepEqual(got, want);
  });

  test('get() of an object not written, and any write after end(), throw', () => {
    const s = new PickleStream();
    assert.throws(() => s.get([]), { code: 'PICKLE_UNENCODABLE' });
    s.value(null);
    s.end();
    assert.throws(() => s.value(null), /already ended/);
    assert.throws(() => s.take(), /already ended/);
  });
});
