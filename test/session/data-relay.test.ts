import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { decodePickle, encodePickle, type PyDict, pyEquals } from '../../src/pickle/index.js';
import { strDict, MessageType, type Node } from '../../src/protocol/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import {
  commitFrames,
  dataTo,
  Harness,
  logs,
  nodeData,
  nodeFrames,
  only,
  renameDelta,
  rightFrames,
  sends,
} from './helpers.js';

function deltaCase(name: string, part: 'base' | 'delta' | 'result'): Buffer {
  return readFileSync(fixturePath(`captures/samples/delta_cases/${name}.${part}.pkl`));
}

const DELTA_CASES: string[] = (
  JSON.parse(readFileSync(fixturePath('captures/samples/delta_cases.json'), 'utf8')) as { cases: { name: string }[] }
).cases.map((c) => c.name);

function threeClients(): { h: Harness; a: string; b: string; c: string } {
  const h = new Harness();
  const a = h.login('alice');
  h.init(a, 1);
  return { h, a, b: h.login('bob'), c: h.login('carol') };
}

describe('data relay', () => {
  test('a new Node is stored and relayed verbatim to every other logged-in client, not the sender', () => {
    const { h, a, b, c } = threeClients();
    const frames = nodeFrames('n-new', 'COMMON', [], nodeData('n-new'));
    const fx = h.data(a, frames);
    const relay = only(sends(fx, 'data'));
    assert.deepEqual([...relay.to].sort(), [b, c].sort());
    assert.equal(relay.frames.length, 5);
    relay.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(frames[i])));
    assert.equal((h.fetch(b, 'n-new') as Node).owner, 'COMMON');
  });

  test('a Node for an existing node replaces data and dependencies and keeps the owner', () => {
    const { h, a, b } = threeClients();
    h.data(a, nodeFrames('n', 'alice', [], nodeData('n', 'One')));
    h.data(a, nodeFrames('n', 'COMMON', ['d'], nodeData('n', 'Two')));
    const node = h.fetch(b, 'n') as Node;
    assert.equal(node.owner, 'alice');
    assert.deepEqual(node.deps, ['d']);
    assert.equal((decodePickle(node.dataBytes) as PyDict).get('name'), 'Two');
  });

  describe('a Commit applies its delta to the stored data as deepdiff does', () => {
    for (const name of DELTA_CASES) {
      test(name, () => {
        const { h, a, b } = threeClients();
        h.data(a, [...nodeFrames('n', 'COMMON', [], null).slice(0, 4), deltaCase(name, 'base')]);
        const fx = h.data(a, commitFrames('n', ['x'], deltaCase(name, 'delta')));
        assert.equal(dataTo(fx, b).length, 1, JSON.stringify(logs(fx)));
        const served = decodePickle((h.fetch(b, 'n') as Node).dataBytes);
        assert.ok(pyEquals(served, decodePickle(deltaCase(name, 'result'))));
      });
    }
  });

  test('a Commit is relayed verbatim and replaces the dependencies', () => {
    const { h, a, b, c } = threeClients();
    h.data(a, nodeFrames('n', 'COMMON', ['old'], nodeData('n')));
    const frames = commitFrames('n', ['new'], renameDelta('X'));
    const relay = only(sends(h.data(b, frames), 'data'));
    assert.deepEqual([...relay.to].sort(), [a, c].sort());
    relay.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(frames[i])));
    assert.deepEqual((h.fetch(c, 'n') as Node).deps, ['new']);
  });

  test('a Commit with a report key deepdiff 8.1.1 does not define is refused, not relayed, and names the user', () => {
    const { h, a, b } = threeClients();
    h.data(a, nodeFrames('n', 'COMMON', [], nodeData('n', 'Old')));
    const delta = encodePickle(
      strDict([
        ['values_changed', strDict([["root['name']", strDict([['new_value', 'New']])]])],
        ['unknown_report_key', strDict([])],
      ]),
    );
    const fx = h.data(b, commitFrames('n', [], delta));
    assert.equal(sends(fx, 'data').length, 0);
    const warning = only(logs(fx, 'warn'));
    assert.match(warning.message, /bob/);
    assert.match(warning.message, /DELTA_UNKNOWN_KEY/);
    assert.equal((decodePickle((h.fetch(a, 'n') as Node).dataBytes) as PyDict).get('name'), 'Old');
  });

  test('a Commit for an unknown node is neither stored nor relayed', () => {
    const { h, a } = threeClients();
    const fx = h.data(a, commitFrames('ghost', [], renameDelta('X')));
    assert.equal(sends(fx, 'data').length, 0);
    assert.equal(logs(fx, 'warn').length, 1);
    assert.equal(h.fetch(a, 'ghost'), 'removed');
  });

  test('a Commit whose delta does not apply is not relayed and leaves the node unchanged', () => {
    const { h, a } = threeClients();
    h.data(a, nodeFrames('n', 'COMMON', ['d'], nodeData('n', 'Same')));
    const broken = [Buffer.from('not a pickle'), deltaCase('values_changed', 'delta').subarray(0, 10)];
    for (const delta of broken) {
      const fx = h.data(a, commitFrames('n', [], delta));
      assert.equal(sends(fx, 'data').length, 0);
      assert.equal(logs(fx, 'warn').length, 1);
    }
    const node = h.fetch(a, 'n') as Node;
    assert.deepEqual(node.deps, ['d']);
    assert.equal((decodePickle(node.dataBytes) as PyDict).get('name'), 'Same');
  });

  test('data is relayed to clients in the lobby too', () => {
    const h = new Harness();
    const a = h.login('alice');
    const lobby = h.login('bob');
    const fx = h.data(a, nodeFrames('n', 'COMMON', [], nodeData('n')));
    assert.equal(only(dataTo(fx, lobby)).type, MessageType.Node);
  });

  test('a locked node can still be updated by its owner', () => {
    const { h, a, b } = threeClients();
    h.data(a, nodeFrames('n', 'COMMON', [], nodeData('n')));
    h.command(a, rightFrames('alice', ['n'], 'alice'));
    const fx = h.data(a, commitFrames('n', [], renameDelta('Mine')));
    assert.equal(dataTo(fx, b).length, 1);
  });
});
