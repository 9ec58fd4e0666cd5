import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodePickle, type PickleLimits, type PyValue } from '../../src/pickle/index.js';
import { encodeServerSnapshotSet } from '../../src/client/index.js';
import { decodePlainPickle, MessageType, type Node } from '../../src/protocol/index.js';
import { fastServerSnapshotSet } from '../../src/protocol/snapshot-set-fast.js';
import { loadJsonl } from '../helpers/fixtures.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** The general path's value, or the error it throws. */
function general(frame: Uint8Array, limits?: Partial<PickleLimits>): PyValue | Error {
  try {
    return decodePlainPickle(frame, 2, limits);
  } catch (err) {
    return err as Error;
  }
}

const same = (a: PyValue, b: PyValue): boolean => encodePickle(a).equals(encodePickle(b));

/** The ServerSnapshot SETs the add-on sent in the captured sessions. */
const capturedSets: Buffer[] = ['01_main_session', '02_lobby_join', '06_raw_protocol_paths', '08_lock_leak']
  .flatMap((name) => loadJsonl(`captures/${name}.jsonl`))
  .filter((r) => r.type_num === MessageType.ServerSnapshot && r.dir === 'c2s')
  .map((r) => b64(r.frames_b64[2]))
  .filter((frame) => frame.includes('SET'));

function ourSet(dataBytes: number): Buffer {
  const node: Node = {
    type: MessageType.Node,
    uuid: '6f1d4c2e-8a3b-4f59-9d7e-2b1c0a9e8f70',
    owner: 'COMMON',
    deps: [],
    dataBytes: encodePickle(new Uint8Array(dataBytes).fill(7)),
  };
  return encodeServerSnapshotSet(node)[2];
}

describe('ServerSnapshot SET fast path', () => {
  test('every SET the add-on sent in the captures is recognised, with the value the decoder builds', () => {
    assert.ok(capturedSets.length >= 10, `only ${capturedSets.length} captured SETs`);
    for (const frame of capturedSets) {
      const fast = fastServerSnapshotSet(frame);
      assert.ok(fast !== undefined, frame.toString('hex', 0, 40));
      const slow = general(frame);
      assert.ok(!(slow instanceof Error));
      assert.ok(same(fast, slow));
    }
  });

  test('our encoder: short and 4-byte chunk lengths; chunks are views of the frame', () => {
    for (const size of [10, 300, 60_000]) {
      const frame = ourSet(size);
      const fast = fastServerSnapshotSet(frame);
      assert.ok(fast !== undefined, `${size}`);
      assert.ok(same(fast, general(frame) as PyValue));
      const chunks = (fast as { get(k: string): unknown }).get('DATA') as Uint8Array[];
      assert.equal(chunks[4].buffer, frame.buffer);
    }
    // A chunk of 64 KiB or more is written outside the frame (as Python's pickler does): general path.
    const big = ourSet(70_000);
    assert.equal(fastServerSnapshotSet(big), undefined);
    assert.ok(!(general(big) instanceof Error));
  });

  test('near misses are left to the general path', () => {
    const frame = ourSet(10);
    const variants: [string, Buffer][] = [
      ['a byte after STOP', Buffer.concat([frame, Buffer.from([0])])],
      ['protocol 5', Buffer.from(frame).fill(5, 1, 2)],
      [
        'a FRAME length one short',
        (() => {
          const f = Buffer.from(frame);
          f.writeUInt32LE(f.readUInt32LE(3) - 1, 3);
          return f;
        })(),
      ],
      ['cut before STOP', frame.subarray(0, frame.length - 1)],
      ['STATE INIT', Buffer.from(frame.toString('latin1').replace('\x8c\x03SET', '\x8c\x03INI'), 'latin1')],
    ];
    for (const [name, v] of variants) assert.equal(fastServerSnapshotSet(v), undefined, name);
    // Limits that the shape exceeds: the general path decides (and refuses).
    const tight: Partial<PickleLimits> = { maxDepth: 1 };
    assert.equal(fastServerSnapshotSet(frame, tight), undefined);
    assert.ok(general(frame, tight) instanceof Error);
    assert.equal(fastServerSnapshotSet(frame, { maxBytes: frame.length - 1 }), undefined);
  });

  test('200,000 mutated SETs: whatever the fast path accepts, the general path accepts with the same value', () => {
    const seeds = [ourSet(10), ourSet(300), capturedSets[0]];
    let state = 12345;
    const rand = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      const f = Buffer.from(seeds[i % seeds.length]);
      for (let k = 1 + rand(2); k > 0; k--) f[rand(f.length)] = rand(4) === 0 ? rand(256) : f[rand(f.length)];
      const fast = fastServerSnapshotSet(f);
      if (fast === undefined) continue;
      accepted++;
      const slow = general(f);
      assert.ok(!(slow instanceof Error), `general refuses what the fast path took: ${f.toString('hex')}`);
      assert.ok(same(fast, slow), f.toString('hex'));
    }
    assert.ok(accepted > 1000, `only ${accepted} mutants accepted: the mutation does not reach the fast path`);
  });
});
