/**
 * A full disk must not lose what other clients already saw. The compiled CLI runs on a small
 * tmpfs made by the test (unmounted in `finally`); a writer fills it with incompressible nodes
 * while a reader waits for each relay. Then `kill -9`, the file system is grown ("space freed"),
 * the server restarts, and every node the reader received must be there with the same bytes.
 *
 * 1. With the journal reserve: snapshots fail for lack of space first (checked before writing),
 *    the disk fills, the reserve is released to the journal, and the journal goes on.
 * 2. Without a reserve: the journal itself fails, changes are relayed and held in memory (ERROR
 *    with the count), and once space is freed they are written to the journal, in order.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { MessageType } from '../../src/protocol/index.js';
import type { ReplicationClient } from '../../src/client/index.js';
import { closeAll, initAs, startCli, type CliServer } from './cli-server.js';
import { nodeBytes, uuidOf } from './harness.js';

afterEach(closeAll);

const MiB = 1024 * 1024;
const NODE_BLOB_BYTES = 48 * 1024;
/** Bound on updates per test, whatever happens (the disk is a few MB). */
const MAX_UPDATES = 400;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function withTmpfs(sizeBytes: number, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mus-full-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  try {
    await body(dir);
  } finally {
    await closeAll();
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
}

function grow(dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-o', `remount,size=${sizeBytes}`, dir]);
}

/** Pushes one node and waits until the reader got it; returns its bytes as the reader saw them. */
async function pushSeen(writer: ReplicationClient, reader: ReplicationClient, i: number): Promise<[string, string]> {
  const uuid = `full-${i}`;
  await writer.pushNode({ uuid, dataBytes: nodeBytes(uuid, `Node ${i}`, [['blob', randomBytes(NODE_BLOB_BYTES)]]) });
  const m = await reader.waitForData((x) => x.type === MessageType.Node && x.uuid === uuid, 10_000);
  assert.ok(m.type === MessageType.Node);
  return [uuid, hex(m.dataBytes)];
}

async function checkAllPresent(server: CliServer, seen: Map<string, string>): Promise<void> {
  const checker = server.client('checker');
  assert.equal(await checker.login(), 'RUNNING');
  await checker.join();
  for (const [uuid, data] of seen) {
    const node = checker.store.nodes.get(uuid);
    assert.ok(node !== undefined, `node ${uuid} was relayed before the kill but is gone`);
    assert.equal(hex(node.dataBytes), data, `node ${uuid} has other bytes`);
  }
}

async function session(server: CliServer): Promise<{ writer: ReplicationClient; reader: ReplicationClient }> {
  const writer = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
  const reader = server.client('reader');
  assert.equal(await reader.login(), 'RUNNING');
  await reader.join();
  return { writer, reader };
}

test('with the journal reserve, snapshots fail first and the journal keeps every relayed change', async () => {
  await withTmpfs(8 * MiB, async (dir) => {
    const args = ['--journal-reserve', String(2 * MiB), '--disk-free-warn', String(3 * MiB), '--save-interval', '1'];
    const server = await startCli(dir, [...args, '--max-backups', '2']);
    await server.waitFor('Journal reserve: 2.0 MB held in journal.reserve');
    const { writer, reader } = await session(server);
    const seen = new Map<string, string>();
    let i = 0;
    while (!server.output().includes('Journal reserve released') && i < MAX_UPDATES) {
      const [uuid, data] = await pushSeen(writer, reader, i++);
      seen.set(uuid, data);
      // Let an auto-save run every few nodes, as it would while artists work for minutes.
      if (i % 16 === 0)
        await server.waitFor(/Session saved to disk \(reason: auto-save\)|Failed to save session/, 5000, server.mark());
    }
    assert.ok(i < MAX_UPDATES, `the reserve was never needed:\n${server.output()}`);
    // Well inside the reserve: these must reach the journal too.
    for (let k = 0; k < 8; k++) {
      const [uuid, data] = await pushSeen(writer, reader, i++);
      seen.set(uuid, data);
    }
    const out = server.output();
    assert.match(out, /WARN.*LOW DISK SPACE in DATA_DIR/);
    assert.match(out, /Failed to save session: .*not enough free space for a snapshot/);
    assert.doesNotMatch(out, /JOURNAL FAILED/);
    await server.kill();

    grow(dir, 32 * MiB);
    const again = await startCli(dir, args);
    await checkAllPresent(again, seen);
    assert.equal(await again.stop(), 0);
  });
});

test('without a reserve, a failed journal holds the relayed changes and writes them once space is freed', async () => {
  await withTmpfs(6 * MiB, async (dir) => {
    const args = ['--journal-reserve', '0', '--save-interval', '3600', '--max-backups', '0'];
    const server = await startCli(dir, args);
    const { writer, reader } = await session(server);
    const seen = new Map<string, string>();
    let i = 0;
    while (!server.output().includes('JOURNAL FAILED (') && i < MAX_UPDATES) {
      const [uuid, data] = await pushSeen(writer, reader, i++);
      seen.set(uuid, data);
    }
    assert.ok(i < MAX_UPDATES, `the journal never failed:\n${server.output()}`);
    for (let k = 0; k < 4; k++) {
      const [uuid, data] = await pushSeen(writer, reader, i++);
      seen.set(uuid, data);
    }
    assert.match(server.output(), /ERROR.*JOURNAL FAILED \(.*ENOSPC.*\): [1-9]\d* change\(s\) held only in memory/);
    const mark = server.mark();
    grow(dir, 32 * MiB);
    await server.waitFor(
      /Journal writable again: [1-9]\d* change\(s\) held in memory written to it, in order/,
      10_000,
      mark,
    );
    await server.kill();

    const again = await startCli(dir, args);
    await checkAllPresent(again, seen);
    assert.equal(await again.stop(), 0);
  });
});
