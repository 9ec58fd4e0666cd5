/**
 * `kill -9` as a counted run (nothing that was relayed is lost; the test suite's
 * persistence-crash.test.ts asserts it, this reports the numbers). The CLI on a fresh data
 * directory; a writer streams updates as fast as the server takes them — even ones new nodes,
 * odd ones 200 B Commits on one node whose `location[0]` becomes the Commit's sequence number
 * (payloads.ts) — and a reader counts what is relayed to it. When the reader has seen a random
 * number of updates the server is SIGKILLed; everything the reader receives until the process is
 * gone (and its socket drained) counts as relayed. The server is restarted on the same directory
 * and a fresh client joins: every relayed node must be there with the same bytes, and the Commit
 * node must carry a sequence number at least the newest relayed one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ReplicationClient } from '../../src/client/index.js';
import { decodePickle, encodePickle, PyDict } from '../../src/pickle/index.js';
import { MessageType, type Commit, type Node, strDict } from '../../src/protocol/index.js';
import { CLI_ADMIN_PASSWORD, startCli, type CliProcess } from './cli-process.js';
import { benchUuid, commitPayload, initialNodeBytes } from './payloads.js';

export interface CrashRun {
  fsync: string;
  /** Updates the writer had sent when the kill was decided. */
  sent: number;
  /** Updates the reader saw before the SIGKILL was sent. */
  relayedBeforeKill: number;
  /** Updates the reader saw in all (until the process was gone and its socket drained). */
  relayed: number;
  nodesRelayed: number;
  nodesPresent: number;
  commitsRelayed: number;
  commitsPresent: number;
  lost: number;
  restartMs: number;
}

const COMMIT_NODE = benchUuid(1);
const commit = commitPayload('commit200', 200);
const nodeUuid = (i: number): string => benchUuid(500_000 + i);
const nodeBytes = (i: number): Buffer =>
  encodePickle(
    strDict([
      ['type_id', 'Object'],
      ['uuid', nodeUuid(i)],
      ['name', `Crash.${i}`],
      ['location', [i, 0.0, 0.0]],
    ]),
  );

function client(cli: CliProcess, username: string, admin = false): ReplicationClient {
  return new ReplicationClient({
    host: '127.0.0.1',
    port: cli.port,
    username,
    adminPassword: admin ? CLI_ADMIN_PASSWORD : undefined,
    stepTimeoutMs: 30_000,
    connectionTimeoutMs: 30_000,
    mailboxCapacity: 1_000_000,
  });
}

/** One round: stream, kill after about `killAfter` relayed updates, restart, count. */
export async function runCrash(
  fsync: string,
  updates: number,
  killAfter: number,
  tmpRoot: string = tmpdir(),
): Promise<CrashRun> {
  const dataDir = mkdtempSync(join(tmpRoot, 'mus-bench-crash-'));
  const args = ['--journal-fsync', fsync];
  const clients: ReplicationClient[] = [];
  const procs: CliProcess[] = [];
  try {
    const cli = await startCli({ dataDir, args });
    procs.push(cli);
    const writer = client(cli, 'writer', true);
    const reader = client(cli, 'reader');
    clients.push(writer, reader);
    if ((await writer.login()) !== 'LOBBY') throw new Error('writer: expected LOBBY');
    if ((await writer.init([{ uuid: COMMIT_NODE, dataBytes: initialNodeBytes(COMMIT_NODE) }])) !== 'ACCEPTED') {
      throw new Error('init refused');
    }
    if ((await reader.login()) !== 'RUNNING') throw new Error('reader: expected RUNNING');
    await reader.join();

    const seenNodes = new Map<string, string>();
    const commitSeqs: number[] = [];
    let relayedBeforeKill = -1;
    let sent = 0;
    let sentAtKill = -1;
    let killed = false;
    const stamp = { seq: 0, sentAt: 0, phase: 0 };
    const onData = (m: Node | Commit): void => {
      if (m.type === MessageType.Node) seenNodes.set(m.uuid, Buffer.from(m.dataBytes).toString('hex'));
      else commitSeqs.push(commit.read(m.deltaBytes, stamp).seq);
      if (!killed && seenNodes.size + commitSeqs.length >= killAfter) {
        killed = true;
        relayedBeforeKill = seenNodes.size + commitSeqs.length;
        sentAtKill = sent;
        cli.child.kill('SIGKILL');
      }
    };
    const mailbox = reader.mailbox;
    const push = mailbox.push.bind(mailbox);
    mailbox.push = (e) => {
      if (e.type === 'data') onData(e.message);
      else push(e);
    };
    const writing = (async () => {
      for (let i = 0; i < updates && !killed; i++, sent++) {
        if (i % 2 === 0) await writer.pushNode({ uuid: nodeUuid(i), dataBytes: nodeBytes(i) });
        else
          await writer.pushCommit({ nodeId: COMMIT_NODE, deltaBytes: commit.encode({ seq: i, sentAt: 0, phase: 1 }) });
      }
    })();
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await Promise.race([cli.exited, writing.catch(() => undefined)]);
    // Every update sent and not yet killed: the relays still on their way reach the threshold.
    for (let waited = 0; !killed && waited < 10_000; waited += 50) await sleep(50);
    if (!killed) {
      killed = true;
      relayedBeforeKill = seenNodes.size + commitSeqs.length;
      sentAtKill = sent;
      await cli.kill();
    }
    await cli.exited;
    // Whatever is still in the reader's socket left the server before it died: drain it.
    let before = -1;
    while (before !== seenNodes.size + commitSeqs.length) {
      before = seenNodes.size + commitSeqs.length;
      await sleep(200);
    }
    // A send to the dead server may never complete; closing the writer ends it.
    await Promise.race([writing.catch(() => undefined), sleep(1000)]);
    await Promise.all([writer.close(), reader.close()]);

    const t0 = performance.now();
    const again = await startCli({ dataDir, args });
    procs.push(again);
    const checker = client(again, 'checker');
    clients.push(checker);
    if ((await checker.login()) !== 'RUNNING') throw new Error('checker: expected RUNNING after the restart');
    const restartMs = Math.round(performance.now() - t0);
    await checker.join({ pipeline: 64 });
    let nodesPresent = 0;
    for (const [uuid, hex] of seenNodes) {
      const node = checker.store.nodes.get(uuid);
      if (node !== undefined && Buffer.from(node.dataBytes).toString('hex') === hex) nodesPresent++;
    }
    const base = decodePickle(checker.store.nodes.get(COMMIT_NODE)?.dataBytes ?? encodePickle(null));
    const location = base instanceof PyDict ? base.get('location') : undefined;
    const restoredSeq = Array.isArray(location) && typeof location[0] === 'number' ? location[0] : -1;
    // Commits apply in order, so every relayed Commit up to the restored one is in the state.
    const commitsPresent = commitSeqs.filter((seq) => seq <= restoredSeq).length;
    const commitsRelayed = commitSeqs.length;
    const relayed = seenNodes.size + commitsRelayed;
    return {
      fsync,
      sent: sentAtKill,
      relayedBeforeKill,
      relayed,
      nodesRelayed: seenNodes.size,
      nodesPresent,
      commitsRelayed,
      commitsPresent,
      lost: relayed - nodesPresent - commitsPresent,
      restartMs,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const p of procs) await p.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
