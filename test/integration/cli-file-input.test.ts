/**
 * Every file is input, at startup: the compiled CLI checks every node of the snapshot it loads
 * (and of each backup it falls back to) and every journal record exactly as network input,
 * whatever the file claims to be. A crafted file — the server's own key, a node pickle that runs
 * posix.system in the client that unpickles it — is moved to corrupt/ with an ERROR naming the
 * node, the fallback chain goes on to the newest valid backup, and a joining client never
 * receives the node.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { CORRUPT_DIR, SNAPSHOT_FILE, LOG_SESSION_RESTORED } from '../../src/store/index.js';
import { backupNames, buildStandardDir, DataDirRig, nodeMutation, STANDARD } from '../cli/data-helpers.js';
import { EVIL_NODE_DATA, forgeSnapshot } from '../cli/file-input.js';
import { closeAll, startCli, tempDataDir } from './cli-server.js';

afterEach(closeAll);

async function joinedNodes(server: Awaited<ReturnType<typeof startCli>>): Promise<Map<string, Uint8Array>> {
  const erin = server.client('erin');
  assert.equal(await erin.login(), 'RUNNING');
  await erin.join();
  return new Map([...erin.store.nodes].map(([id, node]) => [id, node.dataBytes]));
}

function assertNoEvil(nodes: Map<string, Uint8Array>): void {
  for (const [id, data] of nodes) assert.ok(!Buffer.from(data).equals(EVIL_NODE_DATA), `node ${id} was served`);
}

test('a crafted snapshot is moved to corrupt/ and the newest valid backup is served instead', async () => {
  const dataDir = tempDataDir();
  await buildStandardDir(dataDir);
  const snapshot = join(dataDir, SNAPSHOT_FILE);
  await forgeSnapshot(snapshot, snapshot, 'obj-2');
  const newest = backupNames(dataDir)[1];

  const server = await startCli(dataDir);
  await server.waitFor(
    /ERROR +Snapshot session_snapshot\.pkl is refused \(.*refused as input: node "obj-2": node data refused.*\); moved to corrupt\//,
  );
  await server.waitFor(`Recovered from backup backups/${newest}`);
  await server.waitFor(LOG_SESSION_RESTORED);
  assert.equal(readdirSync(join(dataDir, CORRUPT_DIR)).filter((f) => f.startsWith(SNAPSHOT_FILE)).length, 1);
  const nodes = await joinedNodes(server);
  // The backup is the same save, intact; the journal after it replays onto it.
  assert.deepEqual([...nodes.keys()].sort(), [...STANDARD.finalNodes].sort());
  assertNoEvil(nodes);
  assert.equal(await server.stop(), 0);
});

test('a crafted backup is passed over too: the chain goes on to the next valid one', async () => {
  const dataDir = tempDataDir();
  await buildStandardDir(dataDir);
  const [oldest, newest] = backupNames(dataDir);
  const snapshot = join(dataDir, SNAPSHOT_FILE);
  await forgeSnapshot(snapshot, snapshot, 'obj-2');
  await forgeSnapshot(join(dataDir, 'backups', newest), join(dataDir, 'backups', newest), 'obj-3');

  const server = await startCli(dataDir);
  await server.waitFor(/ERROR +Snapshot backups\/\S+ is refused \(.*node "obj-3": node data refused/);
  await server.waitFor(`Recovered from backup backups/${oldest}`);
  const moved = readdirSync(join(dataDir, CORRUPT_DIR));
  assert.equal(moved.filter((f) => f.startsWith(newest)).length, 1, moved.join(', '));
  const nodes = await joinedNodes(server);
  assert.deepEqual([...nodes.keys()].sort(), [...STANDARD.firstNodes].sort());
  assertNoEvil(nodes);
  assert.equal(await server.stop(), 0);
});

test('a crafted journal record is refused with an ERROR naming the node; the records around it replay', async () => {
  const dataDir = tempDataDir();
  mkdirSync(dataDir, { recursive: true });
  const rig = new DataDirRig(dataDir);
  const evil = nodeMutation('evil');
  if (evil.type === 'node') evil.dataBytes = EVIL_NODE_DATA;
  rig.apply(nodeMutation('scene-0', 'Scene'), evil, nodeMutation('obj-after'), { type: 'init-done' });
  await rig.close();

  const server = await startCli(dataDir);
  await server.waitFor(/ERROR +Journal record 1 refused as input, not replayed: node "evil": node data refused/);
  const nodes = await joinedNodes(server);
  assert.deepEqual([...nodes.keys()].sort(), ['obj-after', 'scene-0']);
  assertNoEvil(nodes);
  assert.equal(await server.stop(), 0);
});
