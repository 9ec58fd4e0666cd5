/**
 * One test per deliberate deviation from the reference server (docs/security.md; REPLICATION-PROTOCOL.md
 * §9 lists what the reference accepts). Each shows the hostile or unchecked input being refused,
 * logged with a rate-limit key, and never reaching another client.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodePickle, type PyDict, PyGlobal, PyObject, PyTuple } from '../../src/pickle/index.js';
import { MessageType, strDict, type Node } from '../../src/protocol/index.js';
import {
  commandsTo,
  commitFrames,
  deleteFrames,
  Harness,
  heartbeatsTo,
  kickFrames,
  logs,
  nodeData,
  nodeFrames,
  only,
  renameDelta,
  rightFrames,
  sends,
  serverSnapshotFrames,
} from './helpers.js';

/** alice (admin) and bob logged in, an active session, and `locked` held by bob. */
function withLock(): { h: Harness; alice: string; bob: string; carol: string } {
  const h = new Harness();
  const alice = h.login('alice', { admin: true });
  h.init(alice, 1);
  const bob = h.login('bob');
  const carol = h.login('carol');
  h.data(bob, nodeFrames('locked', 'COMMON', [], nodeData('locked', 'Original')));
  h.command(bob, rightFrames('bob', ['locked'], 'bob'));
  return { h, alice, bob, carol };
}

/** The rejection contract: nothing sent, one warn line with a rate-limit key. */
function assertRejected(fx: ReturnType<Harness['command']>): void {
  assert.equal(sends(fx).length, 0, 'nothing may be sent');
  const warns = logs(fx, 'warn');
  assert.equal(warns.length, 1, JSON.stringify(logs(fx)));
  assert.ok(warns[0].key !== undefined && warns[0].key.length > 0);
}

