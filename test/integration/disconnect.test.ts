/**
 * A logged-in client whose connections on all three ports close leaves the session once
 * DISCONNECT_GRACE has passed without a reconnect, as at a heartbeat timeout (same log line, same
 * user list update); a client whose connections come back with the same identity within the grace
 * (libzmq's DEALER reconnects by itself every 100 ms) stays. The heartbeat timeout is a minute
 * here, so only the disconnect rule can remove anyone within these tests' deadlines.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';

import type { ReplicationClient } from '../../src/client/index.js';
import { logLogout } from '../../src/session/index.js';
import { pickBasePort } from '../helpers/ports.js';
import { startTestServer, type TestServer } from './harness.js';

const GRACE_MS = 300;
const LONG_TIMEOUT_MS = 60_000;

let ts: TestServer | undefined;
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await ts?.close();
  ts = undefined;
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/**
 * A TCP relay for the three ports: P..P+2 on its side forward to the server's. `cut` destroys
 * every relayed connection at once, as a network failure or a restarted router would; the client's
 * DEALERs then reconnect by themselves through it, unless `refuse` closed its listeners.
 */
class TcpProxy {
  private readonly servers: Server[] = [];
  private readonly pairs = new Set<Socket>();
  accepted = 0;
  private onAccept: (() => void)[] = [];

  private constructor(readonly port: number) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await pickBasePort());
    for (let i = 0; i < 3; i++) {
      const server = createServer((down) => {
        const up = connect({ host: '127.0.0.1', port: targetPort + i });
        for (const s of [down, up]) {
          proxy.pairs.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            proxy.pairs.delete(s);
            down.destroy();
            up.destroy();
          });
        }
        down.pipe(up);
        up.pipe(down);
        proxy.accepted++;
        for (const wake of proxy.onAccept.splice(0)) wake();
      });
      await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: proxy.port + i }, resolve));
      proxy.servers.push(server);
    }
    proxies.push(proxy);
    return proxy;
  }

  /** Resolves once `count` connections in all were accepted. */
  async acceptedAtLeast(count: number): Promise<void> {
    while (this.accepted < count) await new Promise<void>((resolve) => this.onAccept.push(resolve));
  }

  cut(): void {
    for (const s of this.pairs) s.destroy();
  }

  /** Stops accepting: reconnects are refused from now on. */
  refuse(): void {
    for (const s of this.servers) s.close();
  }

  async close(): Promise<void> {
    this.cut();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

async function loggedIn(client: ReplicationClient): Promise<void> {
  const reply = await client.login();
  assert.ok(reply === 'LOBBY' || reply === 'RUNNING', reply);
  await client.waitFor((e) => e.type === 'ping'); // its heartbeat connection is up
}

describe('a client whose connections all close', () => {
  test('leaves within the grace: one log line with its address and the reason, then the user list', async () => {
    ts = await startTestServer({ timeoutMs: LONG_TIMEOUT_MS }, { transport: { disconnectGraceMs: GRACE_MS } });
    const alice = ts.client('alice');
    // The watcher logs in last: every user list it receives holds alice until she is gone.
    const watcher = ts.client('watcher');
    await loggedIn(alice);
    await loggedIn(watcher);
    await watcher.waitForUsers((list) => list.some((u) => u.name === 'alice'));
    const closedAt = performance.now();
    await alice.close();
    await watcher.waitForUsers((list) => !list.some((u) => u.name === 'alice'), GRACE_MS + 3000);
    assert.ok(performance.now() - closedAt >= GRACE_MS, 'not before the grace');
    const drop = ts.logs.lines.filter((l) => l.message.startsWith('Dropping alice'));
    assert.equal(drop.length, 1);
    assert.equal(drop[0].level, 'info');
    assert.match(
      drop[0].message,
      /^Dropping alice \(client [0-9a-f]{32}\): connection closed \(its connections on the three ports closed, the last from 127\.0\.0\.1:\d+, and none came back within 300 ms\)$/,
    );
    assert.equal(ts.logs.lines.filter((l) => l.message === logLogout('alice', 'connection closed')).length, 1);
    assert.deepEqual(
      ts.session.listUsers().map((u) => u.name),
      ['watcher'],
    );
  });

  test('stays when its connections come back with the same identity within the grace', async () => {
    ts = await startTestServer({ timeoutMs: LONG_TIMEOUT_MS }, { transport: { disconnectGraceMs: GRACE_MS } });
    const stays = await TcpProxy.start(ts.port);
    const goes = await TcpProxy.start(ts.port);
    // Logged in in this order, each list alice and the watcher receive holds bob until he is gone.
    const bob = ts.client('bob', { port: goes.port });
    const alice = ts.client('alice', { port: stays.port });
    const watcher = ts.client('watcher');
    for (const c of [bob, alice, watcher]) await loggedIn(c);
    await stays.acceptedAtLeast(3);

    stays.cut();
    // alice's DEALERs reconnect by themselves (100 ms), with the same identity.
    await stays.acceptedAtLeast(6);
    // bob's connections close later than alice's and never come back: once bob is gone, a grace
    // started for alice would have run out too (timers of equal length fire in order).
    goes.refuse();
    goes.cut();
    await watcher.waitForUsers((list) => !list.some((u) => u.name === 'bob'), GRACE_MS + 3000);
    assert.ok(ts.logs.has(logLogout('bob', 'connection closed')));
    assert.ok(!ts.logs.has('Dropping alice'), 'alice was dropped although she reconnected');
    assert.deepEqual(
      ts.session
        .listUsers()
        .map((u) => u.name)
        .sort(),
      ['alice', 'watcher'],
    );
    // And she is really served again over her new connections.
    await alice.waitForUsers((list) => list.some((u) => u.name === 'alice') && !list.some((u) => u.name === 'bob'));
  });

  test('a kicked client is removed once: closing its connections starts no second removal', async () => {
    ts = await startTestServer({ timeoutMs: LONG_TIMEOUT_MS }, { transport: { disconnectGraceMs: GRACE_MS } });
    const carol = ts.client('carol');
    const dave = ts.client('dave');
    const watcher = ts.client('watcher');
    for (const c of [carol, dave, watcher]) await loggedIn(c);
    ts.server.adminKick('carol');
    await carol.waitForClosed();
    // dave leaves after carol's connections were closed: once he is dropped, any grace started
    // for carol would have run out as well.
    await dave.close();
    await watcher.waitForUsers((list) => !list.some((u) => u.name === 'dave'), GRACE_MS + 3000);
    assert.ok(!ts.logs.has('Dropping carol'));
    assert.equal(
      ts.logs.lines.filter((l) => l.message.startsWith('carol disconnected from the server')).length,
      1,
      ts.logs.lines.map((l) => l.message).join('\n'),
    );
    assert.equal(ts.logs.lines.filter((l) => l.message.startsWith('dave disconnected from the server')).length, 1);
  });
});
