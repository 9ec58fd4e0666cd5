/**
 * Every file is input: `restore`, `import`, `verify`, `backups` and `export` check every node of
 * a session file (and every journal record) exactly as network input, whatever the file claims
 * to be. The crafted file carries the server's own key and a node pickle that runs posix.system
 * in the client that unpickles it; `restore PATH` once accepted it and the server served it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { readSnapshotFile } from '../../src/store/index.js';
import {
  backupNames,
  buildStandardDir,
  DataDirRig,
  makeTempDir,
  nodeMutation,
  runCli,
  STANDARD,
  treeOf,
  uuidsOf,
} from './data-helpers.js';
import { EVIL_NODE_DATA, forgeSnapshot } from './file-input.js';

const tmp = makeTempDir('cli-file-input-');
after(tmp.cleanup);
let n = 0;

async function standardDir(): Promise<string> {
  const dir = join(tmp.dir, `d${n++}`);
  await buildStandardDir(dir);
  return dir;
}

const NAMES_NODE = /refused as input: node "obj-2": node data refused/;

describe('a crafted session file', () => {
  test('restore PATH refuses it, naming the node, and changes nothing', async () => {
    const dir = await standardDir();
    const forged = join(tmp.dir, `forged-${n}.pkl`);
    await forgeSnapshot(join(dir, 'backups', backupNames(dir)[0]), forged, 'obj-2');
    const before = treeOf(dir);
    const run = runCli(['restore', forged, '--data-dir', dir]);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, NAMES_NODE);
    assert.match(run.stderr, /nothing was changed/);
    assert.deepEqual(treeOf(dir), before);
  });

  test('restore NAME refuses a crafted backup in backups/', async () => {
    const dir = await standardDir();
    const name = backupNames(dir)[0];
    await forgeSnapshot(join(dir, 'backups', name), join(dir, 'backups', name), 'obj-2');
    const before = treeOf(dir);
    const run = runCli(['restore', name, '--data-dir', dir]);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, NAMES_NODE);
    assert.deepEqual(treeOf(dir), before);
  });

  test('import refuses it, naming the node, and creates nothing', async () => {
    const dir = await standardDir();
    const forged = join(tmp.dir, `forged-${n}.db`);
    await forgeSnapshot(join(dir, 'session_snapshot.pkl'), forged, 'obj-2');
    const target = join(tmp.dir, `import-${n}`);
    const run = runCli(['import', forged, '--data-dir', target]);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, /is refused \(refused as input: node "obj-2": node data refused/);
    assert.equal(existsSync(join(target, 'session_snapshot.pkl')), false);
  });

  test('verify and backups show it as FAIL naming the node; verify --strict fails', async () => {
    const dir = await standardDir();
    const name = backupNames(dir)[0];
    await forgeSnapshot(join(dir, 'backups', name), join(dir, 'backups', name), 'obj-2');
    const verify = runCli(['verify', '--data-dir', dir]);
    assert.match(verify.stdout, new RegExp(`^FAIL  backups/${name}: refused as input: node "obj-2"`, 'm'));
    const strict = runCli(['verify', '--strict', '--data-dir', dir]);
    assert.equal(strict.status, 1, strict.stdout);
    const list = runCli(['backups', '--json', '--data-dir', dir]);
    assert.equal(list.status, 0, list.stderr);
    const rows = (JSON.parse(list.stdout) as { files: { file: string; verified: boolean; error: string }[] }).files;
    const row = rows.find((r) => r.file === `backups/${name}`);
    assert.equal(row?.verified, false);
    assert.match(row?.error ?? '', NAMES_NODE);
  });

  test('export passes a crafted snapshot over, like the next start, and never writes its node', async () => {
    const dir = await standardDir();
    const snapshot = join(dir, 'session_snapshot.pkl');
    await forgeSnapshot(snapshot, snapshot, 'obj-2');
    const out = join(tmp.dir, `export-${n}.db`);
    const run = runCli(['export', '--out', out, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    const written = await readSnapshotFile(out);
    // The newest backup (the same save, intact) plus the journal.
    assert.deepEqual(uuidsOf(written.image), STANDARD.finalNodes);
    assert.ok(written.image.nodes.every((x) => !Buffer.from(x.dataBytes).equals(EVIL_NODE_DATA)));
  });
});

describe('a crafted journal record', () => {
  async function journalDir(): Promise<string> {
    const dir = join(tmp.dir, `j${n++}`);
    mkdirSync(dir);
    const rig = new DataDirRig(dir);
    const evil = nodeMutation('evil');
    if (evil.type === 'node') evil.dataBytes = EVIL_NODE_DATA;
    rig.apply(nodeMutation('scene-0', 'Scene'), evil);
    rig.apply(nodeMutation('obj-after'));
    await rig.close();
    return dir;
  }

  test('verify fails naming the record and the node', async () => {
    const dir = await journalDir();
    const run = runCli(['verify', '--data-dir', dir]);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stdout, /^FAIL {2}replay: Journal record #2 refused: node "evil": node data refused/m);
    assert.match(run.stdout, /2 nodes/, 'the records around it still replay');
  });

  test('export skips it with a warning', async () => {
    const dir = await journalDir();
    const out = join(tmp.dir, `export-j${n}.db`);
    const run = runCli(['export', '--out', out, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /warning: Journal record #2 refused: node "evil"/);
    assert.deepEqual(uuidsOf((await readSnapshotFile(out)).image), ['scene-0', 'obj-after']);
  });
});
