import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { PickleError } from '../../src/pickle/errors.js';
import { isPlainConstructorGlobal } from '../../src/pickle/plain-constructors.js';
import { toView, type View } from '../../src/pickle/view.js';
import { loadJsonl } from '../helpers/fixtures.js';
import { assertViewsEqual } from '../helpers/views.js';

interface OpaqueLine {
  id: string;
  kind: string;
  desc: string;
  pickle_b64: string;
  symbolic: View;
  globals: string[];
  strict_ok: boolean;
  plain_ok: boolean;
  hostile?: boolean;
}

/** Whether a view still holds something only a symbolic decode can show. */
function hasInert(v: View): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasInert);
  if ('$object' in v || '$global' in v || '$persid' in v) return true;
  return Object.values(v).some(hasInert);
}

const lines = loadJsonl('pickle/opaque.jsonl') as OpaqueLine[];

describe('opaque.jsonl: objects decode to inert records and nothing is executed', () => {
  for (const line of lines) {
    test(`${line.id}: ${line.desc}`, () => {
      const data = new Uint8Array(Buffer.from(line.pickle_b64, 'base64'));

      // Every global is only reported to the predicate, and exactly the ones the pickle names.
      const seen = new Set<string>();
      const value = decodePickle(data, {
        allowGlobal: (module, name) => {
          seen.add(`${module}.${name}`);
          return true;
        },
      });
      const view = toView(value);
      assertViewsEqual(view, line.symbolic);
      assert.deepEqual([...seen].sort(), [...new Set(line.globals)].sort());

      const strict = () => decodePickle(data, { allowGlobal: () => false, allowPersistentIds: false });
      if (line.strict_ok) strict();
      else assert.throws(strict, (e) => e instanceof PickleError && e.code === 'PICKLE_FORBIDDEN');

      // pyview --mode plain: only the plain constructors, argument-checked; anything else stays inert or is refused.
      let plainView: View | undefined;
      try {
        plainView = toView(
          decodePickle(data, {
            plainConstructors: true,
            allowGlobal: isPlainConstructorGlobal,
            allowPersistentIds: false,
          }),
        );
      } catch (e) {
        assert.ok(e instanceof PickleError && e.code === 'PICKLE_FORBIDDEN', String(e));
      }
      const plainOk = plainView !== undefined && !hasInert(plainView);
      assert.equal(plainOk, line.plain_ok);
    });
  }

  test('the fixture file is complete and includes the hostile globals', () => {
    assert.equal(lines.length, 233);
    assert.equal(lines.filter((l) => l.hostile).length, 22);
  });

  test('a refused global stops the decode before anything is built from it', () => {
    const osSystem = lines.find((l) => l.id === 'opaque-0209') as OpaqueLine;
    const data = new Uint8Array(Buffer.from(osSystem.pickle_b64, 'base64'));
    assert.throws(
      () => decodePickle(data, { allowGlobal: (module) => module !== 'os' }),
      (e) => e instanceof PickleError && e.code === 'PICKLE_FORBIDDEN',
    );
  });
});
