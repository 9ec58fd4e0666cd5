/**
 * A Commit is stored, journaled and relayed only when the server parsed, validated and applied
 * every operation of its delta; live traffic and journal replay refuse the same deltas.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { encodePickle } from '../../src/pickle/encode.js';
import type { PyDict } from '../../src/pickle/value.js';
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
