/**
 * Server info and login over real sockets: the reply strings the add-on parses, the user list
 * that precedes a successful reply, and our client closing itself on FAILED as the add-on does.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { requestServerInfo } from '../../src/client/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './harness.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

describe('server info and login over real sockets', () => {
  test('a public server reports private False and version 0.9.10 to a fresh identity', async () => {
    ts = await startTestServer();
    assert.deepEqual(await requestServerInfo({ host: '127.0.0.1', port: ts.port }), {
      private: false,
      version: '0.9.10',
    });
  });

  test('a server with a password reports private True and refuses a wrong password', async () => {
    ts = await startTestServer({ serverPassword: 'open-sesame' });
    assert.equal((await requestServerInfo({ host: '127.0.0.1', port: ts.port })).private, true);
    const eve = ts.client('eve', { serverPassword: 'guess' });
    assert.equal(await eve.login(), 'FAILED: wrong server password');
    assert.equal(eve.state, 'closed');
    assert.equal(await eve.waitForClosed(), 'FAILED: wrong server password');
    const bob = ts.client('bob', { serverPassword: 'open-sesame' });
    assert.equal(await bob.login(), 'LOBBY');
  });

  test('the user list reaches the new client before its LOBBY reply', async () => {
    ts = await startTestServer();
    const alice = ts.client('alice', { adminPassword: ADMIN_PASSWORD });
    assert.equal(await alice.login(), 'LOBBY');
    const order = alice.mailbox.peek((e) => e.type === 'command').map((e) => e.type === 'command' && e.message.type);
    assert.equal(order[0], MessageType.UpdateClientsState);
    assert.deepEqual(
      alice.users.map((u) => [u.name, u.admin, u.status, u.latencyMs]),
      [['alice', true, 10, 999]],
    );
  });

  test('a duplicate username and a wrong admin password get the reference reply strings', async () => {
    ts = await startTestServer();
    const alice = ts.client('alice');
    assert.equal(await alice.login(), 'LOBBY');
    assert.equal(await ts.client('alice').login(), 'FAILED: client already logged in');
    assert.equal(await ts.client('mallory', { adminPassword: 'nope' }).login(), 'FAILED: wrong admin password');
    // Everyone logged in still gets the user list after a failed attempt (§4.2).
    await alice.waitForUsers((list) => list.length === 1 && list[0].name === 'alice');
  });
});
