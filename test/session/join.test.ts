import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle, type PyDict } from '../../src/pickle/index.js';
import { MessageType, type Node } from '../../src/protocol/index.js';
import { EMPTY_STORE_PLACEHOLDER_ID, logSnapshotDone } from '../../src/session/index.js';
import {
  commandsTo,
  commitFrames,
  deleteFrames,
  Harness,
  logs,
  only,
  renameDelta,
  rightFrames,
  snapshotFrames,
  stateOf,
  userList,
} from './helpers.js';

function catalogOf(h: Harness, client: string): string[] {
  const fx = h.command(client, snapshotFrames([['STATE', 'REQUEST_INIT']]));
  const init = only(commandsTo(fx, client, MessageType.Snapshot));
  assert.equal(stateOf(init), 'INIT');
  return (init.data as PyDict).get('CATALOG') as string[];
}

describe('Snapshot join', () => {
  test('REQUEST_INIT gets every node id in store order', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const ids = h.init(alice, 3);
    const bob = h.login('bob');
    assert.deepEqual(catalogOf(h, bob), ids);
  });

  test('GET returns exactly the node asked for, with its current owner and commits applied', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const [first, second] = h.init(alice, 2);
    h.data(alice, commitFrames(second, ['dep'], renameDelta('Renamed')));
    h.command(alice, rightFrames('alice', [second], 'alice'));
    const bob = h.login('bob');
    const node = h.fetch(bob, second) as Node;
    assert.equal(node.uuid, second);
    assert.equal(node.owner, 'alice');
    assert.deepEqual(node.deps, ['dep']);
    assert.equal((decodePickle(node.dataBytes) as PyDict).get('name'), 'Renamed');
    assert.equal((h.fetch(bob, first) as Node).uuid, first);
  });

  test('GET of a deleted or never-known node gets the bytes b"removed"', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const [id] = h.init(alice, 2);
    h.command(alice, deleteFrames(id));
    assert.equal(h.fetch(alice, id), 'removed');
    assert.equal(h.fetch(alice, 'never-seen'), 'removed');
  });

  test('DONE sets the status to 2 and sends the user list to everyone', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.init(alice, 1);
    const bob = h.login('bob');
    const fx = h.command(bob, snapshotFrames([['STATE', 'DONE']]));
    for (const to of [alice, bob]) assert.equal((userList(fx, to).get('bob') as PyDict).get('status'), 2n);
    assert.ok(logs(fx, 'info').some((l) => l.message === logSnapshotDone('bob')));
  });

  test('REQUEST_INIT before the session is initialised is not answered', () => {
    const h = new Harness();
    const bob = h.login('bob');
    const fx = h.command(bob, snapshotFrames([['STATE', 'REQUEST_INIT']]));
    assert.equal(commandsTo(fx, bob).length, 0);
  });

  test('a session whose nodes were all deleted serves a placeholder id that reads as removed, never an empty catalog', () => {
    const h = new Harness();
    const alice = h.login('alice');
    for (const id of h.init(alice, 2)) h.command(alice, deleteFrames(id));
    const bob = h.login('bob');
    const catalog = catalogOf(h, bob);
    assert.deepEqual(catalog, [EMPTY_STORE_PLACEHOLDER_ID]);
    assert.equal(h.fetch(bob, catalog[0]), 'removed');
  });

  test('GET without an ID and a Snapshot without STATE are logged and ignored', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.init(alice, 1);
    for (const entries of [[['STATE', 'GET']], [['STATE', 'BOGUS']], []] as [string, string][][]) {
      const fx = h.command(alice, snapshotFrames(entries));
      assert.equal(commandsTo(fx, alice).length, 0);
      assert.equal(logs(fx, 'warn').length, 1);
    }
  });
});
