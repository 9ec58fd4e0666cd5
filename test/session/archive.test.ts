/**
 * The chat/task archive (DESIGN §5, REPLICATION-PROTOCOL.md §7.4): kept after the
 * authors leave, bounded, deduplicated, delivered to the stock add-on as the `'~archive'` entry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { type PyDict, toView } from '../../src/pickle/index.js';
import { MessageType, strDict } from '../../src/protocol/index.js';
import type { Effect, SessionLimits } from '../../src/session/index.js';
import { authFrames, authReply, commandsTo, Harness, logs, metadataFrames, only, userList } from './helpers.js';

interface Msg {
  id: string;
  username?: string;
  message?: string;
  timestamp: number;
}

const chat = (...msgs: Msg[]): string =>
  '[' +
  msgs
    .map(
      (m) =>
        `{"id": "${m.id}", "username": "${m.username ?? 'bob'}", "message": "${m.message ?? 'hi'}", ` +
        `"msg_type": "text", "metadata": {}, "timestamp": ${String(m.timestamp)}}`,
    )
    .join(', ') +
  ']';

const task = (id: string, by: string, status = 'todo'): string =>
  `"${id}": {"id": "${id}", "title": "T${id}", "description": "", "assigned_to": "", "status": "${status}", ` +
  `"created_by": "${by}", "created_at": 1.5, "object_name": ""}`;
const tasks = (...items: string[]): string => `{${items.join(', ')}}`;

function send(h: Harness, client: string, name: string, entries: [string, string][]): Effect[] {
  return h.command(client, metadataFrames(name, strDict(entries)));
}

/** The `'~archive'` entry of the next user list `to` receives, or undefined. */
function archiveEntry(h: Harness, to: string): PyDict | undefined {
  return userList(h.tick(h.now + 1000), to).get('~archive');
}

function archivedChatIds(h: Harness): string[] {
  return h.session.exportImage().chat.map((m) => (m as PyDict).get('id') as string);
}

function board(h: Harness): string[] {
  return [...h.session.exportImage().tasks.keys()] as string[];
}

function setup(limits: Partial<SessionLimits> = {}): { h: Harness; alice: string; bob: string; carol: string } {
  const h = new Harness({ limits });
  const alice = h.login('alice');
  const bob = h.login('bob');
  const carol = h.login('carol');
  // As the add-on does right after its login: each sends its metadata, which journals the logins.
  for (const [id, name] of [
    [alice, 'alice'],
    [bob, 'bob'],
    [carol, 'carol'],
  ])
    h.command(id, metadataFrames(name, strDict([['frame_current', 1n]])));
  return { h, alice, bob, carol };
}

describe('the ~archive user-list entry', () => {
  test('has exactly the documented pickled shape, last in the list, with Python json text', () => {
    const { h, alice, bob } = setup();
    const message = { id: '1732600000.123456', message: 'caf\\u00e9 \\"ok\\"', timestamp: 1732600000.123456 };
    send(h, bob, 'bob', [
      ['chat_messages', chat(message)],
      ['tasks', tasks(task('1732600001.5', 'bob'))],
    ]);
    const list = userList(h.tick(h.now + 1000), alice);
    assert.deepEqual([...list.keys()], ['alice', 'bob', 'carol', '~archive']);
    assert.deepEqual(toView(list.get('~archive') as PyDict), {
      id: '~archive',
      admin: false,
      latency: 0,
      status: 2,
      metadata: {
        chat_messages:
          '[{"id": "1732600000.123456", "username": "bob", "message": "caf\\u00e9 \\"ok\\"", "msg_type": "text", ' +
          '"metadata": {}, "timestamp": 1732600000.123456}]',
        tasks:
          '{"1732600001.5": {"id": "1732600001.5", "title": "T1732600001.5", "description": "", "assigned_to": "", ' +
          '"status": "todo", "created_by": "bob", "created_at": 1.5, "object_name": ""}}',
      },
    });
  });

  test('is absent while the archive is empty, and holds "[]" for chat when only tasks exist', () => {
    const { h, alice, bob } = setup();
    send(h, bob, 'bob', [['mode_current', 'OBJECT']]);
    assert.equal(archiveEntry(h, alice), undefined);
    send(h, bob, 'bob', [['tasks', tasks(task('t', 'bob'))]]);
    const meta = (archiveEntry(h, alice) as PyDict).get('metadata') as PyDict;
    assert.equal(meta.get('chat_messages'), '[]');
  });

  test('chat and tasks survive their author leaving and reach a client who joins later', () => {
    const { h, alice, bob } = setup();
    send(h, bob, 'bob', [
      ['chat_messages', chat({ id: '1', timestamp: 1 })],
      ['tasks', tasks(task('t1', 'bob'))],
    ]);
    h.event({ type: 'dropped', client: bob, reason: 'gone', now: h.now });
    assert.ok(archiveEntry(h, alice) !== undefined);
    const dave = h.newIdentity();
    const fx = h.command(dave, authFrames('dave'));
    assert.equal(authReply(fx, dave), 'LOBBY');
    const meta = (userList(fx, dave).get('~archive') as PyDict).get('metadata') as PyDict;
    assert.match(meta.get('chat_messages') as string, /"id": "1"/);
    assert.match(meta.get('tasks') as string, /"t1"/);
  });

  test('metadata labelled with the archive name is relayed under the sender name, and the name cannot log in', () => {
    const { h, alice, bob } = setup();
    const fx = send(h, bob, '~archive', [['chat_messages', chat({ id: '1', timestamp: 1 })]]);
    const relayed = only(commandsTo(fx, alice, MessageType.UpdateUserMetadata));
    assert.equal(relayed.type === MessageType.UpdateUserMetadata && relayed.owner, 'bob');
    const id = h.newIdentity();
    assert.match(authReply(h.command(id, authFrames('~archive')), id), /^FAILED/);
  });
});