describe('deviations from the reference', () => {
  test('a Node from an identity that never logged in is dropped (cap: 09)', () => {
    const h = new Harness();
    const alice = h.login('alice');
    assertRejected(h.data(h.newIdentity(), nodeFrames('m', 'COMMON', [], nodeData('m'))));
    assert.equal(h.fetch(alice, 'm'), 'removed');
  });

  test('Delete, Right, Kick and metadata from an identity that never logged in are dropped (cap: 09)', () => {
    const { h } = withLock();
    const stranger = h.newIdentity();
    for (const frames of [deleteFrames('locked'), rightFrames('m', ['locked'], 'COMMON'), kickFrames('m', 'bob')]) {
      assertRejected(h.command(stranger, frames));
    }
    assert.equal(h.session.listUsers().length, 3);
  });

  test('a ServerSnapshot INIT from an identity that never logged in gets no answer (crash: server_snapshot_INIT_unauthenticated)', () => {
    const h = new Harness();
    const fx = h.command(
      h.newIdentity(),
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['x']],
      ]),
    );
    assertRejected(fx);
    assert.equal(h.session.phase, 'WAITING');
  });

  test('heartbeat traffic other than INIT from an unknown identity is dropped', () => {
    const h = new Harness();
    const id = h.newIdentity();
    const fx = h.heartbeat(id, 'PONG');
    assert.equal(sends(fx).length, 0);
    assert.deepEqual(heartbeatsTo(h.tick(h.now + 2000), id), []);
  });

  test('a Node for a node locked by another user is refused, for admins too', () => {
    const { h, alice, carol } = withLock();
    assertRejected(h.data(carol, nodeFrames('locked', 'COMMON', [], nodeData('locked', 'Hijacked'))));
    assertRejected(h.data(alice, nodeFrames('locked', 'COMMON', [], nodeData('locked', 'Hijacked'))));
    assert.equal((h.fetch(carol, 'locked') as Node).owner, 'bob');
  });

  test('a Commit for a node locked by another user is refused', () => {
    const { h, carol } = withLock();
    assertRejected(h.data(carol, commitFrames('locked', [], renameDelta('Hijacked'))));
  });

  test('a Delete of a node locked by another user is refused and not echoed', () => {
    const { h, carol } = withLock();
    assertRejected(h.command(carol, deleteFrames('locked')));
    assert.notEqual(h.fetch(carol, 'locked'), 'removed');
  });

  test('a Right re-owning a node locked by another user is refused for non-admins (cap: 09 mallory)', () => {
    const { h, carol } = withLock();
    assertRejected(h.command(carol, rightFrames('carol', ['locked'], 'carol')));
    assert.equal((h.fetch(carol, 'locked') as Node).owner, 'bob');
  });

  test('an admin may re-own any node with a Right, and the echo reaches everyone', () => {
    const { h, alice, bob } = withLock();
    const fx = h.command(alice, rightFrames('alice', ['locked'], 'COMMON'));
    const echo = only(commandsTo(fx, bob, MessageType.Right));
    assert.equal(echo.type === MessageType.Right && echo.owner, 'alice');
    assert.equal((h.fetch(bob, 'locked') as Node).owner, 'COMMON');
  });

  test('a Right mixing allowed and locked nodes applies and echoes only the allowed ones', () => {
    const { h, bob, carol } = withLock();
    h.data(carol, nodeFrames('free', 'COMMON', [], nodeData('free')));
    const fx = h.command(carol, rightFrames('carol', ['free', 'locked'], 'carol'));
    const echo = only(commandsTo(fx, bob, MessageType.Right));
    assert.deepEqual((echo.data as PyDict).get('uuid'), ['free']);
    assert.equal(logs(fx, 'warn').length, 1);
    assert.equal((h.fetch(bob, 'free') as Node).owner, 'carol');
  });

  test('a Right or a new Node naming an owner who is not logged in is refused', () => {
    const { h, carol } = withLock();
    assertRejected(h.command(carol, rightFrames('carol', ['locked'], 'ghost')));
    assertRejected(h.data(carol, nodeFrames('new', 'ghost', [], nodeData('new'))));
  });

  test('Kick is admin-only, and nobody can kick themselves or the archive entry', () => {
    const { h, alice, bob } = withLock();
    assertRejected(h.command(bob, kickFrames('bob', 'carol')));
    assertRejected(h.command(alice, kickFrames('alice', 'alice')));
    assertRejected(h.command(alice, kickFrames('alice', '~archive')));
    assert.equal(h.session.listUsers().length, 3);
  });

  test('node data holding a global, an object or a persistent id is neither stored nor relayed (cap: 10)', () => {
    const { h, carol } = withLock();
    const evil = [
      new PyGlobal('builtins', 'print'),
      new PyObject('REDUCE', new PyGlobal('os', 'system'), new PyTuple(['id'])),
    ];
    for (const value of evil) {
      assertRejected(
        h.data(
          carol,
          nodeFrames(
            'evil',
            'COMMON',
            [],
            strDict([
              ['type_id', 'Object'],
              ['x', value],
            ]),
          ),
        ),
      );
    }
    assertRejected(h.data(carol, nodeFrames('evil', 'COMMON', [], 'not a dict')));
    assert.equal(h.fetch(carol, 'evil'), 'removed');
  });

  test("a delta naming a global outside deepdiff's allow-list is refused", () => {
    const { h, carol } = withLock();
    h.data(carol, nodeFrames('n', 'COMMON', [], nodeData('n')));
    const delta = encodePickle(
      strDict([
        ['values_changed', strDict([["root['name']", strDict([['new_value', new PyGlobal('os', 'system')]])]])],
      ]),
    );
    assertRejected(h.data(carol, commitFrames('n', [], delta)));
  });

  test('a relayed message gets the canonical frame 0 even when the sender wrote another pickle of the type', () => {
    const { h, alice, carol } = withLock();
    const frames = deleteFrames('nope');
    frames[0] = Buffer.from('I4\n.', 'latin1'); // protocol 0 pickle of the int 4
    const echo = only(sends(h.command(carol, frames), 'command'));
    assert.ok(echo.to.includes(alice));
    assert.ok(Buffer.from(echo.frames[0]).equals(Buffer.from([0x80, 0x04, 0x4b, 0x04, 0x2e])));
    assert.ok(Buffer.from(echo.frames[2]).equals(frames[2]));
  });

  test('client-chosen text cannot forge log lines: control characters are escaped', () => {
    const { h, carol } = withLock();
    const fx = h.data(carol, commitFrames('x\n12:00:00 SERVER INFO forged', [], renameDelta('X')));
    const line = only(logs(fx, 'warn')).message;
    assert.ok(!line.includes('\n'));
    assert.ok(line.includes('x\\n12:00:00'));
  });

  test('a message with more frames than maxFramesPerMessage is refused', () => {
    const h = new Harness({ limits: { maxFramesPerMessage: 5 } });
    const alice = h.login('alice');
    const frames = [...nodeFrames('n', 'COMMON', [], nodeData('n')), Buffer.alloc(1)];
    assertRejected(h.data(alice, frames));
  });

  test('a node payload above maxPayloadFrameBytes is refused before decoding', () => {
    const h = new Harness({ limits: { maxPayloadFrameBytes: 1000 } });
    const alice = h.login('alice');
    assertRejected(h.data(alice, nodeFrames('n', 'COMMON', [], nodeData('n', 'x'.repeat(2000)))));
  });

  test('a new node beyond maxNodes is refused', () => {
    const h = new Harness({ limits: { maxNodes: 2 } });
    const alice = h.login('alice');
    h.init(alice, 2);
    assertRejected(h.data(alice, nodeFrames('third', 'COMMON', [], nodeData('third'))));
  });

  test('a large message from an identity that never logged in is dropped before decoding', () => {
    const h = new Harness({ limits: { maxPreAuthMessageBytes: 100 } });
    const fx = h.command(h.newIdentity(), [
      Buffer.from([0x80, 0x04, 0x4b, 0x09, 0x2e]),
      Buffer.from('x'),
      Buffer.alloc(200),
    ]);
    assertRejected(fx);
  });
});
