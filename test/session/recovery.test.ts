/**
 * Recovery (DESIGN §4 "Recovery"): journal replay through `applyMutation` gives exactly the live state,
 * and a session restored from an image is ACTIVE, serves the same bytes and holds no locks.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import {
  decodePickle,
  encodePickle,
  PyDict,
  PyGlobal,
  PyObject,
  PySet,
  PyTuple,
  type PyValue,
  toView,
} from '../../src/pickle/index.js';
import { MessageType, nodesFromChunkLists, strDict, type Node } from '../../src/protocol/index.js';
import {
  decodeMutation,
  encodeMutation,
  Session,
  type Effect,
  type Mutation,
  type SessionImage,
} from '../../src/session/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import {
  ADMIN_PASSWORD,
  authFrames,
  authReply,
  commandsTo,
  commitFrames,
  deleteFrames,
  Harness,
  kickFrames,
  metadataFrames,
  nodeData,
  nodeFrames,
  only,
  renameDelta,
  rightFrames,
  snapshotFrames,
  userList,
} from './helpers.js';
import { imageView } from './image-helpers.js';

const OPTIONS = { adminPassword: ADMIN_PASSWORD };

/** Through the codec, as `store/` would write and read the journal. */
function viaCodec(m: Mutation): Mutation {
  return decodeMutation(encodeMutation(m));
}

function replay(journal: readonly Mutation[], session = new Session(OPTIONS)): Session {
  for (const m of journal) {
    const fx = session.applyMutation(viaCodec(m));
    assert.deepEqual(
      fx.filter((e) => e.type !== 'log' || e.level === 'error'),
      [],
    );
  }
  return session;
}

const chatOf = (...msgs: [string, string, number][]): string =>
  JSON.stringify(msgs.map(([id, username, timestamp]) => ({ id, username, message: `m${id}`, timestamp })));

/** A session with several clients, commits, deletes, locks, metadata, chat and tasks. */
function liveSession(): { h: Harness; alice: string; bob: string; ids: string[] } {
  const h = new Harness();
  const alice = h.login('alice', { admin: true });
  const ids = h.init(alice, 3);
  const bob = h.login('bob');
  const carol = h.login('carol');
  h.data(bob, nodeFrames('b-cube', 'bob', ['b-mesh'], nodeData('b-cube')));
  h.data(bob, nodeFrames('b-mesh', 'COMMON', [], nodeData('b-mesh', 'Mesh')));
  h.command(bob, rightFrames('bob', [ids[0]], 'bob'));
  h.data(bob, commitFrames(ids[0], ['b-cube'], renameDelta('Renamed')));
  h.data(bob, commitFrames('b-cube', ['b-mesh'], renameDelta('Cube.001')));
  h.data(carol, nodeFrames('c-scene', 'COMMON', ['b-mesh', ids[1]], nodeData('c-scene', 'Scene')));
  h.command(carol, deleteFrames(ids[1]));
  h.command(carol, rightFrames('carol', ['c-scene'], 'carol'));
  h.command(
    alice,
    metadataFrames(
      'alice',
      strDict([
        ['color', new PyTuple([0.2, 0.6, 1.0, 1n])],
        ['selected_objects', new PySet(false, [ids[2]])],
        ['frame_current', 12n],
      ]),
    ),
  );
  h.command(bob, metadataFrames('bob', strDict([['chat_messages', chatOf(['1', 'bob', 10.5], ['2', 'bob', 11])]])));
  h.command(
    carol,
    metadataFrames(
      'carol',
      strDict([
        ['tasks', '{"t1": {"id": "t1", "created_by": "carol"}, "t2": {"id": "t2", "created_by": "carol"}}'],
        ['chat_messages', chatOf(['2', 'bob', 11], ['3', 'carol', 9])],
      ]),
    ),
  );
  h.command(
    carol,
    metadataFrames('carol', strDict([['tasks', '{"t2": {"id": "t2", "created_by": "carol", "x": 1}}']])),
  );
  h.command(alice, kickFrames('alice', 'carol'));
  h.command(alice, rightFrames('alice', [ids[2]], 'alice'));
  return { h, alice, bob, ids };
}

