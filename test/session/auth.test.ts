import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { PyDict } from '../../src/pickle/index.js';
import {
  AUTH_FAILED_ALREADY_LOGGED_IN,
  AUTH_FAILED_INVALID_USERNAME,
  AUTH_FAILED_MALFORMED,
  AUTH_FAILED_SERVER_FULL,
  AUTH_FAILED_WRONG_ADMIN_PASSWORD,
  AUTH_FAILED_WRONG_SERVER_PASSWORD,
  encodeCommand,
  MessageType,
} from '../../src/protocol/index.js';
import { logLogin } from '../../src/session/index.js';
import {
  ADMIN_PASSWORD,
  authFrames,
  authReply,
  commandsTo,
  Harness,
  logs,
  only,
  sends,
  serverInfoFrames,
  userList,
} from './helpers.js';

function serverInfo(h: Harness): PyDict {
  const id = h.newIdentity();
  return only(commandsTo(h.command(id, serverInfoFrames()), id, MessageType.RequestServerInfo)).data as PyDict;
}

describe('RequestServerInfo', () => {
  test('a public server reports private False and the library version to an unknown identity', () => {
    const info = serverInfo(new Harness());
    assert.equal(info.get('private'), false);
    assert.equal(info.get('version'), '0.9.10');
  });

  test('a server with a password reports private True', () => {
    assert.equal(serverInfo(new Harness({ serverPassword: 'secret' })).get('private'), true);
  });
});

