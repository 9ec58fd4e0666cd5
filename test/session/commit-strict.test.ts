/**
 * A Commit is stored, journaled and relayed only when the server parsed, validated and applied
 * every operation of its delta; live traffic and journal replay refuse the same deltas.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decodePickle,
  encodePickle,
  PyDict as PyDictClass,
  type PyDict,
  type PyValue,
} from '../../src/pickle/index.js';
import type { Node } from '../../src/protocol/index.js';
import { decodeMutation, encodeMutation, Session, type Mutation } from '../../src/session/index.js';
import { hostileDeltas } from '../helpers/hostile-deltas.js';
import {
  ADMIN_PASSWORD,
  commitFrames,
  Harness,
  logs,
  nodeData,
  nodeFrames,
  only,
  renameDelta,
  sends,
} from './helpers.js';

function sessionWithNode(): { h: Harness; alice: string; mallory: string } {
  const h = new Harness();
  const alice = h.login('alice');
  h.init(alice, 1);
  const mallory = h.login('mallory');
  h.data(alice, nodeFrames('n', 'COMMON', [], nodeData('n', 'Cube')));
  return { h, alice, mallory };
}

describe('hostile Commits from a logged-in user', () => {
  for (const attack of hostileDeltas()) {
    test(`${attack.name}: refused, not stored, not journaled, not relayed; the warning names the user`, () => {
      const { h, alice, mallory } = sessionWithNode();
      const journaled = h.journal.length;
      const changes = h.session.changeCounter;
      const fx = h.data(mallory, commitFrames('n', ['x'], attack.bytes));
      assert.equal(sends(fx, 'data').length, 0);
      const warning = only(logs(fx, 'warn'));
      assert.match(warning.message, /from mallory refused/);
      assert.ok(warning.message.includes(attack.code), warning.message);
      assert.equal(h.journal.length, journaled);
      assert.equal(h.session.changeCounter, changes);
      const node = h.fetch(alice, 'n') as Node;
      assert.equal((decodePickle(node.dataBytes) as PyDict).get('name'), 'Cube');
      assert.deepEqual(node.deps, []);
    });
  }

  test('a plain Commit right after them is still applied and relayed', () => {
    const { h, alice, mallory } = sessionWithNode();
    for (const attack of hostileDeltas()) h.data(mallory, commitFrames('n', [], attack.bytes));
    const fx = h.data(mallory, commitFrames('n', [], renameDelta('Renamed')));
    assert.equal(only(sends(fx, 'data')).to.includes(alice), true);
    assert.equal((decodePickle((h.fetch(alice, 'n') as Node).dataBytes) as PyDict).get('name'), 'Renamed');
  });
});

describe('journal replay reads Commits by the same rules', () => {
  for (const attack of hostileDeltas()) {
    test(`a journaled Commit with ${attack.name} is not applied on replay`, () => {
      const session = new Session({ adminPassword: ADMIN_PASSWORD });
      const data = encodePickle(nodeData('n', 'Cube'));
      const journal: Mutation[] = [
        { type: 'node', uuid: 'n', owner: 'COMMON', deps: [], depsBytes: encodePickle([]), dataBytes: data },
        { type: 'commit', uuid: 'n', deps: ['x'], depsBytes: encodePickle(['x']), deltaBytes: attack.bytes },
      ];
      const fx = journal.flatMap((m) => session.applyMutation(decodeMutation(encodeMutation(m))));
      const error = only(logs(fx, 'error'));
      assert.match(error.message, /Journal record not applied/);
      assert.ok(error.message.includes(attack.code), error.message);
      const node = session.exportImage().nodes.find((n) => n.uuid === 'n');
      assert.deepEqual(Buffer.from(node?.dataBytes ?? []), Buffer.from(data));
    });
  }
});

describe('a Commit against a node with more containers than MAX_COMMIT_NODE_CONTAINERS', () => {
  // A node with `n` empty dicts in a list, padded with bytes so the per-size container budget
  // of node data accepts it (applying a Commit to it decodes and re-encodes every one).
  function bigNode(n: number): PyDict {
    const items: PyValue[] = [];
    for (let i = 0; i < n; i++) items.push(new PyDictClass());
    return nodeData('big', 'Cube', [
      ['items', items],
      ['pad', new Uint8Array(8 * n)],
    ]);
  }

  test('is refused with a warning naming the bound; the node was stored and still serves whole', () => {
    const h = new Harness({ limits: { maxCommitNodeContainers: 1000 } });
    const alice = h.login('alice');
    h.init(alice, 1);
    const bob = h.login('bob');
    const stored = h.data(alice, nodeFrames('big', 'COMMON', [], bigNode(1500)));
    assert.equal(only(sends(stored, 'data')).to.includes(bob), true);
    const journaled = h.journal.length;
    const fx = h.data(alice, commitFrames('big', [], renameDelta('Renamed')));
    assert.equal(sends(fx, 'data').length, 0);
    assert.match(only(logs(fx, 'warn')).message, /more than 1000 containers \(MAX_COMMIT_NODE_CONTAINERS\)/);
    assert.equal(h.journal.length, journaled);
    assert.equal((decodePickle((h.fetch(bob, 'big') as Node).dataBytes) as PyDict).get('name'), 'Cube');
  });

  test('under the bound the same Commit is applied and relayed', () => {
    const h = new Harness({ limits: { maxCommitNodeContainers: 2000 } });
    const alice = h.login('alice');
    h.init(alice, 1);
    const bob = h.login('bob');
    h.data(alice, nodeFrames('big', 'COMMON', [], bigNode(1500)));
    const fx = h.data(alice, commitFrames('big', [], renameDelta('Renamed')));
    assert.equal(only(sends(fx, 'data')).to.includes(bob), true);
    assert.equal((decodePickle((h.fetch(bob, 'big') as Node).dataBytes) as PyDict).get('name'), 'Renamed');
  });

  test('a journaled Commit against such a node is replayed whatever the bound is now', () => {
    const session = new Session({ adminPassword: ADMIN_PASSWORD, limits: { maxCommitNodeContainers: 1000 } });
    const journal: Mutation[] = [
      {
        type: 'node',
        uuid: 'big',
        owner: 'COMMON',
        deps: [],
        depsBytes: encodePickle([]),
        dataBytes: encodePickle(bigNode(1500)),
      },
      { type: 'commit', uuid: 'big', deps: [], depsBytes: encodePickle([]), deltaBytes: renameDelta('Renamed') },
    ];
    const fx = journal.flatMap((m) => session.applyMutation(decodeMutation(encodeMutation(m))));
    assert.equal(logs(fx, 'error').length, 0);
    const node = session.exportImage().nodes.find((n) => n.uuid === 'big');
    assert.equal((decodePickle(node?.dataBytes ?? new Uint8Array()) as PyDict).get('name'), 'Renamed');
  });
});