describe('journal replay', () => {
  test('replaying a live session journal into a fresh session gives the same image', () => {
    const { h } = liveSession();
    const live = h.session.exportImage();
    // The scenario reached every kind of change, and the image holds them.
    assert.equal(new Set(h.journal.map((m) => m.type)).size, 10);
    assert.equal(live.chat.length, 3);
    assert.deepEqual([...live.tasks.keys()], ['t2']);
    assert.deepEqual([...live.users.keys()], ['alice', 'bob']);
    const replayed = replay(h.journal);
    assert.deepEqual(imageView(replayed.exportImage()), imageView(live));
    assert.equal(replayed.changeCounter, h.session.changeCounter);
    assert.equal(replayed.phase, 'ACTIVE');
  });

  test('a snapshot image plus the journal tail recovers the live state, with every lock COMMON', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const ids = h.init(alice, 2);
    h.command(alice, rightFrames('alice', [ids[0]], 'alice'));
    const snapshot = h.session.exportImage();
    const mark = h.journal.length;
    const bob = h.login('bob');
    h.data(bob, nodeFrames('late', 'bob', [], nodeData('late')));
    h.data(bob, commitFrames(ids[1], [], renameDelta('After snapshot')));
    h.command(bob, metadataFrames('bob', strDict([['chat_messages', chatOf(['9', 'bob', 3])]])));

    const { session } = Session.fromImage(snapshot, OPTIONS);
    replay(h.journal.slice(mark), session);
    const fx = session.finishRecovery();
    const released = fx.filter((e): e is Extract<Effect, { type: 'persist' }> => e.type === 'persist');
    assert.deepEqual(
      released.map((e) => e.mutation),
      [{ type: 'owner', uuids: ['late'], owner: 'COMMON' }],
    );
    const expected = h.session.exportImage();
    for (const node of expected.nodes) node.owner = 'COMMON';
    assert.deepEqual(imageView(session.exportImage()), imageView(expected));
  });

  test('the first live event after a replay releases the locks of absent users before anything else', () => {
    const { h, ids } = liveSession();
    const session = replay(h.journal);
    const harness = new Harness({}, session);
    const id = harness.newIdentity();
    const fx = harness.command(id, authFrames('dave'));
    assert.equal(fx[0].type, 'persist');
    assert.deepEqual(
      fx.filter((e) => e.type === 'persist').map((e) => (e as { mutation: Mutation }).mutation),
      [
        { type: 'owner', uuids: [ids[0], 'b-cube'], owner: 'COMMON' },
        { type: 'owner', uuids: [ids[2]], owner: 'COMMON' },
        // dave's login is journaled with the first change after it (mutation.ts acceptJoin).
      ],
    );
    assert.equal(authReply(fx, id), 'RUNNING');
    assert.ok(session.exportImage().nodes.every((n) => n.owner === 'COMMON'));
    // Done once: the next event releases nothing.
    assert.equal(harness.tick(harness.now + 1000).filter((e) => e.type === 'persist').length, 0);
  });

  const caseDir = fixturePath('captures/samples/delta_cases');
  const cases = [...new Set(readdirSync(caseDir).map((f) => f.split('.')[0]))].sort();
  for (const name of cases) {
    test(`a replayed Commit gives the same data as live and as Python (delta case ${name})`, () => {
      const read = (part: string): Buffer => readFileSync(`${caseDir}/${name}.${part}.pkl`);
      const h = new Harness();
      const alice = h.login('alice');
      h.init(alice, 1);
      h.data(alice, nodeFrames(name, 'COMMON', [], decodePickle(read('base'))));
      h.data(alice, commitFrames(name, [], read('delta')));
      const live = h.session.exportImage().nodes.find((n) => n.uuid === name);
      assert.ok(live !== undefined);
      assert.deepEqual(toView(decodePickle(live.dataBytes)), toView(decodePickle(read('result'))));
      const replayed = replay(h.journal)
        .exportImage()
        .nodes.find((n) => n.uuid === name);
      assert.deepEqual(Buffer.from(replayed?.dataBytes ?? []), Buffer.from(live.dataBytes));
    });
  }
});

function image(overrides: Partial<SessionImage> = {}): SessionImage {
  const node = (uuid: string, owner: string, deps: string[]): SessionImage['nodes'][number] => ({
    uuid,
    owner,
    depsBytes: encodePickle(deps),
    dataBytes: encodePickle(nodeData(uuid)),
  });
  return {
    nodes: [node('scene', 'COMMON', ['cube']), node('cube', 'alice', ['mesh']), node('mesh', 'bob', [])],
    users: new PyDict(),
    initialized: true,
    chat: [],
    tasks: new PyDict(),
    ...overrides,
  };
}

