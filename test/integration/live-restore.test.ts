/**
 * Live restore through the compiled server, real sockets and the admin API: two users make
 * changes, a moment T is recorded by a client joining then, more changes follow, and
 * `POST /api/restore {"at": T}` disconnects both with the reason; a client logging in again
 * receives exactly the node bytes of T. Restoring to just before that restore brings the later
 * state back (nothing is lost by a restore).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import type { ReplicationClient } from '../../src/client/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { readSnapshotFile } from '../../src/store/index.js';
import { closeAll, CLI_ADMIN_PASSWORD, initAs, startCli, tempDataDir, type CliServer } from './cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from './harness.js';

afterEach(closeAll);

type Seen = Map<string, { owner: string; deps: unknown; data: Buffer }>;

function nodesOfClient(c: ReplicationClient): Seen {
  const out: Seen = new Map();
  for (const n of c.store.nodes.values())
    out.set(n.uuid, { owner: n.owner, deps: n.deps, data: Buffer.from(n.dataBytes) });
  return out;
}

function assertSameNodes(actual: Seen, expected: Seen, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: node ids`);
  for (const [uuid, e] of expected) {
    const a = actual.get(uuid);
    assert.ok(a !== undefined, `${what}: ${uuid} missing`);
    assert.equal(a.owner, e.owner, `${what}: owner of ${uuid}`);
    assert.deepEqual(a.deps, e.deps, `${what}: deps of ${uuid}`);
    assert.ok(a.data.equals(e.data), `${what}: data bytes of ${uuid}`);
  }
}

/** Waits until the clock has moved past `ms`: the next change gets a later stamp than the moment recorded. */
function passMs(ms: number): void {
  while (Date.now() <= ms) {
    // A millisecond at most: the stamps are milliseconds.
  }
}

/** A client joining now: what it received, and when. */
async function joinAndRecord(server: CliServer, name: string): Promise<{ atMs: number; nodes: Seen }> {
  const j = server.client(name);
  assert.equal(await j.login(), 'RUNNING');
  await j.join();
  const atMs = Date.now();
  const nodes = nodesOfClient(j);
  passMs(atMs);
  const mark = server.mark();
  await j.close();
  await server.waitFor(`Session saved to disk (reason: user_disconnect:${name})`, 10_000, mark);
  return { atMs, nodes };
}

interface Console {
  post(path: string, body: unknown, csrf?: boolean): Promise<{ status: number; json: Record<string, unknown> }>;
}

async function consoleOf(server: CliServer): Promise<Console> {
  const base = `http://127.0.0.1:${server.port + 3}`;
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: CLI_ADMIN_PASSWORD }),
  });
  assert.equal(login.status, 200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  return {
    async post(path, body, csrf = true) {
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Cookie: cookie,
          ...(csrf ? { 'X-CSRF-Token': csrfToken } : {}),
        },
        body: JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
  };
}

/** The `reason` saved in each backup's snapshot metadata, oldest first. */
async function backupReasons(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'backups');
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) out.push(String((await readSnapshotFile(join(dir, name))).meta?.reason));
  return out;
}

const REASON = /^The session is being restored to .+ by the administrator$/;

describe('live restore', () => {
  test('disconnects everyone with the reason, serves the moment, and can be undone', async () => {
    const dataDir = tempDataDir('mus-live-restore-');
    const server = await startCli(dataDir, ['--timeout', '1000']);
    const alice = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1), 'Seed') }]);
    const bob = server.client('bob');
    assert.equal(await bob.login(), 'RUNNING');
    await bob.join();

    await alice.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2), 'Cube'), deps: [uuidOf(1)] });
    await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(2));
    await bob.pushCommit({ nodeId: uuidOf(1), deltaBytes: renameDelta('Seed.bob') });
    await alice.waitForData((m) => m.type === MessageType.Commit && m.nodeId === uuidOf(1));
    const atT = await joinAndRecord(server, 'witness-t');

    // Later changes by both users: what the restore takes away, and its undo brings back.
    await alice.pushCommit({ nodeId: uuidOf(2), deltaBytes: renameDelta('Cube.later') });
    await bob.waitForData((m) => m.type === MessageType.Commit && m.nodeId === uuidOf(2));
    await bob.pushNode({ uuid: uuidOf(3), dataBytes: nodeBytes(uuidOf(3), 'Lamp'), deps: [] });
    await alice.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(3));
    const later = await joinAndRecord(server, 'witness-later');
    assert.equal(later.nodes.size, 3);

    const admin = await consoleOf(server);
    // Refused requests change nothing and disconnect nobody.
    assert.equal((await admin.post('/api/restore', { at: new Date(atT.atMs).toISOString() }, false)).status, 403);
    const bad = await admin.post('/api/restore', { at: 'yesterday-ish' });
    assert.equal(bad.status, 400);
    assert.equal((await admin.post('/api/restore', { at: '2025-01-01', before: 'x:1' })).status, 400);
    const tooEarly = await admin.post('/api/restore', { at: '2000-01-01T00:00:00Z' });
    assert.equal(tooEarly.status, 503, JSON.stringify(tooEarly.json));
    assert.equal(alice.closeReason, undefined);

    const justBefore = Date.now();
    passMs(justBefore);
    const aliceClosed = alice.waitForClosed(15_000);
    const bobClosed = bob.waitForClosed(15_000);
    const restored = await admin.post('/api/restore', { at: new Date(atT.atMs).toISOString() });
    assert.equal(restored.status, 200, JSON.stringify(restored.json));
    assert.match(String(restored.json.message), /restored to .+ by the administrator/);
    assert.match(await aliceClosed, REASON);
    assert.match(await bobClosed, REASON);
    // The save that closed the session says why, in the log and in the backup it wrote.
    assert.match(server.output(), /Session saved to disk \(reason: pre-restore\)/);
    assert.doesNotMatch(server.output(), /reason: shutdown/);
    const reasons = await backupReasons(dataDir);
    assert.ok(reasons.includes('pre-restore'), reasons.join(', '));
    assert.ok(!reasons.includes('shutdown'), reasons.join(', '));

    const carol = server.client('carol');
    assert.equal(await carol.login(), 'RUNNING');
    await carol.join();
    assertSameNodes(nodesOfClient(carol), atT.nodes, 'after the restore to T');

    // Undo: restore to just before the restore.
    const carolClosed = carol.waitForClosed(15_000);
    const undo = await admin.post('/api/restore', { at: new Date(justBefore).toISOString() });
    assert.equal(undo.status, 200, JSON.stringify(undo.json));
    assert.match(await carolClosed, REASON);
    const dave = server.client('dave');
    assert.equal(await dave.login(), 'RUNNING');
    await dave.join();
    assertSameNodes(nodesOfClient(dave), later.nodes, 'after undoing the restore');
    await dave.close();

    // Durable: a restart serves the same state.
    assert.equal(await server.stop(), 0);
    const again = await startCli(dataDir, ['--timeout', '1000']);
    const erin = again.client('erin');
    assert.equal(await erin.login(), 'RUNNING');
    await erin.join();
    assertSameNodes(nodesOfClient(erin), later.nodes, 'after a restart');
  });
});
