/**
 * Our DEALER (node:net, src/net/dealer.ts) against libzmq's ROUTER, over 127.0.0.1: zeromq.js
 * (libzmq 4.3 bundled with zeromq.js 6) and Debian's python3-zmq. What our client relies on:
 * the identity, multipart messages with empty frames, bursts in order both ways, messages sent
 * before anything listens queued and delivered once it does, PINGs answered (libzmq's heartbeat
 * would otherwise cut the connection), reconnecting with the same identity.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';

import { Router } from 'zeromq';

import { DealerConnection } from '../../src/net/dealer.js';

const PYTHON = '/usr/bin/python3';
const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

const b = (s: string): Buffer => Buffer.from(s);
const strs = (frames: Buffer[]): string[] => frames.map((f) => f.toString('latin1'));

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function dealer(endpoint: string, routingId: Buffer): DealerConnection {
  const d = new DealerConnection({ channel: 'command', endpoint, routingId });
  closers.push(() => d.close());
  return d;
}

async function take(it: AsyncIterator<Buffer[]>): Promise<Buffer[]> {
  const r = await it.next();
  assert.equal(r.done, false, 'the DEALER was closed');
  return r.value as Buffer[];
}

describe('our DEALER against libzmq ROUTERs', () => {
  test('zeromq.js ROUTER: queued before it listens, identity, empty frames, 10,000 both ways, PINGs, reconnect', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const id = Buffer.concat([Buffer.from([0]), b('our-dealer-0001')]);
    const d = dealer(endpoint, id);
    // Nothing listens yet: libzmq's DEALER queues these (ZMQ_IMMEDIATE off); so must ours.
    for (const m of ['early-1', 'early-2', 'early-3']) void d.send([b(m), Buffer.alloc(0)]);

    // libzmq PINGs every 50 ms and cuts a peer that answers none for 300 ms.
    const router = new Router({ linger: 0, mandatory: true, heartbeatInterval: 50, heartbeatTimeout: 300 });
    const disconnects: string[] = [];
    void (async () => {
      for await (const ev of router.events) if (ev.type === 'disconnect') disconnects.push(ev.address);
    })().catch(() => undefined);
    await router.bind(endpoint);
    let routerOpen = true;
    closers.push(() => routerOpen && router.close());
    const rx = router[Symbol.asyncIterator]();
    for (const m of ['early-1', 'early-2', 'early-3']) {
      const got = (await rx.next()).value as Buffer[];
      assert.deepEqual(got[0], id);
      assert.deepEqual(strs(got.slice(1)), [m, '']);
    }

    const dm = d.messages()[Symbol.asyncIterator]();
    await router.send([id, Buffer.alloc(0), b('hello'), Buffer.alloc(0)]);
    assert.deepEqual(strs(await take(dm)), ['', 'hello', '']);

    const n = 10_000;
    for (let i = 0; i < n; i++) void d.send([b('m'), b(String(i))]);
    for (let i = 0; i < n; i++) {
      const got = (await rx.next()).value as Buffer[];
      assert.deepEqual(strs(got.slice(1)), ['m', String(i)]);
    }
    const received = (async () => {
      for (let i = 0; i < n; i++) assert.deepEqual(strs(await take(dm)), ['r', String(i)]);
    })();
    for (let i = 0; i < n; i++) await router.send([id, b('r'), b(String(i))]);
    await received;

    // Well past libzmq's heartbeat timeout while idle: still the same connection (our PONGs kept it).
    const before = disconnects.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(disconnects.length, before, 'libzmq cut the connection: PINGs not answered');
    await router.send([id, b('still here')]);
    assert.deepEqual(strs(await take(dm)), ['still here']);

    // The ROUTER goes away and comes back on the same port: the DEALER reconnects by itself with
    // the same identity. (What is written to the dying connection before the DEALER sees it close
    // is lost, as with libzmq's DEALER; so it sends until a message gets through.)
    router.close();
    routerOpen = false;
    const again = new Router({ linger: 0, mandatory: true });
    for (let tries = 0; ; tries++) {
      try {
        await again.bind(endpoint);
        break;
      } catch (err) {
        if (tries > 50) throw err; // libzmq releases the old listener in its background thread
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    closers.push(() => again.close());
    const arrived = again.receive();
    let sent = 0;
    const resend = setInterval(() => void d.send([b('while away'), b(String(sent++))]), 50);
    const got = (await arrived) as Buffer[];
    clearInterval(resend);
    assert.deepEqual(got[0], id);
    assert.equal(got[1].toString(), 'while away');
    await again.send([id, b('welcome back')]);
    assert.deepEqual(strs(await take(dm)), ['welcome back']);
  });

  test('python3-zmq ROUTER: identity, empty frames and 10,000 messages both ways in order', async () => {
    const script = [
      'import json, sys, zmq',
      'ctx = zmq.Context(); r = ctx.socket(zmq.ROUTER)',
      'r.setsockopt(zmq.LINGER, 0); r.setsockopt(zmq.RCVTIMEO, 20000)',
      'r.setsockopt(zmq.SNDHWM, 0); r.setsockopt(zmq.RCVHWM, 0)',
      "port = r.bind_to_random_port('tcp://127.0.0.1')",
      'print(port, flush=True)',
      'first = r.recv_multipart()',
      "r.send_multipart([first[0], b'', b'hello', b''])",
      'n = 10000; ok = 0',
      'for i in range(n):',
      "    ok += r.recv_multipart() == [first[0], b'm', str(i).encode()]",
      'for i in range(n):',
      "    r.send_multipart([first[0], b'r', str(i).encode()])",
      'last = r.recv_multipart()',
      "print(json.dumps({'libzmq': zmq.zmq_version(), 'identity': first[0].hex(),",
      "  'first': [f.decode('latin1') for f in first[1:]], 'in_order': ok,",
      "  'last': [f.decode('latin1') for f in last[1:]]}), flush=True)",
    ].join('\n');
    const child = spawn(PYTHON, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    closers.push(() => child.kill());
    const lines: string[] = [];
    let pending = '';
    let lineWaiter: (() => void) | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      lines.push(...parts);
      lineWaiter?.();
    });
    const line = async (i: number): Promise<string> => {
      while (lines.length <= i) await new Promise<void>((resolve) => (lineWaiter = resolve));
      return lines[i];
    };
    const port = Number(await line(0));
    const id = Buffer.concat([Buffer.from([0, 0xff]), b('python-router')]);
    const d = dealer(`tcp://127.0.0.1:${port}`, id);
    const dm = d.messages()[Symbol.asyncIterator]();
    await d.send([Buffer.alloc(0), b('hi'), Buffer.alloc(0)]);
    assert.deepEqual(strs(await take(dm)), ['', 'hello', '']);
    const n = 10_000;
    for (let i = 0; i < n; i++) void d.send([b('m'), b(String(i))]);
    for (let i = 0; i < n; i++) assert.deepEqual(strs(await take(dm)), ['r', String(i)]);
    await d.send([b('done')]);
    const out = JSON.parse(await line(1)) as Record<string, unknown>;
    assert.match(String(out.libzmq), /^4\.3\./);
    assert.equal(out.identity, id.toString('hex'));
    assert.deepEqual(out.first, ['', 'hi', '']);
    assert.equal(out.in_order, n);
    assert.deepEqual(out.last, ['done']);
  });
});
