import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { PyDict } from '../../src/pickle/index.js';
import { encodeCommand, MessageType, strDict, type Node } from '../../src/protocol/index.js';
import { commandsTo, deleteFrames, Harness, logs, nodeData, nodeFrames, only, rightFrames, sends } from './helpers.js';

function session(): { h: Harness; a: string; b: string } {
  const h = new Harness();
  const a = h.login('alice');
  h.init(a, 1);
  const b = h.login('bob');
  h.data(a, nodeFrames('parent', 'COMMON', ['child', 'other', 'child'], nodeData('parent')));
  h.data(a, nodeFrames('child', 'COMMON', [], nodeData('child')));
  return { h, a, b };
}

describe('Delete', () => {
  test('is echoed verbatim to everyone including the sender and removes the node', () => {
    const { h, a, b } = session();
    const frames = deleteFrames('child');
    const echo = only(sends(h.command(b, frames), 'command'));
    assert.deepEqual([...echo.to].sort(), [a, b].sort());
    echo.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(frames[i])));
    assert.equal(h.fetch(a, 'child'), 'removed');
  });

  test('prunes the id from the dependency lists of other nodes (first occurrence, like list.remove)', () => {
    const { h, a } = session();
    h.command(a, deleteFrames('child'));
    assert.deepEqual((h.fetch(a, 'parent') as Node).deps, ['other', 'child']);
  });

  test('of an unknown id is still echoed to everyone, as the add-on sends the root twice', () => {
    const { h, a, b } = session();
    const echo = only(sends(h.command(a, deleteFrames('nope')), 'command'));
    assert.deepEqual([...echo.to].sort(), [a, b].sort());
  });

  test('whose data is not a str is logged and nothing is sent', () => {
    const { h, a } = session();
    const fx = h.command(a, deleteFrames(null));
    assert.equal(sends(fx).length, 0);
    assert.equal(logs(fx, 'warn').length, 1);
  });
});

describe('Right', () => {
  test('is applied and echoed verbatim to everyone including the sender', () => {
    const { h, a, b } = session();
    const frames = rightFrames('bob', ['child', 'parent'], 'bob');
    const echo = only(sends(h.command(b, frames), 'command'));
    assert.deepEqual([...echo.to].sort(), [a, b].sort());
    echo.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(frames[i])));
    assert.equal((h.fetch(a, 'child') as Node).owner, 'bob');
    assert.equal((h.fetch(a, 'parent') as Node).owner, 'bob');
  });

  test('unlocks to COMMON and may give a node to another logged-in user', () => {
    const { h, a, b } = session();
    h.command(b, rightFrames('bob', ['child'], 'bob'));
    h.command(b, rightFrames('bob', ['child'], 'alice'));
    assert.equal((h.fetch(a, 'child') as Node).owner, 'alice');
    h.command(a, rightFrames('alice', ['child'], 'COMMON'));
    assert.equal((h.fetch(a, 'child') as Node).owner, 'COMMON');
  });

  test('ids of nodes that do not exist are echoed as they are', () => {
    const { h, a } = session();
    const echo = only(
      commandsTo(h.command(a, rightFrames('alice', ['ghost', 'child'], 'alice')), a, MessageType.Right),
    );
    assert.deepEqual((echo.data as PyDict).get('uuid'), ['ghost', 'child']);
  });

  test('with a malformed payload (uuid None, owner missing, not a dict) is logged and ignored', () => {
    const { h, a } = session();
    const payloads = [
      strDict([
        ['uuid', null],
        ['owner', 'alice'],
      ]),
      strDict([['uuid', ['child']]]),
      'child',
    ];
    for (const data of payloads) {
      const fx = h.command(a, encodeCommand(MessageType.Right, 'alice', data));
      assert.equal(sends(fx).length, 0);
      assert.equal(logs(fx, 'warn').length, 1);
    }
  });
});
