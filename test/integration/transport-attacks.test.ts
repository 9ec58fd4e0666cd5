/**
 * What a peer can cost before it logs in, and real disconnects, over real sockets with the real
 * session: the attacks that cost the zeromq-based server gigabytes (one message of 4,000,000
 * empty frames; three 700 MiB frames) are cut at the pre-login budget with flat memory; 10,000
 * connections that never finish the handshake are closed at the timeout; 20,000 strangers who
 * ask once and leave cost nothing afterwards; a kicked client's three connections are closed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Dealer } from 'zeromq';

import { encodeAuthRequest } from '../../src/client/index.js';
import { encodeCommandBody, encodeProperties, encodeCommandFrame, encodeGreeting } from '../../src/net/index.js';
import { RawPeer } from '../net/zmtp-router-helpers.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1024 * 1024;
const FLOOD_SCRIPT = fileURLToPath(new URL('./conn-flood.js', import.meta.url));

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function server(transport: object = {}): Promise<TestServer> {
  const ts = await startTestServer({}, { transport });
  servers.push(ts);
  return ts;
}

function rss(): number {
  gc();
  return process.memoryUsage().rss;
}

/** A raw peer through the handshake as a DEALER with a fresh identity, not logged in. */
async function stranger(port: number): Promise<{ peer: RawPeer; id: Buffer }> {
  const id = randomBytes(16);
  const peer = await RawPeer.connect(port);
  peer.write(encodeGreeting());
  peer.write(
    encodeCommandFrame(
      encodeCommandBody(
        'READY',
        encodeProperties([
          ['Socket-Type', Buffer.from('DEALER')],
          ['Identity', id],
        ]),
      ),
    ),
  );
  await peer.read(64);
  const h = await peer.read(2);
  await peer.read(h[1]);
  return { peer, id };
}

/** Writes `chunk` repeatedly (at most `times`), honouring backpressure, until the peer is closed. */
async function stream(peer: RawPeer, chunk: Buffer, times: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < times && !peer.isClosed; i++) {
    if (!peer.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        peer.socket.once('drain', resolve);
        peer.socket.once('close', resolve);
      });
    }
    written += chunk.length;
  }
  return written;
}

/** Runs conn-flood.js and hands each JSON line it prints to `onLine`; resolves at its exit. */
async function flood(args: string[], onLine: (line: Record<string, number>) => void): Promise<void> {
  const child = spawn(process.execPath, [FLOOD_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (l) => onLine(JSON.parse(l) as Record<string, number>));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0);
}

describe('pre-login budgets and real disconnects', () => {
  test('4,000,000 empty frames before login: closed at the frame budget, RSS flat', async () => {
    const ts = await server();
    const before = rss();
    const { peer, id } = await stranger(ts.port);
    // 4,000,000 empty frames with MORE (8 MB), streamed from one reused 64 KiB chunk.
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0x01;
    const written = await stream(peer, chunk, (4_000_000 * 2) / chunk.length);
    await peer.closed();
    const line = await ts.logs.waitFor((l) => l.message.includes('more than 8 frames in one message'));
    assert.match(line.message, /from 127\.0\.0\.1:\d+/);
    assert.ok(line.message.includes(id.toString('hex')), line.message);
    assert.match(line.message, /limit 8, PRE_LOGIN_MAX_FRAMES/);
    assert.ok(written < 8_000_000, `the server closed before the attacker was done (${written} bytes written)`);
    const growth = rss() - before;
    assert.ok(growth < 20 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB`);
  });

  test('3 × 700 MiB frames before login: closed at their headers, RSS flat', async () => {
    const ts = await server();
    const before = rss();
    const size = 700 * MB;
    const header = Buffer.alloc(9);
    header[0] = 0x02;
    header.writeUInt32BE(size, 5);
    const zeros = Buffer.alloc(MB);
    const attacks = await Promise.all([0, 1, 2].map(() => stranger(ts.port)));
    const written = await Promise.all(
      attacks.map(async ({ peer }) => {
        peer.write(header);
        return stream(peer, zeros, 700);
      }),
    );
    await Promise.all(attacks.map(({ peer }) => peer.closed()));
    for (const { id } of attacks) {
      const line = await ts.logs.waitFor(
        (l) => l.message.includes(id.toString('hex')) && l.message.includes('mid-message'),
      );
      assert.match(line.message, new RegExp(`frame of ${size} bytes \\(max 4096\\)`));
      assert.match(line.message, /PRE_LOGIN_MAX_MESSAGE_BYTES/);
    }
    assert.ok(
      written.every((w) => w < size),
      `closed before the frames were sent (${written.join(', ')} bytes)`,
    );
    const growth = rss() - before;
    assert.ok(growth < 20 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB`);
  });

  test('10,000 connections that never finish the handshake are closed at the handshake timeout', async () => {
    const timeoutMs = 1500;
    const ts = await server({
      handshakeTimeoutMs: timeoutMs,
      maxConnections: 20_000,
      maxConnectionsPerAddress: 20_000,
      newConnectionsPerAddressPerSecond: 1_000_000,
    });
    let open: Record<string, number> | undefined;
    let closed: Record<string, number> | undefined;
    await flood(['hold', String(ts.port), '10000'], (line) => {
      if ('open' in line) open = line;
      else closed = line;
    });
    assert.equal(open?.open, 10_000);
    assert.equal(closed?.closed, 10_000);
    assert.equal(ts.server.connectionCount, 0);
    assert.ok(ts.logs.has('handshake not finished in time'));
  });

  test("a kicked client's connections on all three ports are closed by the server", async () => {
    const ts = await server();
    const id = randomBytes(16);
    const dealers = (['command', 'data', 'heartbeat'] as const).map((ch) => {
      const d = new Dealer({ linger: 0 });
      (d as unknown as { routingId: Buffer }).routingId = id;
      const events = d.events;
      const disconnected = (async () => {
        try {
          for (;;) if ((await events.receive()).type === 'disconnect') return ch;
        } catch {
          return `${ch}: socket closed before a disconnect`;
        }
      })();
      d.connect(ts.server.endpoints[ch]);
      return { d, disconnected };
    });
    try {
      await dealers[0].d.send(encodeAuthRequest({ username: 'mallory', adminPassword: ADMIN_PASSWORD }));
      // The user list comes first, then the Auth reply.
      let reply = '';
      while (!reply.includes('LOBBY')) {
        const [, , data] = await dealers[0].d.receive();
        reply = Buffer.from(data).toString('latin1');
      }
      const peers = ts.server.peersOf(id.toString('hex'));
      for (const p of Object.values(peers)) assert.match(p ?? '', /^127\.0\.0\.1:\d+$/);
      ts.server.adminKick('mallory');
      // Well before the pre-login timeout (30 s), which would close them too.
      const timeout = new Promise<string>((resolve) =>
        setTimeout(() => resolve('not closed within 5 s'), 5000).unref(),
      );
      const closedOn = await Promise.all(dealers.map((x) => Promise.race([x.disconnected, timeout])));
      assert.deepEqual(closedOn, ['command', 'data', 'heartbeat']);
      await ts.logs.waitFor((l) => l.message.includes('mallory') && l.message.includes('kick'));
    } finally {
      for (const { d } of dealers) d.close();
    }
  });
});
