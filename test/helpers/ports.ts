/**
 * Three consecutive free ports on 127.0.0.1 for a server (command P, data P+1, heartbeat P+2).
 * `tcp://127.0.0.1:*` cannot give three consecutive ports (STYLE.md §13), so a random base is
 * probed with node:net first and the start is retried when a port was taken in between.
 */
import { createServer } from 'node:net';

import { NetError } from '../../src/net/index.js';

const LOW = 20_000;
const HIGH = 60_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A base port P such that P to P+3 were free a moment ago. */
export async function pickBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - LOW));
    // P+3 too: a server started through the CLI puts its admin console there by default.
    if (
      (await portIsFree(base)) &&
      (await portIsFree(base + 1)) &&
      (await portIsFree(base + 2)) &&
      (await portIsFree(base + 3))
    ) {
      return base;
    }
  }
  throw new Error('no three consecutive free ports found');
}

/** Runs `start(port)` on a fresh base port, again on another one when a port turned out taken. */
export async function withFreeBasePort<T>(start: (port: number) => Promise<T>, attempts = 10): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = await pickBasePort();
    try {
      return await start(port);
    } catch (err) {
      if (!(err instanceof NetError && err.code === 'NET_ADDRESS_IN_USE')) throw err;
      last = err;
    }
  }
  throw last;
}
