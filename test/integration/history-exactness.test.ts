/**
 * History is exact: the session rebuilt for a moment equals, byte for byte in its node data
 * (with owner and dependencies), what a client joining at that moment received.
 *
 * A scripted session through the compiled server and real sockets: three users create, rename
 * (Commit), lock, unlock and delete nodes in a seeded random order, across several snapshots
 * (each phase ends with a user leaving, which saves and rotates the journal) and checkpoints.
 * At random moments a fresh client joins and keeps the nodes it received. Afterwards `export
 * --at` each moment is compared with what that client received, `restore --at` is checked by a
 * client joining the restarted server, and a restore is undone. Then a record in the middle of
 * history is damaged: moments before it still export, and the tools name the file and byte where
 * history breaks.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import type { ReplicationClient } from '../../src/client/index.js';
import { MessageType, decodePlainPickle } from '../../src/protocol/index.js';
import {
  listHistory,
  readSegmentRecords,
  segmentKey,
  logSessionSaved,
  readSnapshotFile,
} from '../../src/store/index.js';
import { PassThrough } from 'node:stream';

import { runExport, runHistory } from '../../src/cli/index.js';
import { runCli, type CliRun } from '../cli/data-helpers.js';
import { prng } from '../helpers/prng.js';
import { closeAll, initAs, startCli, tempDataDir, type CliServer } from './cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from './harness.js';

afterEach(closeAll);

interface SeenNode {
  owner: string;
  deps: unknown;
  data: Buffer;
}
type Seen = Map<string, SeenNode>;

interface Recorded {
  atMs: number;
  nodes: Seen;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A data tool's command function in this process (the same code `multiuser-server export` and
 * `history` run; spawning a process per call would cost most of this test's time budget).
 */
async function inProcess(run: typeof runExport, args: string[]): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await run(args, { env: {}, cwd: process.cwd(), stdout: out, stderr: err });
  return { status, stdout, stderr };
}

function nodesOfClient(c: ReplicationClient): Seen {
  const out: Seen = new Map();
  for (const n of c.store.nodes.values())
    out.set(n.uuid, { owner: n.owner, deps: n.deps, data: Buffer.from(n.dataBytes) });
  return out;
}

async function nodesOfFile(path: string): Promise<Seen> {
  const decoded = await readSnapshotFile(path, { check: () => null });
  const out: Seen = new Map();
  for (const n of decoded.image.nodes) {
    out.set(n.uuid, { owner: n.owner, deps: decodePlainPickle(n.depsBytes, 3), data: Buffer.from(n.dataBytes) });
  }
  return out;
}