describe('restoring from an image', () => {
  test('a new client gets RUNNING and the same nodes, bytes and order, with every lock COMMON', () => {
    const img = image();
    const { session, effects } = Session.fromImage(img, OPTIONS);
    assert.deepEqual(effects, []);
    assert.equal(session.phase, 'ACTIVE');
    assert.equal(session.changeCounter, 0);
    const h = new Harness({}, session);
    const id = h.newIdentity();
    assert.equal(authReply(h.command(id, authFrames('carol')), id), 'RUNNING');
    const catalog = only(
      commandsTo(h.command(id, snapshotFrames([['STATE', 'REQUEST_INIT']])), id, MessageType.Snapshot),
    );
    assert.deepEqual((catalog.data as PyDict).get('CATALOG'), ['scene', 'cube', 'mesh']);
    for (const n of img.nodes) {
      const served = h.fetch(id, n.uuid) as Node;
      assert.equal(served.owner, 'COMMON');
      assert.deepEqual(Buffer.from(served.dataBytes), Buffer.from(n.dataBytes));
      assert.deepEqual(Buffer.from((served.raw as Uint8Array[])[3]), Buffer.from(n.depsBytes));
    }
    assert.ok(session.exportImage().nodes.every((n) => n.owner === 'COMMON'));
  });

  test('an image without nodes and not initialized waits for an Init', () => {
    const { session } = Session.fromImage(image({ nodes: [], initialized: false }), OPTIONS);
    assert.equal(session.phase, 'WAITING');
    const h = new Harness({}, session);
    const id = h.newIdentity();
    assert.equal(authReply(h.command(id, authFrames('carol')), id), 'LOBBY');
  });

  test('nodes that fail the checks are skipped with a log, the others load', () => {
    const bad = image();
    bad.nodes[1].dataBytes = encodePickle(strDict([['x', new PyObject('REDUCE', new PyGlobal('os', 'system'), [])]]));
    bad.nodes.push({ uuid: 'broken', owner: 'COMMON', depsBytes: Buffer.from('junk'), dataBytes: Buffer.alloc(0) });
    const { session, effects } = Session.fromImage(bad, OPTIONS);
    assert.equal(session.nodeCount, 2);
    assert.equal(effects.filter((e) => e.type === 'log' && e.level === 'warn').length, 2);
  });

  test('importing into a session that is not fresh is refused with SESSION_NOT_EMPTY', () => {
    const h = new Harness();
    h.login('alice');
    assert.throws(
      () => h.session.importImage(image()),
      (err: { code?: string }) => err.code === 'SESSION_NOT_EMPTY',
    );
  });

  test('an image round-trips through fromImage and exportImage', () => {
    const { h } = liveSession();
    const img = h.session.exportImage();
    const { session } = Session.fromImage(img, OPTIONS);
    for (const node of img.nodes) node.owner = 'COMMON';
    assert.deepEqual(imageView(session.exportImage()), imageView(img));
  });

  test("an add-on session file (.db) imports: ACTIVE, its users' chat and tasks archived, nobody logged in", () => {
    const db = decodePickle(
      gunzipSync(readFileSync(fixturePath('captures/samples/session_2026_11_26_05-21-33.db'))),
    ) as PyDict;
    const nodes = nodesFromChunkLists(db.get('nodes') as PyValue).map((n) => {
      const raw = n.raw as Uint8Array[];
      return { uuid: n.uuid, owner: n.owner, depsBytes: raw[3], dataBytes: raw[4] };
    });
    const users = db.get('users') as PyDict;
    const { session, effects } = Session.fromImage(
      { nodes, users, initialized: false, chat: [], tasks: new PyDict() },
      OPTIONS,
    );
    assert.deepEqual(effects, []);
    assert.equal(session.phase, 'ACTIVE');
    assert.equal(session.nodeCount, 5);
    assert.deepEqual(session.listUsers(), []);
    const h = new Harness({}, session);
    const id = h.newIdentity();
    const fx = h.command(id, authFrames('carol'));
    assert.equal(authReply(fx, id), 'RUNNING');
    const list = userList(fx, id);
    assert.deepEqual([...list.keys()], ['carol', '~archive']);
    // Python's own json.dumps text of the same messages and task: the archive reproduces it exactly.
    const alice = (users.get('alice') as PyDict).get('metadata') as PyDict;
    const archived = (list.get('~archive') as PyDict).get('metadata') as PyDict;
    assert.equal(archived.get('chat_messages'), alice.get('chat_messages'));
    assert.equal(archived.get('tasks'), alice.get('tasks'));
    assert.ok((h.fetch(id, '7944311c-aaad-49fb-bf1a-2d7beacbbd35') as Node).owner === 'COMMON');
  });

  test("a '~archive' entry saved by a client is absorbed, not restored as a user; deleted tasks stay deleted", () => {
    const record = (name: string, chat: string, tasks: string): PyDict =>
      strDict([
        ['id', name],
        ['admin', false],
        ['latency', 0n],
        ['status', 2n],
        [
          'metadata',
          strDict([
            ['chat_messages', chat],
            ['tasks', tasks],
          ]),
        ],
      ]);
    const users = PyDict.from([
      ['alice', record('alice', '[]', '{"gone": {"id": "gone", "created_by": "alice"}}')],
      ['~archive', record('~archive', '[{"id": "1", "timestamp": 1.0}]', '{"kept": {"id": "kept"}}')],
    ]);
    const extra = strDict([['archive_deleted_tasks', ['gone']]]);
    const { session, effects } = Session.fromImage(image({ users, extra }), OPTIONS);
    assert.deepEqual(effects, []);
    const img = session.exportImage();
    assert.deepEqual([...img.users.keys()], ['alice']);
    assert.deepEqual(toView(img.chat), [{ id: '1', timestamp: { $float: '1.0' } }]);
    assert.deepEqual([...img.tasks.keys()], ['kept']);
    assert.deepEqual(img.extra?.get('archive_deleted_tasks'), ['gone']);
  });

  test('restored users are records only: not listed, their names free, their chat kept after they log in again', () => {
    const { h: live } = liveSession();
    const { session } = Session.fromImage(live.session.exportImage(), OPTIONS);
    assert.equal(session.userRecordCount, 2);
    const h = new Harness({}, session);
    const id = h.newIdentity();
    const fx = h.command(id, authFrames('bob'));
    assert.equal(authReply(fx, id), 'RUNNING');
    assert.deepEqual([...userList(fx, id).keys()], ['bob', '~archive']);
    const users = session.exportImage().users;
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    assert.equal(((users.get('bob') as PyDict).get('metadata') as PyDict).size, 0);
    assert.equal(session.exportImage().chat.length, 3);
  });
});

