/**
 * A journal the disk refuses (STYLE.md §8, redis `appendfsync always`), with the server wired as
 * `serve` wires it and one fsync made to fail: under JOURNAL_FSYNC=always the change is not
 * relayed and the server refuses changes — but not logins, joins or heartbeats — until the journal
 * works again; under the default interval the change is relayed and kept in memory, a snapshot is
 * saved, and the journal is writable again.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { Persistence } from '../../src/cli/index.js';
import { createFuncLogger } from '../../src/session/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { NODE_STORE_FS, type StoreFs, type JournalFsyncPolicy, logSessionSaved } from '../../src/store/index.js';
import { startServerOver } from '../helpers/wired-server.js';
import { tempDataDir, closeAll } from './cli-server.js';
import { ADMIN_PASSWORD, LogSink, nodeBytes, uuidOf } from './harness.js';
import { ReplicationClient } from '../../src/client/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeAll();
});

/** The real fs, except that the next journal fdatasync fails with ENOSPC once `failNextFsync()` is called. */
function flakyFs(): { fs: StoreFs; failNextFsync: () => void; failFsyncs: (on: boolean) => void } {
  let fail = false;
  let failAll = false;
  const fs: StoreFs = {
    ...NODE_STORE_FS,
    fdatasync: (fd) => {
      if (!fail && !failAll) return NODE_STORE_FS.fdatasync(fd);
      fail = false;
      return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' }));
    },
  };
  return { fs, failNextFsync: () => (fail = true), failFsyncs: (on) => (failAll = on) };
}

async function start(journalFsync: JournalFsyncPolicy) {
  const logs = new LogSink();
  const logger = createFuncLogger((level, message) => logs.push({ level, message }));
  const flaky = flakyFs();
  const persistence = await Persistence.open({
    dataDir: tempDataDir(),
    saveIntervalS: 0,
    maxBackups: 10,
    journalFsync,
    session: { adminPassword: ADMIN_PASSWORD },
    logger,
    serverVersion: 'test',
    fs: flaky.fs,
  });
  const server = await startServerOver(persistence, logger);
  const clients: ReplicationClient[] = [];
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    await persistence.close();
  });
  const client = (username: string, admin = false): ReplicationClient => {
    const c = new ReplicationClient({
      host: '127.0.0.1',
      port: server.port,
      username,
      stepTimeoutMs: 5000,
      adminPassword: admin ? ADMIN_PASSWORD : undefined,
    });
    clients.push(c);
    return c;
  };
  const alice = client('alice', true);
  assert.equal(await alice.login(), 'LOBBY');
  assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]), 'ACCEPTED');
  const bob = client('bob');
  await bob.login();
  await bob.join();
  return { logs, server, alice, bob, client, failNextFsync: flaky.failNextFsync, failFsyncs: flaky.failFsyncs };
}

describe('a journal write that fails', () => {
  test('under JOURNAL_FSYNC=always the change is not relayed and further changes are refused', async () => {
    const { logs, server, alice, failFsyncs } = await start('always');
    const sentBefore = server.stats().send.data.sent;
    failFsyncs(true);
    await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
    await logs.waitFor((l) => l.level === 'error' && l.message.startsWith('JOURNAL FAILED under JOURNAL_FSYNC=always'));
    await logs.waitFor((l) => l.message.startsWith('A change could not be journaled and is not relayed'));
    assert.match(server.refusingReason ?? '', /the journal cannot be written .*ENOSPC/);

    await alice.pushNode({ uuid: uuidOf(3), dataBytes: nodeBytes(uuidOf(3)) });
    await logs.waitFor((l) => l.message.startsWith('Dropped a data message: the journal cannot be written'));
    assert.equal(server.stats().refused, 1);
    // The second message arrived after every microtask of the first had run: the verdict is in.
    assert.equal(server.stats().effects.withheld, 1, "bob's relay was withheld");
    assert.equal(server.stats().send.data.sent, sentBefore, 'nothing went out on the data socket');
  });

  test('under JOURNAL_FSYNC=always logins and joins go on while changes are refused, and changes resume with the journal', async () => {
    const { logs, server, alice, bob, client, failFsyncs } = await start('always');
    failFsyncs(true);
    await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
    await logs.waitFor((l) => l.message.startsWith('JOURNAL FAILED under JOURNAL_FSYNC=always'));
    assert.notEqual(server.refusingReason, null);

    const carol = client('carol');
    assert.equal(await carol.login(), 'RUNNING', 'a login is not a change');
    await carol.join();
    assert.ok(carol.store.nodes.has(uuidOf(1)));

    failFsyncs(false);
    await logs.waitFor((l) => /^Journal writable again: \d+ change\(s\) held in memory/.test(l.message));
    await logs.waitFor((l) => l.message.startsWith('Accepting changes again'));
    await alice.pushNode({ uuid: uuidOf(3), dataBytes: nodeBytes(uuidOf(3)) });
    await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(3));
    await carol.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(3));
    assert.equal(server.refusingReason, null);
  });

  test('under the default interval the change is relayed, a snapshot is saved, and the journal recovers', async () => {
    const { logs, server, alice, bob, failNextFsync } = await start(100);
    failNextFsync();
    await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
    await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(2));
    await logs.waitFor((l) => l.level === 'error' && l.message.startsWith('JOURNAL FAILED ('));
    await logs.waitFor((l) => l.message === logSessionSaved('journal_failed'));
    await logs.waitFor((l) => l.message.startsWith('Journal writable again'));
    await alice.pushNode({ uuid: uuidOf(3), dataBytes: nodeBytes(uuidOf(3)) });
    await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(3));
    assert.equal(server.refusingReason, null);
    assert.equal(server.stats().effects.withheld, 0);
  });
});