function assertSameNodes(actual: Seen, expected: Seen, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: node ids`);
  for (const [uuid, e] of expected) {
    const a = actual.get(uuid) as SeenNode;
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

async function runSession(server: CliServer, seed: number): Promise<{ moments: Recorded[]; final: Recorded }> {
  const rand = prng(seed);
  const alice = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1), 'Seed') }]);
  const bob = server.client('bob');
  const carol = server.client('carol');
  for (const c of [bob, carol]) {
    assert.equal(await c.login(), 'RUNNING');
    await c.join();
  }
  const users = [alice, bob, carol];
  const live: string[] = [];
  /** Who holds each locked node: only the holder may change it. */
  const lockedBy = new Map<string, string>();
  let next = 2;
  const moments: Recorded[] = [];
  let joiners = 0;

  const act = async (): Promise<void> => {
    const who = users[Math.floor(rand() * users.length)];
    const observer = users[(users.indexOf(who) + 1) % users.length];
    const r = rand();
    const mine = live.filter((u) => (lockedBy.get(u) ?? who.username) === who.username);
    const pick = (): string => mine[Math.floor(rand() * mine.length)];
    if (mine.length === 0 || r < 0.25) {
      const uuid = uuidOf(next++);
      await who.pushNode({ uuid, dataBytes: nodeBytes(uuid, `obj${next}`), deps: live.length > 0 ? [live[0]] : [] });
      await observer.waitForData((m) => m.type === MessageType.Node && m.uuid === uuid);
      live.push(uuid);
    } else if (r < 0.8) {
      const uuid = pick();
      await who.pushCommit({ nodeId: uuid, deltaBytes: renameDelta(`name-${Math.floor(rand() * 1e6)}`) });
      await observer.waitForData((m) => m.type === MessageType.Commit && m.nodeId === uuid);
    } else if (r < 0.9) {
      const uuid = pick();
      await who.lock([uuid]);
      await who.waitForCommand(MessageType.Right);
      lockedBy.set(uuid, who.username);
      await who.pushCommit({ nodeId: uuid, deltaBytes: renameDelta(`locked-${who.username}`) });
      await observer.waitForData((m) => m.type === MessageType.Commit && m.nodeId === uuid);
      if (rand() < 0.5) {
        await who.unlock([uuid]);
        await who.waitForCommand(MessageType.Right);
        lockedBy.delete(uuid);
      }
    } else {
      const uuid = pick();
      live.splice(live.indexOf(uuid), 1);
      lockedBy.delete(uuid);
      await who.deleteNode(uuid);
      await who.waitForCommand(MessageType.Delete);
    }
  };

  const joinNow = async (): Promise<ReplicationClient> => {
    const j = server.client(`joiner${++joiners}`);
    assert.equal(await j.login(), 'RUNNING');
    await j.join();
    const atMs = Date.now();
    moments.push({ atMs, nodes: nodesOfClient(j) });
    passMs(atMs);
    return j;
  };

  for (let phase = 0; phase < 4; phase++) {
    let leaver: ReplicationClient | null = null;
    for (let i = 0; i < 12; i++) {
      await act();
      if (rand() < 0.12 || i === 7) {
        const j = await joinNow();
        if (leaver === null) leaver = j;
        else await j.close();
      }
    }
    // A user leaving saves the session: a snapshot boundary and a journal rotation.
    const mark = server.mark();
    await (leaver as ReplicationClient).close();
    await server.waitFor(logSessionSaved(`user_disconnect:${(leaver as ReplicationClient).username}`), 10_000, mark);
  }
  for (let i = 0; i < 10; i++) await act();
  const last = await joinNow();
  const final = moments[moments.length - 1];
  await last.close();
  return { moments, final };
}

describe('history exactness', () => {
  test('export --at and restore --at give what a client joining at that moment received; damage is located', async () => {
    const dataDir = tempDataDir('mus-history-');
    const args = ['--timeout', '1000', '--history-checkpoint-interval', '1'];
    const server = await startCli(dataDir, args);
    const { moments, final } = await runSession(server, 20250112);
    assert.equal(await server.stop(), 0);

    const listing = await listHistory(dataDir);
    assert.ok(listing.segments.length >= 4, `segments in history/: ${listing.segments.length}`);
    assert.ok(listing.checkpoints.length >= 3, `checkpoints: ${listing.checkpoints.length}`);
    assert.ok(moments.length >= 5, `moments: ${moments.length}`);

    // Every recorded moment, from the nearest checkpoint plus replay.
    for (const [i, m] of moments.entries()) {
      const out = join(dataDir, `moment-${i}.db`);
      const r = await inProcess(runExport, ['--at', iso(m.atMs), '--out', out, '--data-dir', dataDir]);
      assert.equal(r.status, 0, r.stderr);
      assertSameNodes(await nodesOfFile(out), m.nodes, `moment ${i} (${iso(m.atMs)})`);
    }

    // The listing: who did what, paged and filtered.
    const listed = runCli(['history', '--json', '--limit', '100000', '--data-dir', dataDir]);
    const history = async (...a: string[]): Promise<CliRun> => inProcess(runHistory, [...a]);
    assert.equal(listed.status, 0, listed.stderr);
    const all = (
      JSON.parse(listed.stdout) as {
        changes: { by: string; kind: string; uuids: string[]; name: string | null; change: string }[];
      }
    ).changes;
    const kinds = new Set(all.map((c) => c.kind));
    for (const k of ['join', 'node created', 'node updated', 'lock', 'unlock', 'node deleted', 'leave', 'init']) {
      assert.ok(kinds.has(k), `kind ${k} listed`);
    }
    assert.ok(all.some((c) => c.kind === 'node updated' && c.by === 'bob' && c.name !== null));
    const bobs = JSON.parse(
      (await history('--json', '--user', 'bob', '--limit', '100000', '--data-dir', dataDir)).stdout,
    ) as { changes: { by: string }[] };
    assert.ok(bobs.changes.length > 0 && bobs.changes.every((c) => c.by === 'bob'));
    const page2 = JSON.parse(
      (await history('--json', '--limit', '5', '--page', '2', '--data-dir', dataDir)).stdout,
    ) as { changes: { change: string }[]; more: boolean };
    assert.deepEqual(
      page2.changes.map((c) => c.change),
      all.slice(5, 10).map((c) => c.change),
    );
    assert.equal(page2.more, true);
    const bad = await history('--since', 'yesterday-ish', '--data-dir', dataDir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--since: 'yesterday-ish' is not a time: use ISO 8601/);

    // The diff between the first and the last moment names what changed and who changed it.
    const diff = await history('diff', iso(moments[0].atMs), iso(final.atMs), '--json', '--data-dir', dataDir);
    assert.equal(diff.status, 0, diff.stderr);
    const d = JSON.parse(diff.stdout) as {
      added: { uuid: string; by: string[] }[];
      removed: unknown[];
      changed: unknown[];
    };
    const firstIds = new Set(moments[0].nodes.keys());
    assert.deepEqual(d.added.map((x) => x.uuid).sort(), [...final.nodes.keys()].filter((u) => !firstIds.has(u)).sort());
    assert.ok(d.added.every((x) => x.by.length > 0));

    // Keep an undamaged copy for the damage checks below.
    const damaged = tempDataDir('mus-history-damaged-');
    cpSync(dataDir, damaged, { recursive: true });

    // restore --at a middle moment: a client joining the restarted server gets that moment
    // (the locks of users who are gone are released at start, as after every restart).
    const target = moments[Math.floor(moments.length / 2)];
    const beforeRestoreMs = Date.now();
    passMs(beforeRestoreMs);
    const restored = runCli(['restore', '--at', iso(target.atMs), '--data-dir', dataDir]);
    assert.equal(restored.status, 0, restored.stderr);
    assert.match(restored.stdout, /Kept the current .* as backups\/snapshot_\d{8}_\d{6}\.pkl/);
    const server2 = await startCli(dataDir, args);
    const check = server2.client('checker');
    assert.equal(await check.login(), 'RUNNING');
    await check.join();
    const released: Seen = new Map([...target.nodes].map(([k, v]) => [k, { ...v, owner: 'COMMON' }]));
    assertSameNodes(nodesOfClient(check), released, 'after restore --at');
    await check.close();
    assert.equal(await server2.stop(), 0);

    // Undo: the moment just before the restore is still in history.
    const undo = await inProcess(runExport, [
      '--at',
      iso(beforeRestoreMs),
      '--out',
      join(dataDir, 'undo.db'),
      '--data-dir',
      dataDir,
    ]);
    assert.equal(undo.status, 0, undo.stderr);
    const atEnd = await inProcess(runExport, [
      '--at',
      iso(final.atMs),
      '--out',
      join(damaged, 'end.db'),
      '--data-dir',
      damaged,
    ]);
    assert.equal(atEnd.status, 0, atEnd.stderr);
    assertSameNodes(await nodesOfFile(join(dataDir, 'undo.db')), await nodesOfFile(join(damaged, 'end.db')), 'undo');

    // Damage one record in the middle of a segment in the middle of history.
    const segs = (await listHistory(damaged)).segments.filter((s) => s.bytes > 0);
    let victim = null;
    let offset = 0;
    for (const s of segs.slice(1, -1)) {
      const recs = [];
      for await (const r of readSegmentRecords(s)) recs.push(r);
      if (recs.length >= 4) {
        victim = s;
        offset = recs[2].offset;
        break;
      }
    }
    assert.ok(victim !== null, 'a middle segment with at least 4 changes');
    const key = segmentKey(victim);
    const bytes = readFileSync(victim.path);
    bytes[offset + 12] ^= 0xff; // inside the third record's payload
    writeFileSync(victim.path, bytes);
    const where = `history breaks at ${victim.file} byte ${offset}`;

    const ok = await inProcess(runExport, [
      '--before',
      `${key}:3`,
      '--out',
      join(damaged, 'ok.db'),
      '--data-dir',
      damaged,
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    const ref = await inProcess(runExport, [
      '--before',
      `${key}:3`,
      '--out',
      join(damaged, 'ref.db'),
      '--data-dir',
      dataDir,
    ]);
    assert.equal(ref.status, 0, ref.stderr);
    assertSameNodes(
      await nodesOfFile(join(damaged, 'ok.db')),
      await nodesOfFile(join(damaged, 'ref.db')),
      'up to the damage',
    );

    const broken = runCli(['export', '--before', `${key}:4`, '--out', join(damaged, 'no.db'), '--data-dir', damaged]);
    assert.equal(broken.status, 1);
    assert.ok(broken.stderr.includes(where), broken.stderr);
    const listing2 = await history('--limit', '100000', '--data-dir', damaged);
    assert.equal(listing2.status, 0, listing2.stderr);
    assert.ok(listing2.stdout.includes(`!! ${where} (checksum mismatch) after 2 readable change(s)`), listing2.stdout);
    assert.deepEqual(
      readdirSync(damaged).filter((n) => n === 'no.db'),
      [],
      'nothing written for a moment after the break',
    );
  });
});