describe('Auth', () => {
  test('a successful login gets the user list before LOBBY, and the record is in it', () => {
    const h = new Harness();
    const id = h.newIdentity();
    const fx = h.command(id, authFrames('alice', { adminPassword: ADMIN_PASSWORD }));
    const types = commandsTo(fx, id).map((m) => m.type);
    assert.deepEqual(types, [MessageType.UpdateClientsState, MessageType.Auth]);
    assert.equal(authReply(fx, id), 'LOBBY');
    const alice = userList(fx, id).get('alice') as PyDict;
    assert.equal(alice.get('admin'), true);
    assert.equal(alice.get('latency'), 999n);
    assert.equal(alice.get('status'), 10n);
    assert.ok(logs(fx, 'info').some((l) => l.message === logLogin('alice', true)));
  });

  test('the reply is RUNNING once the session is active, whatever the admin rights', () => {
    const h = new Harness();
    const admin = h.login('alice', { admin: true });
    h.init(admin, 1);
    const id = h.newIdentity();
    assert.equal(authReply(h.command(id, authFrames('bob')), id), 'RUNNING');
  });

  test('checks run in the reference order: duplicate name, admin password, server password, version', () => {
    const h = new Harness({ serverPassword: 'pw' });
    h.login('alice', { admin: true, heartbeat: false });
    const cases: [Parameters<typeof authFrames>, string][] = [
      [['alice', { adminPassword: 'wrong', serverPassword: 'wrong', version: '0.9.9' }], AUTH_FAILED_ALREADY_LOGGED_IN],
      [
        ['bob', { adminPassword: 'wrong', serverPassword: 'wrong', version: '0.9.9' }],
        AUTH_FAILED_WRONG_ADMIN_PASSWORD,
      ],
      [['bob', { serverPassword: 'wrong', version: '0.9.9' }], AUTH_FAILED_WRONG_SERVER_PASSWORD],
      [['bob', { serverPassword: 'pw', version: '0.9.9' }], 'FAILED: wrong client version (0.9.9 != 0.9.10)'],
      [['bob', { serverPassword: 'pw', version: null }], 'FAILED: wrong client version (None != 0.9.10)'],
    ];
    for (const [args, expected] of cases) {
      const id = h.newIdentity();
      assert.equal(authReply(h.command(id, authFrames(...args)), id), expected);
    }
  });

  test('a public server accepts the empty string, None and "None" but not another password', () => {
    const h = new Harness();
    for (const [i, pwd] of ['', null, 'None'].entries()) {
      const id = h.newIdentity();
      assert.equal(authReply(h.command(id, authFrames(`user${i}`, { serverPassword: pwd })), id), 'LOBBY');
    }
    const id = h.newIdentity();
    assert.equal(
      authReply(h.command(id, authFrames('other', { serverPassword: 'x' })), id),
      AUTH_FAILED_WRONG_SERVER_PASSWORD,
    );
  });

  test('a private server compares str(S_PWD): None fails unless the password is the string None', () => {
    const h = new Harness({ serverPassword: 'secret' });
    const a = h.newIdentity();
    assert.equal(
      authReply(h.command(a, authFrames('a', { serverPassword: null })), a),
      AUTH_FAILED_WRONG_SERVER_PASSWORD,
    );
    const b = h.newIdentity();
    assert.equal(authReply(h.command(b, authFrames('b', { serverPassword: 'secret' })), b), 'LOBBY');
    const h2 = new Harness({ serverPassword: 'None' });
    const c = h2.newIdentity();
    assert.equal(authReply(h2.command(c, authFrames('c', { serverPassword: null })), c), 'LOBBY');
  });

  test('an unknown AUTH_TYPE logs in as a non-admin (cap: 03_auth_spwd_none)', () => {
    const h = new Harness();
    const id = h.newIdentity();
    const fx = h.command(id, authFrames('eve', { type: 'ROOT', adminPassword: 'whatever' }));
    assert.equal(authReply(fx, id), 'LOBBY');
    assert.equal((userList(fx, id).get('eve') as PyDict).get('admin'), false);
  });

  test('a failed attempt still sends the user list to the logged-in clients, not to the requester', () => {
    const h = new Harness();
    const alice = h.login('alice');
    const id = h.newIdentity();
    const fx = h.command(id, authFrames('alice'));
    assert.equal(commandsTo(fx, alice, MessageType.UpdateClientsState).length, 1);
    assert.deepEqual(
      commandsTo(fx, id).map((m) => m.type),
      [MessageType.Auth],
    );
  });

  test('an empty admin password disables admin logins', () => {
    const h = new Harness({ adminPassword: '' });
    const id = h.newIdentity();
    assert.equal(
      authReply(h.command(id, authFrames('a', { type: 'ADMIN', adminPassword: '' })), id),
      AUTH_FAILED_WRONG_ADMIN_PASSWORD,
    );
  });

  test('passwords never appear in log lines, whether the login succeeds or fails', () => {
    const h = new Harness({ serverPassword: 'server-pw' });
    const all = [
      ...h.command(h.newIdentity(), authFrames('a', { adminPassword: 'guess-1', serverPassword: 'server-pw' })),
      ...h.command(h.newIdentity(), authFrames('b', { adminPassword: ADMIN_PASSWORD, serverPassword: 'guess-2' })),
      ...h.command(h.newIdentity(), authFrames('c', { adminPassword: ADMIN_PASSWORD, serverPassword: 'server-pw' })),
    ];
    const text = logs(all)
      .map((l) => l.message)
      .join('\n');
    for (const secret of ['guess-1', 'guess-2', 'server-pw', ADMIN_PASSWORD]) assert.ok(!text.includes(secret), secret);
  });

  test('an Auth whose data is not a dict is answered with a FAILED reply', () => {
    const h = new Harness();
    const id = h.newIdentity();
    const fx = h.command(id, encodeCommand(MessageType.Auth, 'x', 'not a dict'));
    assert.equal(authReply(fx, id), AUTH_FAILED_MALFORMED);
  });

  test('unusable usernames are refused after the reference checks', () => {
    const h = new Harness({ limits: { maxUsernameChars: 8 } });
    for (const name of ['', 'COMMON', '~archive', 'a\nb', 'toolongname', 42n]) {
      const id = h.newIdentity();
      assert.equal(authReply(h.command(id, authFrames(name)), id), AUTH_FAILED_INVALID_USERNAME, String(name));
    }
  });

  test('logins beyond maxClients are refused', () => {
    const h = new Harness({ limits: { maxClients: 1 } });
    h.login('alice');
    const id = h.newIdentity();
    assert.equal(authReply(h.command(id, authFrames('bob')), id), AUTH_FAILED_SERVER_FULL);
  });

  test('an identity that is logged in cannot log in again under another name', () => {
    const h = new Harness();
    const id = h.newIdentity();
    h.command(id, authFrames('alice'));
    const fx = h.command(id, authFrames('mallory'));
    assert.equal(authReply(fx, id), AUTH_FAILED_ALREADY_LOGGED_IN);
    assert.deepEqual([...userList(fx, id).keys()], ['alice']);
  });

  test('the user list is sent once, encoded once, to every logged-in client', () => {
    const h = new Harness();
    const a = h.login('alice');
    const b = h.newIdentity();
    const fx = h.command(b, authFrames('bob'));
    const lists = sends(fx, 'command').filter((s) => s.to.includes(a));
    assert.equal(lists.length, 1);
    assert.deepEqual([...lists[0].to].sort(), [a, b].sort());
  });
});
