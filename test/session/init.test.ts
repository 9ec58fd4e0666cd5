import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { PyGlobal, type PyDict } from '../../src/pickle/index.js';
import { MessageType, strDict } from '../../src/protocol/index.js';
import { logInitAborted, logInitDone } from '../../src/session/index.js';
import {
  authFrames,
  authReply,
  commandsTo,
  Harness,
  logs,
  nodeData,
  nodeFrames,
  only,
  serverSnapshotFrames,
  stateOf,
  userList,
} from './helpers.js';

const INIT = (ids: string[]): Buffer[] =>
  serverSnapshotFrames([
    ['STATE', 'INIT'],
    ['SIZE', BigInt(ids.length)],
    ['NODES', ids],
  ]);
const SET = (id: string, owner = 'COMMON', data = nodeData(id)): Buffer[] =>
  serverSnapshotFrames([
    ['STATE', 'SET'],
    ['DATA', nodeFrames(id, owner, [], data)],
  ]);
const END = (): Buffer[] => serverSnapshotFrames([['STATE', 'END']]);

function replyState(fx: ReturnType<Harness['command']>, to: string): string {
  return stateOf(only(commandsTo(fx, to, MessageType.ServerSnapshot))) as string;
}

describe('ServerSnapshot initialisation', () => {
  test('INIT is accepted, the last SET gets DONE, lobby clients get the catalog, END sets status 2', () => {
    const h = new Harness();
    const bob = h.login('bob');
    const alice = h.login('alice', { admin: true });
    assert.equal(replyState(h.command(alice, INIT(['n1', 'n2'])), alice), 'ACCEPTED');
    assert.equal(h.session.phase, 'SRV_SYNC');
    assert.deepEqual(commandsTo(h.command(alice, SET('n1')), alice), []);
    const fx = h.command(alice, SET('n2'));
    assert.equal(replyState(fx, alice), 'DONE');
    const catalog = only(commandsTo(fx, bob, MessageType.Snapshot));
    assert.equal(stateOf(catalog), 'INIT');
    assert.deepEqual((catalog.data as PyDict).get('CATALOG'), ['n1', 'n2']);
    assert.equal(commandsTo(fx, alice, MessageType.Snapshot).length, 0);
    assert.equal(h.session.phase, 'ACTIVE');
    assert.ok(logs(fx, 'info').some((l) => l.message === logInitDone('alice', 2)));
    const end = h.command(alice, END());
    assert.equal((userList(end, alice).get('alice') as PyDict).get('status'), 2n);
    assert.equal((userList(end, bob).get('bob') as PyDict).get('status'), 10n);
  });

  test('a second INIT while the first is running is REJECTED', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const bob = h.login('bob');
    h.command(alice, INIT(['n1']));
    assert.equal(replyState(h.command(bob, INIT(['x'])), bob), 'REJECTED');
  });

  test('an INIT once the session is active is REJECTED instead of killing the command loop', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.init(alice, 2);
    assert.equal(replyState(h.command(alice, INIT(['x'])), alice), 'REJECTED');
    assert.equal(h.session.nodeCount, 2);
  });

  test('an INIT with an empty or malformed NODES list is REJECTED', () => {
    const h = new Harness();
    const alice = h.login('alice');
    assert.equal(replyState(h.command(alice, INIT([])), alice), 'REJECTED');
    const fx = h.command(
      alice,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', [1n]],
      ]),
    );
    assert.equal(replyState(fx, alice), 'REJECTED');
    assert.equal(h.session.phase, 'WAITING');
  });

  test('SET from another client or of an unlisted node is logged and ignored', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const bob = h.login('bob');
    h.command(alice, INIT(['n1']));
    const fromBob = h.command(bob, SET('n1'));
    assert.equal(commandsTo(fromBob, bob).length, 0);
    assert.ok(logs(fromBob, 'warn').length > 0);
    const unlisted = h.command(alice, SET('zz'));
    assert.equal(commandsTo(unlisted, alice).length, 0);
    assert.equal(h.session.nodeCount, 0);
    assert.equal(replyState(h.command(alice, SET('n1')), alice), 'DONE');
  });

  test('SET and END with no init running are logged and ignored', () => {
    const h = new Harness();
    const alice = h.login('alice');
    for (const frames of [SET('n1'), END()]) {
      const fx = h.command(alice, frames);
      assert.equal(commandsTo(fx, alice).length, 0);
      assert.equal(logs(fx, 'warn').length, 1);
    }
    assert.equal(h.session.phase, 'WAITING');
  });

  test('when the initialiser leaves mid-init the server waits again and a new init works', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const bob = h.login('bob');
    h.command(alice, INIT(['n1', 'n2']));
    h.command(alice, SET('n1'));
    const fx = h.session.handle({ type: 'dropped', client: alice, reason: 'send queue overflow', now: h.now });
    assert.ok(logs(fx, 'warn').some((l) => l.message === logInitAborted('alice', 1, 2)));
    assert.equal(h.session.phase, 'WAITING');
    assert.equal(h.session.nodeCount, 0);
    const id = h.newIdentity();
    assert.equal(authReply(h.command(id, authFrames('carol')), id), 'LOBBY');
    assert.equal(replyState(h.command(bob, INIT(['m1'])), bob), 'ACCEPTED');
  });

  test('a listed node with a refused payload is skipped and the init still completes', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.command(alice, INIT(['good', 'evil']));
    h.command(alice, SET('good'));
    const evil = strDict([
      ['type_id', 'Object'],
      ['payload', new PyGlobal('os', 'system')],
    ]);
    const fx = h.command(alice, SET('evil', 'COMMON', evil));
    assert.equal(replyState(fx, alice), 'DONE');
    assert.equal(h.session.nodeCount, 1);
    assert.equal(h.fetch(alice, 'evil'), 'removed');
  });

  test('a node owned by someone who is not logged in is stored as COMMON', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.command(alice, INIT(['mine', 'ghost']));
    h.command(alice, SET('mine', 'alice'));
    h.command(alice, SET('ghost', 'nobody'));
    const mine = h.fetch(alice, 'mine');
    const ghost = h.fetch(alice, 'ghost');
    assert.ok(mine !== 'removed' && mine.type === MessageType.Node && mine.owner === 'alice');
    assert.ok(ghost !== 'removed' && ghost.type === MessageType.Node && ghost.owner === 'COMMON');
  });

  test('END before every listed node arrived completes the init with what was received', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const bob = h.login('bob');
    h.command(alice, INIT(['n1', 'n2']));
    h.command(alice, SET('n1'));
    const fx = h.command(alice, END());
    assert.equal(replyState(fx, alice), 'DONE');
    assert.deepEqual((only(commandsTo(fx, bob, MessageType.Snapshot)).data as PyDict).get('CATALOG'), ['n1']);
    assert.equal(h.session.phase, 'ACTIVE');
  });
});
