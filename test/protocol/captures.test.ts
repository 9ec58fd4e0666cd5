/**
 * Every message of every capture (test/fixtures/data/captures/*.jsonl, real traffic of the
 * reference client and server) through the codec: decode from `frames_b64` (the ground truth),
 * re-encode, decode again, and have CPython read every re-encoded pickled frame to the same view
 * as the original frame. One strict pyref.py process per capture file; delta frames (which hold
 * allow-listed globals, §5.2) go through one more, symbolic, process.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import { toView, viewsEqual, type View, PyDict } from '../../src/pickle/index.js';
import {
  decodeHeartbeat,
  decodeMessage,
  encodeMessage,
  messageTypeName,
  MessageType,
  nodeFromChunks,
  ProtocolError,
  type MessageTypeNumber,
  type ReplicationMessage,
} from '../../src/protocol/index.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { pyrefById, runPyref, type PyrefLine } from '../helpers/python.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

interface CaptureRecord {
  socket: 'command' | 'data' | 'ttl';
  dir: 'c2s' | 's2c';
  client: string;
  type_num: number | null;
  frames_b64: string[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the capture's own view format; only strings are read
  decoded: any;
}

/** Frame indices holding pickles, and whether the frame is a deepdiff delta (symbolic mode). */
function pickledFrames(type: number): { index: number; delta: boolean }[] {
  if (type === MessageType.Commit) return [0, 2, 3].map((index) => ({ index, delta: index === 3 }));
  if (type === MessageType.Node) return [0, 3, 4].map((index) => ({ index, delta: false }));
  return [0, 2].map((index) => ({ index, delta: false }));
}

/** The fields of a message that must survive a re-encoding, as plain comparable JSON. */
function fieldsOf(msg: ReplicationMessage): unknown {
  switch (msg.type) {
    case MessageType.Commit:
      return { type: msg.type, nodeId: msg.nodeId, deps: msg.deps, delta: Buffer.from(msg.deltaBytes).toString('hex') };
    case MessageType.Node:
      return {
        type: msg.type,
        uuid: msg.uuid,
        owner: msg.owner,
        deps: msg.deps,
        data: Buffer.from(msg.dataBytes).toString('hex'),
      };
    default:
      return { type: msg.type, owner: msg.owner, data: toView(msg.data) };
  }
}

const captureNames = readdirSync(fixturePath('captures'))
  .filter((n) => n.endsWith('.jsonl'))
  .sort();

test('all eleven capture transcripts are present', () => {
  assert.equal(captureNames.length, 11);
});

for (const name of captureNames) {
  describe(`capture ${name}`, () => {
    const records = loadJsonl(`captures/${name}`) as CaptureRecord[];
    const decoded = new Map<number, ReplicationMessage>();
    const reencoded = new Map<number, Buffer[]>();
    let strict = new Map<unknown, PyrefLine>();
    let symbolic = new Map<unknown, PyrefLine>();

    before(() => {
      const strictItems: object[] = [];
      const symbolicItems: object[] = [];
      records.forEach((r, i) => {
        if (r.socket === 'ttl' || r.type_num === null) return;
        const frames = r.frames_b64.map(b64);
        let msg: ReplicationMessage;
        let again: Buffer[];
        try {
          msg = decodeMessage(frames);
          again = encodeMessage(msg);
        } catch {
          return; // reported by the record's own test
        }
        decoded.set(i, msg);
        reencoded.set(i, again);
        for (const { index, delta } of pickledFrames(r.type_num)) {
          const items = delta ? symbolicItems : strictItems;
          items.push({ id: `${i}:${index}:orig`, pickle_b64: r.frames_b64[index] });
          items.push({ id: `${i}:${index}:re`, pickle_b64: again[index].toString('base64') });
        }
      });
      strict = pyrefById(runPyref(['--mode', 'strict'], strictItems));
      if (symbolicItems.length > 0) symbolic = pyrefById(runPyref(['--mode', 'symbolic'], symbolicItems));
    });

    records.forEach((r, i) => {
      const label = `#${i} ${r.socket} ${r.dir} ${r.client} ${r.type_num === null ? '' : messageTypeName(r.type_num as MessageTypeNumber)}`;

      if (r.socket === 'ttl') {
        test(`${label} heartbeat ${r.decoded.frames_ascii.join(',')} is read as its ASCII`, () => {
          const frames = r.frames_b64.map(b64);
          assert.deepEqual(
            frames.map((f) => f.toString('latin1')),
            r.decoded.frames_ascii,
          );
          const kind = decodeHeartbeat(frames);
          assert.equal(
            kind,
            ['INIT', 'PING', 'PONG'].includes(r.decoded.frames_ascii[0]) ? r.decoded.frames_ascii[0] : 'OTHER',
          );
        });
        return;
      }

      if (r.type_num === null) {
        test(`${label} undecodable message is refused with a ProtocolError`, () => {
          assert.throws(
            () => decodeMessage(r.frames_b64.map(b64)),
            (err: unknown) => err instanceof ProtocolError,
          );
        });
        return;
      }

      test(`${label} decodes, re-encodes and reads back the same in TS and in CPython`, () => {
        const msg = decoded.get(i);
        if (msg === undefined) {
          decodeMessage(r.frames_b64.map(b64)); // throws the reason
          assert.fail('message did not re-encode');
        }
        // Decoded fields agree with the capture's own decoding.
        assert.equal(msg.type, r.type_num);
        assert.equal(messageTypeName(msg.type), r.decoded.class);
        assert.deepEqual(
          msg.raw?.map((f) => Buffer.from(f).toString('base64')),
          r.frames_b64,
        );
        if (msg.type === MessageType.Commit) {
          assert.equal(msg.nodeId, r.decoded.node_id);
          assert.deepEqual(msg.deps, r.decoded.deps);
        } else if (msg.type === MessageType.Node) {
          assert.equal(msg.uuid, r.decoded.uuid);
          assert.equal(msg.owner, r.decoded.owner);
          assert.deepEqual(msg.deps, r.decoded.dependencies);
        } else {
          assert.equal(msg.owner, r.decoded.owner);
          const nested = r.decoded.data_DATA_decoded;
          if (nested !== undefined) {
            assert.ok(msg.data instanceof PyDict);
            const node = nodeFromChunks(msg.data.get('DATA') ?? null);
            assert.equal(node.uuid, nested.uuid);
            assert.equal(node.owner, nested.owner);
            assert.deepEqual(node.deps, nested.dependencies);
          }
        }

        // (a) our decoder reads the re-encoding back to the same message.
        const again = reencoded.get(i) as Buffer[];
        assert.deepEqual(fieldsOf(decodeMessage(again)), fieldsOf(msg));

        // (b) CPython reads every re-encoded pickled frame to the view of the original frame,
        // and our decoder agrees with CPython on the original command data.
        for (const { index, delta } of pickledFrames(msg.type)) {
          const lines = delta ? symbolic : strict;
          const orig = lines.get(`${i}:${index}:orig`);
          const re = lines.get(`${i}:${index}:re`);
          assert.ok(orig?.ok, `CPython refused original frame ${index}: ${orig?.error}`);
          assert.ok(re?.ok, `CPython refused re-encoded frame ${index}: ${re?.error}`);
          assert.ok(viewsEqual(orig.view as View, re.view as View), `frame ${index} reads differently in CPython`);
          if (index === 2 && msg.type !== MessageType.Commit && msg.type !== MessageType.Node) {
            assert.ok(viewsEqual(toView(msg.data), orig.view as View), 'TS and CPython disagree on the command data');
          }
        }
      });
    });
  });
}
