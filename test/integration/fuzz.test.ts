/**
 * A bounded, seeded mutation fuzz over real sockets. It complements malformed.test.ts (hand-made
 * hostile messages and random frames): here every message is a captured frame of the reference
 * client, mutated (mutations.ts) — bit flips, truncations, frames dropped, duplicated, swapped,
 * spliced from other messages or emptied, huge declared pickle lengths, a wrong type frame, the
 * wrong socket — and sent on all three sockets by identities that never logged in and by a
 * logged-in member, first while the session waits for its init, then while it runs. Afterwards
 * well-behaved clients log in, initialise, join and relay a Commit, a fresh identity gets server
 * info, the heartbeat pings, and the session never threw.
 *
 * Bounds: MESSAGES_PER_PHASE × 2 messages, each phase also capped at PHASE_CAP_MS of sending.
 * The strangers can never log in (the server password is not in any capture), so everything they
 * send must be dropped, and the member is non-admin, so it cannot kick anyone.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { type ReplicationClient, encodeAuthRequest, encodeServerInfoRequest } from '../../src/client/index.js';
import { PyDict } from '../../src/pickle/index.js';
import { decodeMessage, MessageType, nodeFromChunks } from '../../src/protocol/index.js';
import { nodeBytes, renameDelta, startTestServer, uuidOf, type TestServer } from './harness.js';
import { prng } from '../helpers/prng.js';
import { captureSeeds, mutatedMessage, type Seed } from './mutations.js';
import { RawPeer } from './raw-peer.js';
import { framesOf, loadCapture } from './replay.js';

const SEED = 0x5eedf022;
const MESSAGES_PER_PHASE = 1000;
const PHASE_CAP_MS = 5000;
/** Share of the messages the logged-in member sends; the rest go round the strangers. */
const MEMBER_SHARE = 0.4;
const STRANGERS = 3;
const SERVER_PASSWORD = 'fuzz-server-password';
const ADMIN_PASSWORD = 'fuzz-admin-password';
const STEP_MS = 10_000;

let ts: TestServer | undefined;
const peers: RawPeer[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await ts?.close();
});

/** The 5-node scene alice initialised capture 01 with (ServerSnapshot SET #5–#9). */
function capturedScene(): { uuid: string; owner: string; deps: string[]; dataBytes: Uint8Array }[] {
  const records = loadCapture('01_main_session').records;
  return [5, 6, 7, 8, 9].map((at) => {
    const msg = decodeMessage(framesOf(records[at]));
    assert.ok(msg.type === MessageType.ServerSnapshot && msg.data instanceof PyDict);
    const node = nodeFromChunks(msg.data.get('DATA') ?? null);
    return { uuid: node.uuid, owner: node.owner, deps: node.deps ?? [], dataBytes: node.dataBytes };
  });
}

interface Fuzzer {
  readonly server: TestServer;
  readonly rand: () => number;
  readonly strangers: readonly RawPeer[];
  /** Data messages each stranger sent so far: each is dropped with one log line naming it. */
  readonly strangerData: Map<RawPeer, number>;
  sent: { command: number; data: number; heartbeat: number };
}

/**
 * One phase: mutated messages from the member and the strangers, then barriers proving that the
 * server has handled everything they sent on the command and data sockets (the heartbeat socket
 * answers nothing that could be ordered after them).
 */
async function fuzzPhase(f: Fuzzer, phase: number, member: ReplicationClient, memberSeeds: Seed[], all: Seed[]) {
  const started = Date.now();
  for (let i = 0; i < MESSAGES_PER_PHASE && Date.now() - started < PHASE_CAP_MS; i++) {
    const byMember = f.rand() < MEMBER_SHARE;
    const m = mutatedMessage(f.rand, byMember ? memberSeeds : all);
    f.sent[m.channel]++;
    if (byMember) {
      await member.send(m.channel, m.frames);
    } else {
      const p = f.strangers[i % f.strangers.length];
      await p.send(m.channel, m.frames);
      if (m.channel === 'data') f.strangerData.set(p, (f.strangerData.get(p) ?? 0) + 1);
    }
  }
  const logs = f.server.logs;
  for (const [k, p] of f.strangers.entries()) {
    const id = p.identity.toString('hex');
    // A login under a name of its own, refused for the password: one log line, after the rest.
    const name = `barrier-${phase}-${k}`;
    await p.send('command', encodeAuthRequest({ username: name, serverPassword: 'wrong' }));
    await logs.waitFor((l) => l.message.startsWith(`Login of "${name}" from identity ${id} refused`), STEP_MS);
    let seen = 0;
    const dropped = `Data message from identity ${id} dropped: not logged in`;
    const total = f.strangerData.get(p) ?? 0;
    if (total > 0) await logs.waitFor((l) => l.message === dropped && ++seen === total, STEP_MS);
  }
  // The member: a Delete of an id of its own is echoed to it; a Commit for it is refused.
  const marker = `barrier-${phase}`;
  await member.deleteNode(marker);
  await member.waitForCommand(MessageType.Delete, (m) => m.data === marker, STEP_MS);
  await member.pushCommit({ nodeId: marker, deltaBytes: renameDelta('x') });
  await logs.waitFor((l) => l.message.startsWith(`Commit for ${marker} from ${member.username} refused`), STEP_MS);
}

