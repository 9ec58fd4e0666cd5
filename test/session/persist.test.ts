/**
 * Journal before relay (DESIGN §4): every accepted state change comes out as a
 * `persist` effect placed before the effects that let any client see it; refused operations
 * persist nothing; leaving users ask for a save.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { strDict } from '../../src/protocol/index.js';
import {
  decodeMutation,
  encodeMutation,
  Session,
  type Effect,
  type Mutation,
  type MutationType,
  type SessionImage,
} from '../../src/session/index.js';
import {
  ADMIN_PASSWORD,
  authFrames,
  commitFrames,
  deleteFrames,
  Harness,
  kickFrames,
  metadataFrames,
  nodeData,
  nodeFrames,
  renameDelta,
  rightFrames,
  sends,
  serverSnapshotFrames,
} from './helpers.js';
import { imageView } from './image-helpers.js';

/** A fresh session that replayed `journal` through the record codec, as recovery does. */
function replayed(journal: readonly Mutation[]): Session {
  const session = new Session({ adminPassword: ADMIN_PASSWORD });
  for (const m of journal) session.applyMutation(decodeMutation(encodeMutation(m)));
  return session;
}

const userNames = (image: SessionImage): string[] => Array.from(image.users.keys(), String);

function persisted(fx: readonly Effect[]): Mutation[] {
  const out: Mutation[] = [];
  for (const e of fx) if (e.type === 'persist') out.push(e.mutation);
  return out;
}

/** Index of the only persist effect of `type`, and of the first send. */
function order(fx: readonly Effect[], type: MutationType): { persist: number; firstSend: number } {
  const persist = fx.findIndex((e) => e.type === 'persist' && e.mutation.type === type);
  assert.ok(persist >= 0, `no persist of ${type}`);
  const firstSend = fx.findIndex((e) => e.type === 'send');
  assert.ok(firstSend >= 0, 'nothing sent');
  return { persist, firstSend };
}

function assertJournaledFirst(fx: readonly Effect[], type: MutationType): void {
  const { persist, firstSend } = order(fx, type);
  assert.ok(persist < firstSend, `persist of ${type} at ${persist} comes after a send at ${firstSend}`);
}

function running(): { h: Harness; alice: string; bob: string; ids: string[] } {
  const h = new Harness();
  const alice = h.login('alice', { admin: true });
  const ids = h.init(alice, 2);
  const bob = h.login('bob');
  // As the add-on does right after its login (this journals bob's login, see the login tests).
  h.command(bob, metadataFrames('bob', strDict([['frame_current', 1n]])));
  return { h, alice, bob, ids };
}

