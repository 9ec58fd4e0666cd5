/**
 * The image's health check script (deploy/docker/healthcheck.sh) against a real server: `healthy`
 * while /readyz is 200, `unhealthy` with the reasons while it is 503 (a failing journal), when
 * nothing listens, and when the server does not answer in time; with HTTP_ADDR=off it runs
 * `multiuser-server health` instead. Runs bash as the container does (HTTP_ADDR and PORT from the
 * environment).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { closeAll } from '../integration/cli-server.js';
import { nodeBytes, uuidOf } from '../integration/harness.js';
import { startConsoleServer, type ConsoleServer } from './console-harness.js';

const SCRIPT = fileURLToPath(new URL('../../../deploy/docker/healthcheck.sh', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const servers: ConsoleServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await closeAll();
});

async function check(env: Record<string, string>): Promise<{ code: number; out: string; ms: number }> {
  const started = performance.now();
  const child = spawn('bash', [SCRIPT], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'close')) as [number];
  return { code, out, ms: performance.now() - started };
}

function hostPort(url: string): string {
  return new URL(url).host;
}

test('healthy while /readyz is 200; unhealthy with the reason while the journal fails', async () => {
  const s = await startConsoleServer({ journalFsync: 'always' });
  servers.push(s);
  const ok = await check({ HTTP_ADDR: hostPort(s.url) });
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^healthy: \/readyz on 127\.0\.0\.1:\d+\n$/);

  const alice = s.client('alice', true);
  assert.equal(await alice.login(), 'LOBBY');
  assert.equal(await alice.init([{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]), 'ACCEPTED');
  s.failFsyncs(true);
  await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
  await s.logs.waitFor((l) => l.message.startsWith('JOURNAL FAILED under JOURNAL_FSYNC=always'));
  const bad = await check({ HTTP_ADDR: hostPort(s.url) });
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /^unhealthy: \/readyz on 127\.0\.0\.1:\d+: HTTP\/1\.1 503 .*journal_failing/);
  s.failFsyncs(false);
});

test('the address forms of HTTP_ADDR: PORT alone, an any-address, and the default P+3', async () => {
  const s = await startConsoleServer();
  servers.push(s);
  const port = Number(new URL(s.url).port);
  const forms: Record<string, string>[] = [
    { HTTP_ADDR: String(port) },
    { HTTP_ADDR: `0.0.0.0:${port}` },
    { HTTP_ADDR: `[::]:${port}` },
    { HTTP_ADDR: `*:${port}` },
    { PORT: String(port - 3) },
  ];
  for (const env of forms) {
    const r = await check(env);
    assert.equal(r.code, 0, `${JSON.stringify(env)}: ${r.out}`);
  }
});

test('unhealthy when nothing listens, and within the 2 s deadline when the server does not answer', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const closedPort = (closed.address() as { port: number }).port;
  closed.close();
  await once(closed, 'close');
  const none = await check({ HTTP_ADDR: `127.0.0.1:${closedPort}` });
  assert.equal(none.code, 1);
  assert.equal(none.out, `unhealthy: nothing listens on 127.0.0.1:${closedPort} (admin console)\n`);

  // Accepts the connection and never answers, as a stopped (SIGSTOP) or hung server does.
  const silent = createServer(() => undefined);
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const port = (silent.address() as { port: number }).port;
    const hung = await check({ HTTP_ADDR: `127.0.0.1:${port}` });
    assert.equal(hung.code, 1);
    assert.match(hung.out, /no answer from .* within 2 s/);
    assert.ok(hung.ms < 4000, `took ${hung.ms} ms`);
  } finally {
    silent.close();
  }
});

test('HTTP_ADDR=off runs multiuser-server health on the session port instead', async () => {
  const s = await startConsoleServer();
  servers.push(s);
  const bin = mkdtempSync(join(tmpdir(), 'mus-hc-bin-'));
  try {
    // The image puts the CLI on PATH as `multiuser-server`.
    const wrapper = join(bin, 'multiuser-server');
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const env = {
      HTTP_ADDR: 'OFF',
      PORT: String(s.server.port),
      HOST: '127.0.0.1',
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    };
    const up = await check(env);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /^healthy: 127\.0\.0\.1:\d+ answered server info in \d+ ms/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