test('mutated captured frames on all three sockets, before and after the init, stop nothing', async () => {
  const server = await startTestServer(
    { adminPassword: ADMIN_PASSWORD, serverPassword: SERVER_PASSWORD },
    // Every stranger data message is counted through its log line: none may be rate-limited away.
    { logLimits: { burst: 1_000_000 } },
  );
  ts = server;
  const rand = prng(SEED);
  const identity = (): Buffer => Buffer.from(Array.from({ length: 16 }, () => Math.floor(rand() * 256)));
  const strangers = Array.from(
    { length: STRANGERS },
    (_, k) => new RawPeer(`stranger${k}`, identity(), '127.0.0.1', server.port),
  );
  peers.push(...strangers);
  const f: Fuzzer = { server, rand, strangers, strangerData: new Map(), sent: { command: 0, data: 0, heartbeat: 0 } };
  const client = (name: string, admin = false): ReplicationClient =>
    server.client(name, { serverPassword: SERVER_PASSWORD, ...(admin ? { adminPassword: ADMIN_PASSWORD } : {}) });
  const seeds = captureSeeds();

  // Phase 1, WAITING. The member's seeds leave out ServerSnapshot: a valid captured INIT … END
  // from a logged-in client is a legitimate init, after which the well-behaved one could not be
  // tried. The strangers send them (and must be ignored).
  const member1 = client('fuzz-member-1');
  assert.equal(await member1.login(), 'LOBBY');
  await fuzzPhase(
    f,
    1,
    member1,
    seeds.filter((s) => s.type !== MessageType.ServerSnapshot),
    seeds,
  );
  server.server.adminKick('fuzz-member-1');
  await member1.waitForClosed();
  assert.equal(server.session.phase, 'WAITING');

  const admin = client('wb-admin', true);
  assert.equal(await admin.login(), 'LOBBY');
  const scene = capturedScene();
  assert.equal(await admin.init(scene), 'ACCEPTED');
  const reader = client('wb-reader');
  assert.equal(await reader.login(), 'RUNNING');
  const joined = await reader.join();
  for (const n of scene) assert.ok(joined.catalog.includes(n.uuid), `${n.uuid} in the catalog`);
  // The captured Commit that moves the cube (01 #42) still applies and relays.
  const commit = decodeMessage(framesOf(loadCapture('01_main_session').records[42]));
  assert.equal(commit.type, MessageType.Commit);
  await admin.pushCommit({ nodeId: commit.nodeId, deps: commit.deps ?? [], deltaBytes: commit.deltaBytes });
  await reader.waitForData((m) => m.type === MessageType.Commit && m.nodeId === commit.nodeId);

  // Phase 2, ACTIVE: a joined member sends everything, ServerSnapshot included.
  const member2 = client('fuzz-member-2');
  assert.equal(await member2.login(), 'RUNNING');
  await member2.join();
  await fuzzPhase(f, 2, member2, seeds, seeds);
  server.server.adminKick('fuzz-member-2');
  await member2.waitForClosed();

  // Everything still works: a new login and join, a fresh node and a Commit relayed to both
  // readers, server info for a fresh identity, the heartbeat.
  const late = client('wb-late');
  assert.equal(await late.login(), 'RUNNING');
  await late.join();
  const fresh = uuidOf(1);
  await admin.pushNode({ uuid: fresh, dataBytes: nodeBytes(fresh, 'before') });
  await admin.pushCommit({ nodeId: fresh, deltaBytes: renameDelta('after the fuzz') });
  for (const c of [reader, late]) {
    const relayed = await c.waitForData((m) => m.type === MessageType.Commit && m.nodeId === fresh);
    assert.ok(relayed.type === MessageType.Commit);
    assert.deepEqual(Buffer.from(relayed.deltaBytes), renameDelta('after the fuzz'));
  }
  await late.join(); // again: the server applied the Commit to its copy
  assert.deepEqual(Buffer.from(late.store.nodes.get(fresh)?.dataBytes ?? []), nodeBytes(fresh, 'after the fuzz'));
  const probe = new RawPeer('probe', identity(), '127.0.0.1', server.port);
  peers.push(probe);
  await probe.send('command', encodeServerInfoRequest());
  const info = decodeMessage(
    (await probe.take((r) => r.type === MessageType.RequestServerInfo, STEP_MS, 'server info')).frames,
  );
  assert.ok(info.type === MessageType.RequestServerInfo && info.data instanceof PyDict);
  assert.equal(info.data.get('private'), true);
  await late.waitFor((e) => e.type === 'ping');

  const stats = server.server.stats();
  assert.equal(stats.sessionErrors, 0, 'the session never threw');
  const total = f.sent.command + f.sent.data + f.sent.heartbeat;
  assert.ok(total >= MESSAGES_PER_PHASE, `the fuzz ran (${JSON.stringify(f.sent)})`);
  // The barriers proved every command and data message was handled: they all reached the server.
  assert.ok(stats.received.command + stats.received.data >= f.sent.command + f.sent.data);
  assert.deepEqual(
    server.session
      .listUsers()
      .map((u) => u.name)
      .sort(),
    ['wb-admin', 'wb-late', 'wb-reader'],
  );
  for (const c of [admin, reader, late]) assert.equal(c.state, 'active');
  assert.ok(
    server.logs.lines.some((l) => l.level === 'warn'),
    'refusals are logged',
  );
});