describe('persist effects', () => {
  test('a Node is journaled with its received frames before it is relayed', () => {
    const { h, bob } = running();
    const frames = nodeFrames('cube', 'COMMON', ['mesh'], nodeData('cube'));
    const fx = h.data(bob, frames);
    assertJournaledFirst(fx, 'node');
    const m = persisted(fx)[0];
    assert.ok(m.type === 'node');
    assert.equal(m.owner, 'COMMON');
    assert.deepEqual(m.deps, ['mesh']);
    assert.equal(m.depsBytes, frames[3]);
    assert.equal(m.dataBytes, frames[4]);
  });

  test('a Commit is journaled as its delta before it is relayed', () => {
    const { h, bob, ids } = running();
    const frames = commitFrames(ids[0], [], renameDelta('Renamed'));
    const fx = h.data(bob, frames);
    assertJournaledFirst(fx, 'commit');
    const m = persisted(fx)[0];
    assert.ok(m.type === 'commit');
    assert.equal(m.uuid, ids[0]);
    assert.equal(m.deltaBytes, frames[3]);
  });

  test('a Delete is journaled before it is echoed', () => {
    const { h, bob, ids } = running();
    const fx = h.command(bob, deleteFrames(ids[1]));
    assertJournaledFirst(fx, 'delete');
    assert.deepEqual(persisted(fx), [{ type: 'delete', uuids: [ids[1]] }]);
    // An unknown id is echoed as the reference does, but changes nothing.
    assert.deepEqual(persisted(h.command(bob, deleteFrames('nope'))), []);
  });

  test('a Right is journaled with the nodes it re-owns before it is echoed', () => {
    const { h, alice, bob, ids } = running();
    h.command(alice, rightFrames('alice', [ids[0]], 'alice'));
    const fx = h.command(bob, rightFrames('bob', [ids[0], ids[1], 'ghost'], 'bob'));
    assertJournaledFirst(fx, 'owner');
    assert.deepEqual(persisted(fx), [{ type: 'owner', uuids: [ids[1]], owner: 'bob' }]);
  });

  test('a login is journaled with the next change of anyone: first, in login order, unattributed', () => {
    const h = new Harness();
    const alice = h.login('alice', { admin: true });
    h.init(alice, 1);
    const journaled = h.journal.length;
    const bob = h.login('bob');
    h.login('carol');
    assert.equal(h.journal.length, journaled, 'nothing journaled at login');
    assert.deepEqual(userNames(h.session.exportImage()), ['alice'], 'not in a snapshot before it is journaled');
    const fx = h.command(bob, metadataFrames('bob', strDict([['frame_current', 3n]])));
    assert.deepEqual(
      persisted(fx).map((m) => (m.type === 'user-join' ? `${m.type} ${m.name}` : m.type)),
      ['user-join bob', 'user-join carol', 'metadata'],
    );
    assertJournaledFirst(fx, 'metadata');
    for (const e of fx) if (e.type === 'persist' && e.mutation.type === 'user-join') assert.equal(e.by, undefined);
    assert.deepEqual(userNames(h.session.exportImage()), ['alice', 'bob', 'carol']);
    assert.deepEqual(imageView(replayed(h.journal).exportImage()), imageView(h.session.exportImage()));
  });

  test('a login followed by nothing but its leave journals nothing, whatever ends it', () => {
    // alice stays (a long timeout): a leave of hers would be a change, journaling whoever waits.
    const h = new Harness({ timeoutMs: 60_000 });
    const alice = h.login('alice', { admin: true });
    h.init(alice, 1);
    const before = h.session.exportImage();
    const journaled = h.journal.length;
    h.login('kicked');
    h.command(alice, kickFrames('alice', 'kicked'));
    const dropped = h.login('dropped');
    h.event({ type: 'dropped', client: dropped, reason: 'connection closed', now: h.now });
    h.login('silent', { heartbeat: false });
    const start = h.now;
    for (let t = start; t <= start + 40_000; t += 1000) h.tick(t);
    assert.deepEqual(
      h.session.listUsers().map((u) => u.name),
      ['alice'],
      'the silent one left at the heartbeat grace',
    );
    assert.deepEqual(h.journal.slice(journaled), [], 'the three visits left no trace');
    const after = h.session.exportImage();
    assert.deepEqual(imageView(after), imageView(before));
    assert.deepEqual(userNames(after), ['alice']);
    assert.deepEqual(imageView(replayed(h.journal).exportImage()), imageView(after));
  });

  test('a login that replaces a record restored from disk is journaled at once', () => {
    const h = new Harness();
    const alice = h.login('alice', { admin: true });
    h.init(alice, 1);
    h.command(alice, metadataFrames('alice', strDict([['frame_current', 3n]])));
    const restored = replayed(h.journal);
    const again = new Harness({}, restored);
    const fx = again.command(again.newIdentity(), authFrames('alice'));
    assert.deepEqual(
      persisted(fx).filter((m) => m.type === 'user-join'),
      [{ type: 'user-join', name: 'alice', admin: false }],
    );
    assertJournaledFirst(fx, 'user-join');
  });

  test('a metadata update and what it archives are journaled before the relay', () => {
    const { h, bob } = running();
    const chat = '[{"id": "1.5", "username": "bob", "message": "hi", "timestamp": 1.5}]';
    const fx = h.command(bob, metadataFrames('bob', strDict([['chat_messages', chat]])));
    assertJournaledFirst(fx, 'metadata');
    assertJournaledFirst(fx, 'chat');
    assert.deepEqual(
      persisted(fx).map((m) => m.type),
      ['metadata', 'chat'],
    );
  });

  test('each init node is journaled as it arrives, and the completion before DONE and the catalog', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.login('bob');
    h.command(
      alice,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['a', 'b']],
      ]),
    );
    const set = (id: string): Effect[] =>
      h.command(
        alice,
        serverSnapshotFrames([
          ['STATE', 'SET'],
          ['DATA', nodeFrames(id, 'COMMON', [], nodeData(id))],
        ]),
      );
    // The first change journals the two logins waiting for one (acceptJoin).
    assert.deepEqual(
      persisted(set('a')).map((m) => m.type),
      ['user-join', 'user-join', 'node'],
    );
    const last = set('b');
    assert.deepEqual(
      persisted(last).map((m) => m.type),
      ['node', 'init-done'],
    );
    assertJournaledFirst(last, 'init-done');
  });

  test('an aborted init journals the deletion of the nodes it stored', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.command(
      alice,
      serverSnapshotFrames([
        ['STATE', 'INIT'],
        ['NODES', ['a', 'b']],
      ]),
    );
    h.command(
      alice,
      serverSnapshotFrames([
        ['STATE', 'SET'],
        ['DATA', nodeFrames('a', 'COMMON', [], nodeData('a'))],
      ]),
    );
    const fx = h.event({ type: 'dropped', client: alice, reason: 'gone', now: h.now });
    assert.deepEqual(
      persisted(fx).map((m) => m.type),
      ['user-leave', 'delete'],
    );
    assert.deepEqual(persisted(fx)[1], { type: 'delete', uuids: ['a'] });
  });

  test('a kicked user: locks released (journaled before the Right COMMON), record removed, then a save', () => {
    const { h, alice, bob, ids } = running();
    h.command(bob, rightFrames('bob', [ids[0]], 'bob'));
    const fx = h.command(alice, kickFrames('alice', 'bob'));
    const types = fx.filter((e) => e.type !== 'log').map((e) => (e.type === 'persist' ? e.mutation.type : e.type));
    assert.deepEqual(types, ['send', 'owner', 'send', 'user-leave', 'forget', 'save']);
    assert.deepEqual(persisted(fx)[0], { type: 'owner', uuids: [ids[0]], owner: 'COMMON' });
    assert.deepEqual(fx[fx.length - 1], { type: 'save', reason: 'user_disconnect:bob' });
  });

  test('a timed-out or dropped user asks for a save named after them; a stranger does not', () => {
    const h = new Harness({ timeoutMs: 3000 });
    h.login('alice');
    h.login('carol');
    let saves: Effect[] = [];
    for (let t = h.now; t <= h.now + 6000 && saves.length === 0; t += 100) {
      saves = h.tick(t).filter((e) => e.type === 'save');
    }
    assert.deepEqual(saves, [
      { type: 'save', reason: 'user_disconnect:alice' },
      { type: 'save', reason: 'user_disconnect:carol' },
    ]);
    const h2 = new Harness();
    const bob = h2.login('bob');
    const dropped = h2.event({ type: 'dropped', client: bob, reason: 'queue overflow', now: h2.now });
    assert.deepEqual(
      dropped.filter((e) => e.type === 'save'),
      [{ type: 'save', reason: 'user_disconnect:bob' }],
    );
    const stranger = h2.event({ type: 'dropped', client: h2.newIdentity(), reason: 'x', now: h2.now });
    assert.equal(stranger.filter((e) => e.type === 'save' || e.type === 'persist').length, 0);
  });

  test('refused operations persist nothing and leave the change counter alone', () => {
    const { h, alice, bob, ids } = running();
    h.command(alice, rightFrames('alice', [ids[0]], 'alice'));
    const before = h.session.changeCounter;
    const refused = [
      h.data(bob, commitFrames(ids[0], [], renameDelta('x'))), // locked by alice
      h.data(bob, commitFrames('unknown', [], renameDelta('x'))),
      h.data(bob, nodeFrames(ids[0], 'COMMON', [], nodeData(ids[0]))),
      h.command(bob, deleteFrames(ids[0])),
      h.command(bob, rightFrames('bob', [ids[0]], 'bob')),
      h.command(bob, metadataFrames('bob', ['not', 'a', 'dict'])),
      h.command(h.newIdentity(), authFrames('alice')),
      h.tick(h.now + 100),
    ];
    for (const fx of refused) assert.deepEqual(persisted(fx), []);
    assert.equal(h.session.changeCounter, before);
  });

  test('the change counter counts every accepted mutation', () => {
    const h = new Harness();
    assert.equal(h.session.changeCounter, 0);
    const alice = h.login('alice');
    h.init(alice, 3);
    h.command(alice, metadataFrames('alice', strDict([['frame_current', 3n]])));
    assert.equal(h.session.changeCounter, h.journal.length);
    assert.equal(h.journal.length, 1 + 3 + 1 + 1);
    assert.ok(sends(h.tick(h.now + 2000)).length > 0);
    assert.equal(h.session.changeCounter, 6);
  });

  test('every accepted kind has been seen journaled before its relay in one session', () => {
    const { h, alice, bob, ids } = running();
    const kinds = new Set<MutationType>();
    const record = (fx: Effect[]): void => {
      const lastPersist = fx.map((e) => e.type).lastIndexOf('persist');
      const firstSend = fx.findIndex((e) => e.type === 'send');
      assert.ok(lastPersist >= 0 && firstSend > lastPersist, 'a send precedes a persist');
      for (const m of persisted(fx)) kinds.add(m.type);
    };
    record(h.data(bob, nodeFrames('n', 'COMMON', [], nodeData('n'))));
    record(h.data(bob, commitFrames('n', [], renameDelta('m'))));
    record(h.command(bob, rightFrames('bob', ['n'], 'bob')));
    record(h.command(bob, deleteFrames(ids[0])));
    record(
      h.command(
        bob,
        metadataFrames(
          'bob',
          strDict([
            ['chat_messages', '[{"id": "1", "timestamp": 1}]'],
            ['tasks', '{"t": {"id": "t", "created_by": "bob"}}'],
          ]),
        ),
      ),
    );
    record(h.command(bob, metadataFrames('bob', strDict([['tasks', '{}']]))));
    // The kick's Disconnect to bob relays nothing; the Right COMMON to the others follows its persist (test above).
    for (const m of persisted(h.command(alice, kickFrames('alice', 'bob')))) kinds.add(m.type);
    assert.deepEqual(
      [...kinds].sort(),
      ['chat', 'commit', 'delete', 'metadata', 'node', 'owner', 'tasks', 'user-leave'].sort(),
    );
    // user-join and init-done were journaled by running(): the journal holds all ten kinds.
    assert.equal(new Set(h.journal.map((m) => m.type)).size, 10);
  });
});
