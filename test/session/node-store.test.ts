import assert from 'node:assert/strict';
import { test } from 'node:test';

import { encodePickle } from '../../src/pickle/index.js';
import { NodeStore } from '../../src/session/node-store.js';

test('small stored frames are copies of their own; an empty dependency list is one shared pickle with the same bytes', () => {
  const store = new NodeStore();
  // Two received nodes whose frames are views of one larger buffer (a receive pool chunk).
  const pool = Buffer.alloc(4096);
  const deps4 = Buffer.from([0x80, 0x04, 0x5d, 0x94, 0x2e]);
  const data = encodePickle(['x']);
  deps4.copy(pool, 0);
  data.copy(pool, 100);
  deps4.copy(pool, 200);
  data.copy(pool, 300);
  const view = (at: number, n: number): Buffer => pool.subarray(at, at + n);
  store.put('a', 'COMMON', [], view(0, 5), view(100, data.length));
  store.put('b', 'COMMON', [], view(200, 5), view(300, data.length));
  const a = store.get('a');
  const b = store.get('b');
  assert.ok(a !== undefined && b !== undefined);
  assert.deepEqual(Buffer.from(a.dataBytes), data);
  assert.notEqual(a.dataBytes.buffer, pool.buffer, 'node data does not pin the receive buffer');
  assert.deepEqual(Buffer.from(store.depsBytesOf(a)), deps4);
  assert.equal(a.depsBytes, b.depsBytes, 'one shared [] pickle');
  assert.notEqual(a.depsBytes?.buffer, pool.buffer);
  // Protocol 5 keeps its own byte (served as received), other dependency lists are copied.
  const deps5 = Buffer.from([0x80, 0x05, 0x5d, 0x94, 0x2e]);
  store.put('c', 'COMMON', [], deps5, data);
  assert.deepEqual(Buffer.from(store.depsBytesOf(store.get('c') as never)), deps5);
  const listed = encodePickle(['a']);
  store.put('d', 'COMMON', ['a'], listed, data);
  const d = store.get('d');
  assert.deepEqual(Buffer.from(d?.depsBytes as Uint8Array), listed);
  assert.notEqual(d?.depsBytes, listed, 'copied when small');
});
