/**
 * `kill -9` under a steady stream of updates (DESIGN §4 "Journal"; STYLE.md §13 "Crash tests"):
 * in each round a writer streams new nodes and commits while a reader watches the relays; the
 * server is SIGKILLed at a random point, restarted on the same DATA_DIR, and every update the
 * reader saw before the kill must be there. Odd rounds run with JOURNAL_FSYNC=always (relays
 * wait for the fsync), even ones with the default interval (the journal write alone survives a
 * process crash).
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { decodePickle, type PyDict } from '../../src/pickle/index.js';
import { MessageType } from '../../src/protocol/index.js';
import type { ReplicationClient } from '../../src/client/index.js';
import { closeAll, initAs, startCli, tempDataDir, type CliServer } from './cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from './harness.js';

afterEach(closeAll);

const ROUNDS = 5;
const UPDATES_PER_ROUND = 200;
const BASE = uuidOf(1);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Everything the readers saw relayed, over all rounds. */
interface Seen {
  nodes: Map<string, string>;
  /** Sequence number of the newest commit seen (its rename is `c<seq>`). */
  lastCommit: number;
}

/** A client that got RUNNING and the snapshot holds every node and the newest commit seen. */
async function checkRestored(server: CliServer, seen: Seen, label: string): Promise<void> {
  const checker = server.client(`checker-${label}`);
  assert.equal(await checker.login(), 'RUNNING', label);
  await checker.join();
  for (const [uuid, data] of seen.nodes) {
    const node = checker.store.nodes.get(uuid);
    assert.ok(node !== undefined, `${label}: node ${uuid} was relayed before the kill but is gone`);
    assert.equal(hex(node.dataBytes), data, `${label}: node ${uuid} has other bytes`);
  }
  const base = decodePickle(checker.store.nodes.get(BASE)?.dataBytes ?? new Uint8Array()) as PyDict;
  const name = base.get('name') as string;
  const seq = name.startsWith('c') ? Number(name.slice(1)) : -1;
  assert.ok(seq >= seen.lastCommit, `${label}: base node is '${name}', but commit c${seen.lastCommit} was relayed`);
  await checker.close();
}

async function streamUntilKilled(server: CliServer, writer: ReplicationClient, round: number, seen: Seen) {
  const reader = server.client(`reader-${round}`);
  assert.equal(await reader.login(), 'RUNNING');
  await reader.join();
  const killAfter = 1 + Math.floor(Math.random() * (UPDATES_PER_ROUND - 1));
  let killed = false;
  const commitSeq = new Map<string, number>();
  const writing = (async () => {
    for (let i = 0; i < UPDATES_PER_ROUND && !killed; i++) {
      if (i % 2 === 0) {
        const uuid = `crash-r${round}-n${i}`;
        await writer.pushNode({ uuid, dataBytes: nodeBytes(uuid, `Node ${round}.${i}`) });
      } else {
        const seq = round * UPDATES_PER_ROUND + i;
        const delta = renameDelta(`c${seq}`);
        commitSeq.set(hex(delta), seq);
        await writer.pushCommit({ nodeId: BASE, deltaBytes: delta });
      }
    }
  })();
  for (let n = 0; n < killAfter; n++) {
    const m = await reader.waitForData(() => true, 10_000);
    if (m.type === MessageType.Node) seen.nodes.set(m.uuid, hex(m.dataBytes));
    else seen.lastCommit = Math.max(seen.lastCommit, commitSeq.get(hex(m.deltaBytes)) ?? -1);
  }
  server.child.kill('SIGKILL');
  killed = true;
  await server.exited;
  await writing;
  await Promise.all([reader.close(), writer.close()]);
  return killAfter;
}

test('every update relayed before a kill -9 is there after the restart, over several rounds', async () => {
  const dataDir = tempDataDir();
  const seen: Seen = { nodes: new Map(), lastCommit: -1 };
  const kills: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const args = round % 2 === 1 ? ['--journal-fsync', 'always'] : [];
    const server = await startCli(dataDir, args);
    let writer: ReplicationClient;
    if (round === 0) {
      writer = await initAs(server, [{ uuid: BASE, dataBytes: nodeBytes(BASE, 'start') }]);
    } else {
      await checkRestored(server, seen, `round ${round} (kills after ${kills.join(', ')} updates)`);
      writer = server.client(`writer-${round}`);
      await writer.login();
      await writer.join();
    }
    kills.push(await streamUntilKilled(server, writer, round, seen));
  }
  const last = await startCli(dataDir);
  await checkRestored(last, seen, `final (kills after ${kills.join(', ')} updates)`);
  assert.ok(seen.nodes.size > 0);
  assert.equal(await last.stop(), 0);
});