describe('the chat log', () => {
  test('deduplicates by id across users and orders by timestamp then id', () => {
    const { h, bob, carol } = setup();
    send(h, bob, 'bob', [['chat_messages', chat({ id: 'b', timestamp: 5 }, { id: 'z', timestamp: 2 })]]);
    send(h, carol, 'carol', [
      ['chat_messages', chat({ id: 'z', timestamp: 2 }, { id: 'a', timestamp: 5 }, { id: 'c', timestamp: 1 })],
    ]);
    assert.deepEqual(archivedChatIds(h), ['c', 'z', 'a', 'b']);
  });

  test('keeps the newest maxArchivedChatMessages and hands out the last archiveChatWindow', () => {
    const { h, alice, bob } = setup({ maxArchivedChatMessages: 5, archiveChatWindow: 3 });
    const msgs = Array.from({ length: 8 }, (_, i) => ({ id: `m${i}`, timestamp: 100 + i }));
    send(h, bob, 'bob', [['chat_messages', chat(...msgs)]]);
    assert.deepEqual(archivedChatIds(h), ['m3', 'm4', 'm5', 'm6', 'm7']);
    const window = ((archiveEntry(h, alice) as PyDict).get('metadata') as PyDict).get('chat_messages') as string;
    assert.deepEqual(
      [...window.matchAll(/"id": "(m\d)"/g)].map((m) => m[1]),
      ['m5', 'm6', 'm7'],
    );
    // An old message arriving once the log is full changes nothing and is not journaled.
    const fx = send(h, bob, 'bob', [['chat_messages', chat({ id: 'old', timestamp: 1 })]]);
    assert.deepEqual(
      fx.filter((e) => e.type === 'persist').map((e) => (e as { mutation: { type: string } }).mutation.type),
      ['metadata'],
    );
  });

  test('re-sending the same chat_messages value is not parsed or journaled again', () => {
    const { h, bob } = setup();
    const value = chat({ id: '1', timestamp: 1 });
    send(h, bob, 'bob', [['chat_messages', value]]);
    const again = send(h, bob, 'bob', [['chat_messages', value]]);
    assert.equal(again.filter((e) => e.type === 'persist').length, 1);
  });

  test('bad JSON, wrong types and huge values are skipped with a rate-limited warning; the update is still relayed', () => {
    const { h, alice, bob } = setup({ maxArchiveJsonChars: 200 });
    const bad: [string, string][] = [
      ['chat_messages', '[{"id": "1", "timestamp": 1'],
      ['chat_messages', '{"id": "1"}'],
      ['chat_messages', '[{"id": 5, "timestamp": 1}, {"id": "x", "timestamp": "soon"}, 3]'],
      ['chat_messages', chat(...Array.from({ length: 10 }, (_, i) => ({ id: `${i}`, timestamp: i })))],
      ['tasks', '["t1"]'],
      ['tasks', '{"t1": "not a task"}'],
      ['tasks', '{"t1": {"id": "t1"'],
    ];
    for (const entry of bad) {
      const fx = send(h, bob, 'bob', [entry]);
      assert.equal(only(commandsTo(fx, alice, MessageType.UpdateUserMetadata)).type, MessageType.UpdateUserMetadata);
      const warn = only(logs(fx, 'warn'));
      assert.equal(warn.key, `archive:${bob}`);
      assert.deepEqual(
        fx.filter((e) => e.type === 'persist').map((e) => (e as { mutation: { type: string } }).mutation.type),
        ['metadata'],
      );
    }
    assert.equal(h.session.exportImage().chat.length, 0);
    assert.equal(h.session.exportImage().tasks.size, 0);
  });
});

