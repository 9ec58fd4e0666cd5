import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { PyDict } from '../../src/pickle/index.js';
import { MessageType, type Node } from '../../src/protocol/index.js';
import { logKick, logLockRelease, logLogout } from '../../src/session/index.js';
import { commandsTo, Harness, kickFrames, logs, nodeData, nodeFrames, only, rightFrames, sends } from './helpers.js';

function lockedBy(h: Harness, client: string, name: string, ids: string[]): void {
  for (const id of ids) h.data(client, nodeFrames(id, 'COMMON', [], nodeData(id)));
  h.command(client, rightFrames(name, ids, name));
}

describe('Kick', () => {
  test('an admin kick sends Disconnect, frees the locks for the others and removes the user', () => {
    const h = new Harness();
    const admin = h.login('alice', { admin: true });
    h.init(admin, 1);
    const bob = h.login('bob');
    const carol = h.login('carol');
    lockedBy(h, bob, 'bob', ['b1', 'b2']);
    const fx = h.command(admin, kickFrames('alice', 'bob'));
    const disconnect = only(commandsTo(fx, bob));
    assert.equal(disconnect.type, MessageType.Disconnect);
    assert.equal((disconnect.data as PyDict).get('reason'), 'kicked by admin');
    const unlock = only(sends(fx, 'command').filter((s) => s.to.includes(carol)));
    assert.deepEqual([...unlock.to].sort(), [admin, carol].sort());
    const right = only(commandsTo(fx, carol));
    assert.equal(right.type === MessageType.Right && right.owner, 'server');
    assert.deepEqual((right.data as PyDict).get('uuid'), ['b1', 'b2']);
    assert.equal((right.data as PyDict).get('owner'), 'COMMON');
    assert.ok(fx.some((e) => e.type === 'forget' && e.client === bob));
    assert.ok(logs(fx, 'warn').some((l) => l.message === logKick('bob', 'alice')));
    assert.ok(logs(fx, 'info').some((l) => l.message === logLockRelease('bob', ['b1', 'b2'])));
    assert.deepEqual(
      h.session.listUsers().map((u) => u.name),
      ['alice', 'carol'],
    );
    assert.equal((h.fetch(carol, 'b1') as Node).owner, 'COMMON');
  });

  test('the Disconnect goes out before the client is forgotten', () => {
    const h = new Harness();
    const admin = h.login('alice', { admin: true });
    const bob = h.login('bob');
    const fx = h.command(admin, kickFrames('alice', 'bob'));
    const order = fx.filter((e) => e.type === 'send' || e.type === 'forget').map((e) => e.type);
    assert.deepEqual(order, ['send', 'forget']);
    assert.ok(fx.some((e) => e.type === 'send' && e.to.includes(bob)));
  });

  test('an unknown user or a Kick without user is logged and nothing is sent', () => {
    const h = new Harness();
    const admin = h.login('alice', { admin: true });
    for (const user of ['nobody', null]) {
      const fx = h.command(admin, kickFrames('alice', user));
      assert.equal(sends(fx).length, 0);
      assert.equal(logs(fx, 'warn').length, 1);
    }
  });

  test('the operator can kick by name through the admin-kick event', () => {
    const h = new Harness();
    h.login('alice');
    const bob = h.login('bob');
    const fx = h.session.handle({ type: 'admin-kick', username: 'bob', now: h.now });
    assert.equal(only(commandsTo(fx, bob)).type, MessageType.Disconnect);
    assert.ok(logs(fx, 'warn').some((l) => l.message === logKick('bob', 'operator')));
    const again = h.session.handle({ type: 'admin-kick', username: 'bob', now: h.now });
    assert.equal(sends(again).length, 0);
  });
});

describe('leaving', () => {
  test('the last client leaving frees its locks in the store, so the next joiner can edit (cap: 08_lock_leak)', () => {
    const h = new Harness();
    const alice = h.login('alice');
    h.init(alice, 1);
    lockedBy(h, alice, 'alice', ['cube', 'mesh']);
    const fx = h.session.handle({ type: 'dropped', client: alice, reason: 'socket closed', now: h.now });
    assert.equal(sends(fx).length, 0);
    assert.ok(logs(fx, 'info').some((l) => l.message === logLogout('alice', 'socket closed')));
    const bob = h.login('bob');
    assert.equal((h.fetch(bob, 'cube') as Node).owner, 'COMMON');
    assert.equal((h.fetch(bob, 'mesh') as Node).owner, 'COMMON');
  });

  test('a departed user is gone from the next user list and their name is free again', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const bob = h.login('bob');
    h.session.handle({ type: 'dropped', client: bob, reason: 'gone', now: h.now });
    const users = commandsTo(h.tick(h.now + 1500), alice, MessageType.UpdateClientsState);
    assert.deepEqual([...(users[users.length - 1].data as PyDict).keys()], ['alice']);
    h.login('bob');
  });
});
