import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { PickleError } from '../../src/pickle/errors.js';
import { toView, type View } from '../../src/pickle/view.js';
import { loadJsonl } from '../helpers/fixtures.js';
import { assertViewsEqual } from '../helpers/views.js';

interface PlainLine {
  id: string;
  kind: string;
  desc: string;
  pickle_b64: string;
  value: View;
  symbolic?: View;
  globals: string[];
  strict_ok: boolean;
}

function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function assertView(actual: View, expected: View): void {
  assertViewsEqual(actual, expected);
}

const lines = loadJsonl('pickle/plain.jsonl') as PlainLine[];

describe('plain.jsonl: plain values at protocols 0-5 decode as CPython reads them', () => {
  for (const line of lines) {
    test(`${line.id}: ${line.desc}`, () => {
      const data = bytesOf(line.pickle_b64);

      // Default decode is structural: constructors written through globals stay inert.
      assertView(toView(decodePickle(data)), line.symbolic ?? line.value);

      // With the plain constructors resolved, the result is what pickle.loads returns.
      assertView(toView(decodePickle(data, { plainConstructors: true })), line.value);

      // strict_ok: decodes with every global and persistent id refused.
      const strict = { allowGlobal: () => false, allowPersistentIds: false };
      if (line.strict_ok) {
        assertView(toView(decodePickle(data, strict)), line.value);
      } else {
        assert.throws(
          () => decodePickle(data, strict),
          (e) => e instanceof PickleError && e.code === 'PICKLE_FORBIDDEN',
        );
      }
    });
  }

  test('the fixture file is complete', () => {
    assert.equal(lines.length, 1546);
  });
});
