import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle, encodePickle, PyByteArray, PyDict, type PyValue } from '../../src/pickle/index.js';
import {
  decodeMessage,
  encodeMessage,
  isNodeRemovedMarker,
  MessageType,
  NODE_REMOVED_MARKER,
  nodeFromChunks,
  nodesFromChunkLists,
  nodesToChunkLists,
  nodeToChunks,
  ProtocolError,
  type Node,
  type ProtocolErrorCode,
} from '../../src/protocol/index.js';
import { loadJsonl } from '../helpers/fixtures.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

const capturedNodes: Node[] = loadJsonl('captures/01_main_session.jsonl')
  .filter((r) => r.type_num === MessageType.Node)
  .map((r) => decodeMessage(r.frames_b64.map(b64)) as Node);

function assertShapeError(value: PyValue, code: ProtocolErrorCode = 'PROTOCOL_SHAPE'): void {
  assert.throws(
    () => nodeFromChunks(value),
    (err: unknown) => err instanceof ProtocolError && err.code === code,
  );
}

describe('node chunk lists', () => {
  test('a received node becomes its own frames, not a re-encoding', () => {
    const node = capturedNodes[0];
    const chunks = nodeToChunks(node);
    assert.equal(chunks.length, 5);
    chunks.forEach((chunk, i) => assert.equal(chunk, node.raw?.[i]));
  });

  test('a chunk list pickles to a list of 5 bytes and reads back as the same node', () => {
    for (const node of capturedNodes) {
      const pickled = encodePickle(nodeToChunks(node));
      const back = nodeFromChunks(decodePickle(pickled));
      assert.equal(back.uuid, node.uuid);
      assert.equal(back.owner, node.owner);
      assert.deepEqual(back.deps, node.deps);
      assert.ok(Buffer.from(back.dataBytes).equals(node.dataBytes));
    }
  });

  test('a node built locally (no raw frames) gets freshly encoded chunks', () => {
    const { raw: _raw, ...fields } = capturedNodes[0];
    const chunks = nodeToChunks(fields);
    assert.deepEqual(
      chunks.map((c) => Buffer.from(c)),
      encodeMessage(fields),
    );
  });

  test('values that are not a list of at least 5 bytes are PROTOCOL_SHAPE', () => {
    const good = nodeToChunks(capturedNodes[0]);
    assertShapeError(null);
    assertShapeError(NODE_REMOVED_MARKER);
    assertShapeError(good.slice(0, 4));
    assertShapeError([good[0], 'uuid', good[2], good[3], good[4]]);
    assertShapeError([good[0], new PyByteArray(good[1]), good[2], good[3], good[4]]);
  });

  test('extra items after the fifth are ignored, like extra frames', () => {
    const good = nodeToChunks(capturedNodes[0]);
    const node = nodeFromChunks([...good, Buffer.from('extra')]);
    assert.equal(node.raw?.length, 5);
  });

  test('chunks of another type than Node are PROTOCOL_SHAPE; broken chunks keep their codec error code', () => {
    const auth = encodeMessage({ type: MessageType.Auth, owner: 'server', data: 'LOBBY' });
    assertShapeError([...auth, Buffer.from('x'), Buffer.from('y')]);
    const good = nodeToChunks(capturedNodes[0]);
    assertShapeError([good[0], Buffer.from('ff', 'hex'), good[2], good[3], good[4]], 'PROTOCOL_UTF8');
  });

  test("b'removed' is the marker; the str 'removed' and other bytes are not", () => {
    assert.equal(isNodeRemovedMarker(Buffer.from('removed')), true);
    assert.equal(isNodeRemovedMarker(new Uint8Array(Buffer.from('removed'))), true);
    assert.equal(isNodeRemovedMarker('removed'), false);
    assert.equal(isNodeRemovedMarker(Buffer.from('removeD')), false);
    assert.equal(isNodeRemovedMarker(new PyDict()), false);
  });

  test('session-file node lists convert both ways in order', () => {
    const lists = nodesToChunkLists(capturedNodes);
    const back = nodesFromChunkLists(decodePickle(encodePickle(lists)));
    assert.deepEqual(
      back.map((n) => n.uuid),
      capturedNodes.map((n) => n.uuid),
    );
    assert.throws(
      () => nodesFromChunkLists(new PyDict()),
      (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_SHAPE',
    );
  });
});