describe('a loaded file is checked as network input', () => {
  const limits = { maxMetadataBytes: 64 };
  const bigMetadata = strDict([['chat_messages', 'x'.repeat(200)]]);

  test('checkImage names a node whose data a client could not send, and passes a clean image', () => {
    assert.equal(Session.checkImage(image(), OPTIONS), null);
    const bad = image();
    bad.nodes[1] = { ...bad.nodes[1], dataBytes: encodePickle(new PyGlobal('posix', 'system')) };
    assert.match(Session.checkImage(bad, OPTIONS) ?? '', /^node "cube": node data refused/);
  });

  test('checkImage refuses user metadata over the bounds a client is held to', () => {
    const users = strDict([['alice', strDict([['metadata', bigMetadata]])]]);
    assert.match(
      Session.checkImage(image({ users }), { ...OPTIONS, limits }) ?? '',
      /^user "alice": merged metadata would exceed its bounds/,
    );
    assert.equal(Session.checkImage(image({ users }), OPTIONS), null);
  });

  test('checkMutation refuses a replayed node or metadata record a client could not send', () => {
    const session = new Session({ ...OPTIONS, limits });
    const node: Mutation = {
      type: 'node',
      uuid: 'n',
      owner: 'COMMON',
      deps: [],
      depsBytes: encodePickle([]),
      dataBytes: encodePickle(new PyGlobal('posix', 'system')),
    };
    assert.match(session.checkMutation(node) ?? '', /^node "n": node data refused/);
    assert.equal(session.checkMutation({ ...node, dataBytes: encodePickle(nodeData('n')) }), null);
    assert.match(
      session.checkMutation({ type: 'metadata', name: 'alice', data: bigMetadata }) ?? '',
      /^metadata of "alice": merged metadata would exceed its bounds/,
    );
  });
});
