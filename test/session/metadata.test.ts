import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { decodePickle, type PyDict, PySet, PyTuple, pyEquals, type PyValue } from '../../src/pickle/index.js';
import { MessageType, strDict } from '../../src/protocol/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { commandsTo, Harness, logs, metadataFrames, only, sends, userList } from './helpers.js';

function trio(): { h: Harness; a: string; b: string; c: string } {
  const h = new Harness();
  return { h, a: h.login('alice'), b: h.login('bob'), c: h.login('carol') };
}

describe('UpdateUserMetadata', () => {
  test('is merged shallowly into the sender record and shows in the next user list with Python types', () => {
    const { h, a } = trio();
    h.command(
      a,
      metadataFrames(
        'alice',
        strDict([
          ['color', new PyTuple([0.5, 0.5, 0.5, 1n])],
          ['frame_current', 1n],
        ]),
      ),
    );
    h.command(
      a,
      metadataFrames(
        'alice',
        strDict([
          ['frame_current', 7n],
          ['selected_objects', new PySet(false, ['x'])],
        ]),
      ),
    );
    const meta = (userList(h.tick(h.now + 2000), a).get('alice') as PyDict).get('metadata') as PyDict;
    assert.deepEqual([...meta.keys()], ['color', 'frame_current', 'selected_objects']);
    assert.equal(meta.get('frame_current'), 7n);
    assert.ok(meta.get('color') instanceof PyTuple);
    assert.ok(meta.get('selected_objects') instanceof PySet);
  });

  test('the real presence sample is relayed to the others, not echoed to the sender', () => {
    const { h, a, b, c } = trio();
    const sample = decodePickle(readFileSync(fixturePath('captures/samples/metadata_presence.pkl')));
    const fx = h.command(b, metadataFrames('bob', sample));
    const relay = only(sends(fx, 'command'));
    assert.deepEqual([...relay.to].sort(), [a, c].sort());
    assert.ok(pyEquals(only(commandsTo(fx, a, MessageType.UpdateUserMetadata)).data as PyValue, sample));
  });

  test('the relayed owner frame is the sender username, whatever label the sender wrote', () => {
    const { h, a, b } = trio();
    const fx = h.command(b, metadataFrames('alice', strDict([['mode_current', 'EDIT_MESH']])));
    const relayed = only(commandsTo(fx, a, MessageType.UpdateUserMetadata));
    assert.equal(relayed.type === MessageType.UpdateUserMetadata && relayed.owner, 'bob');
    const users = userList(h.tick(h.now + 2000), a);
    assert.equal(((users.get('alice') as PyDict).get('metadata') as PyDict).size, 0);
    assert.equal(((users.get('bob') as PyDict).get('metadata') as PyDict).get('mode_current'), 'EDIT_MESH');
  });

  test('data that is not a dict is logged and not relayed', () => {
    const { h, b } = trio();
    const fx = h.command(b, metadataFrames('bob', [new PyTuple(['a', 1n, 2n])]));
    assert.equal(sends(fx).length, 0);
    assert.equal(logs(fx, 'warn').length, 1);
  });

  test('an update that would push the merged metadata past maxMetadataBytes is refused whole', () => {
    const h = new Harness({ limits: { maxMetadataBytes: 1000 } });
    const a = h.login('alice');
    const b = h.login('bob');
    assert.equal(
      sends(h.command(b, metadataFrames('bob', strDict([['chat_messages', 'x'.repeat(600)]]))), 'command').length,
      1,
    );
    const fx = h.command(
      b,
      metadataFrames(
        'bob',
        strDict([
          ['tasks', 'y'.repeat(600)],
          ['frame_current', 3n],
        ]),
      ),
    );
    assert.equal(sends(fx).length, 0);
    assert.equal(logs(fx, 'warn').length, 1);
    // Replacing a value counts its new size, not both.
    assert.equal(
      sends(h.command(b, metadataFrames('bob', strDict([['chat_messages', 'z'.repeat(900)]]))), 'command').length,
      1,
    );
    const meta = (userList(h.tick(h.now + 2000), a).get('bob') as PyDict).get('metadata') as PyDict;
    assert.deepEqual([...meta.keys()], ['chat_messages']);
  });
  test('an update frame above maxMetadataUpdateBytes is refused before it is decoded', () => {
    const h = new Harness({ limits: { maxMetadataUpdateBytes: 500 } });
    h.login('alice');
    const b = h.login('bob');
    const fx = h.command(b, metadataFrames('bob', strDict([['chat_messages', 'x'.repeat(600)]])));
    assert.equal(sends(fx).length, 0);
    assert.ok(only(logs(fx, 'warn')).message.includes('PROTOCOL_FRAME_SIZE'));
  });

  test("an update that would push all users' metadata past maxUserListMetadataBytes is refused; the list stays bounded", () => {
    const h = new Harness();
    const names = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const ids = names.map((n) => h.login(n));
    const selection = (n: string): PyDict => strDict([['selected_objects', `${n}:${'x'.repeat(250_000)}`]]);
    // Four users at ~250 KB each fit the 1 MiB default; the fifth does not and is refused whole.
    for (let i = 0; i < 4; i++)
      assert.equal(sends(h.command(ids[i], metadataFrames(names[i], selection(names[i]))), 'command').length, 1);
    const fx = h.command(ids[4], metadataFrames('u5', selection('u5')));
    assert.equal(sends(fx).length, 0);
    assert.match(only(logs(fx, 'warn')).message, /u5 refused: the user list would exceed 1048576 bytes/);
    // A small update from the same user still fits.
    assert.equal(sends(h.command(ids[4], metadataFrames('u5', strDict([['frame_current', 3n]]))), 'command').length, 1);
    const list = only(sends(h.tick(h.now + 2000), 'command'));
    const listBytes = list.frames.reduce((n, f) => n + f.length, 0);
    assert.ok(listBytes < 1_048_576 + 5 * 200, `user list of ${listBytes} bytes`);
  });
});