describe('the task board', () => {
  test('a task disappearing from its creator board is deleted, and others cannot bring it back', () => {
    const { h, bob, carol } = setup();
    send(h, bob, 'bob', [['tasks', tasks(task('t1', 'bob'), task('t2', 'bob'))]]);
    send(h, carol, 'carol', [['tasks', tasks(task('t1', 'bob'), task('t2', 'bob'))]]);
    const fx = send(h, bob, 'bob', [['tasks', tasks(task('t2', 'bob'))]]);
    assert.deepEqual(board(h), ['t2']);
    const m = fx.find((e) => e.type === 'persist' && e.mutation.type === 'tasks');
    assert.ok(m?.type === 'persist' && m.mutation.type === 'tasks');
    assert.deepEqual(m.mutation.remove, ['t1']);
    // carol still holds t1: unchanged, re-sent, or after she logs in again, it is not re-added.
    send(h, carol, 'carol', [['tasks', tasks(task('t1', 'bob'), task('t2', 'bob'), task('c1', 'carol'))]]);
    h.event({ type: 'dropped', client: carol, reason: 'gone', now: h.now });
    const carol2 = h.login('carol');
    send(h, carol2, 'carol', [['tasks', tasks(task('t1', 'bob'), task('t2', 'bob'), task('c1', 'carol'))]]);
    assert.deepEqual(board(h), ['t2', 'c1']);
    assert.deepEqual(h.session.exportImage().extra?.get('archive_deleted_tasks'), ['t1']);
  });

  test('a task missing from the board of someone who is not its creator stays', () => {
    const { h, bob, carol } = setup();
    send(h, bob, 'bob', [['tasks', tasks(task('t1', 'bob'))]]);
    send(h, carol, 'carol', [['tasks', tasks(task('t1', 'bob'))]]);
    send(h, carol, 'carol', [['tasks', tasks()]]);
    assert.deepEqual(board(h), ['t1']);
  });

  test('the first board of a login deletes nothing, even when empty', () => {
    const { h, bob } = setup();
    send(h, bob, 'bob', [['tasks', tasks(task('t1', 'bob'))]]);
    h.event({ type: 'dropped', client: bob, reason: 'gone', now: h.now });
    const again = h.login('bob');
    send(h, again, 'bob', [['tasks', tasks()]]);
    assert.deepEqual(board(h), ['t1']);
  });

  test('an edit replaces the board version; a stale copy held by someone else does not undo it', () => {
    const { h, bob, carol } = setup();
    send(h, bob, 'bob', [['tasks', tasks(task('t1', 'bob'))]]);
    send(h, carol, 'carol', [['tasks', tasks(task('t1', 'bob'))]]);
    send(h, carol, 'carol', [['tasks', tasks(task('t1', 'bob', 'done'))]]);
    const status = (): unknown => (h.session.exportImage().tasks.get('t1') as PyDict).get('status');
    assert.equal(status(), 'done');
    send(h, bob, 'bob', [['tasks', tasks(task('t1', 'bob'), task('t2', 'bob'))]]);
    assert.equal(status(), 'done');
    assert.deepEqual(board(h), ['t1', 't2']);
  });

  test('a task without a created_by may be deleted by anyone who had it', () => {
    const { h, bob, carol } = setup();
    send(h, bob, 'bob', [['tasks', '{"t1": {"id": "t1", "title": "anon"}}']]);
    send(h, carol, 'carol', [['tasks', '{"t1": {"id": "t1", "title": "anon"}}']]);
    send(h, carol, 'carol', [['tasks', '{}']]);
    assert.deepEqual(board(h), []);
  });

  test('tasks beyond maxArchivedTasks are not archived and a whole board above it is ignored', () => {
    const { h, bob, carol } = setup({ maxArchivedTasks: 2 });
    const fx = send(h, bob, 'bob', [['tasks', tasks(task('a', 'bob'), task('b', 'bob'))]]);
    assert.equal(logs(fx, 'warn').length, 0);
    const more = send(h, carol, 'carol', [['tasks', tasks(task('c', 'carol'))]]);
    assert.equal(logs(more, 'warn').length, 1);
    const tooMany = send(h, carol, 'carol', [['tasks', tasks(task('c', 'carol'), task('d', 'c'), task('e', 'c'))]]);
    assert.equal(logs(tooMany, 'warn').length, 1);
    assert.deepEqual(board(h), ['a', 'b']);
  });
});
