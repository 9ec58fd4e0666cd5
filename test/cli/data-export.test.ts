/**
 * `multiuser-server export --out FILE.db`: the state the next start would load
 * (snapshot + journal replay), written as an add-on session file; CPython opens it the way the
 * add-on's *Load session save* does (test/tools/pyref.py --session-db).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { PYREF_PATH } from '../helpers/python.js';
import {
  backupNames,
  buildStandardDir,
  makeTempDir,
  onlySegment,
  recoverAsServer,
  runCli,
  STANDARD,
  tearTail,
  treeOf,
  uuidsOf,
} from './data-helpers.js';

const tmp = makeTempDir('cli-export-');
after(tmp.cleanup);

interface SessionDbReport {
  ok: boolean;
  error?: string;
  keys: string[];
  node_count: number;
  nodes_loaded: number;
  node_uuids: string[];
  owners: string[];
  users: string[];
  server: { reason: string; chat: { id: string; message: string }[]; tasks: Record<string, { title: string }> } | null;
}

function openLikeTheAddOn(file: string): SessionDbReport {
  const res = spawnSync('python3', [PYREF_PATH, '--session-db', file], { encoding: 'utf8' });
  if (res.error) throw res.error;
  return JSON.parse(res.stdout) as SessionDbReport;
}

describe('export', () => {
  test('writes snapshot + journal as a session file CPython opens like the add-on, without touching the data dir', async () => {
    const dir = join(tmp.dir, 'standard');
    await buildStandardDir(dir);
    const segment = onlySegment(dir);
    tearTail(segment);
    const before = treeOf(dir);
    const out = join(tmp.dir, 'session.db');

    const run = runCli(['export', '--out', out, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /Exported 4 nodes, 1 users, 1 chat message\(s\) and 1 task\(s\) \(session_snapshot\.pkl \+ 3 journal record\(s\)\)/,
    );
    assert.deepEqual(treeOf(dir), before, 'export changed the data directory (e.g. cut the torn tail)');

    const db = openLikeTheAddOn(out);
    assert.equal(db.ok, true, db.error);
    assert.deepEqual(db.keys.slice(0, 2), ['nodes', 'users']);
    assert.equal(db.nodes_loaded, 4);
    // The journal's changes are in: obj-j added, obj-1 deleted; locks are COMMON after a restore.
    assert.deepEqual(db.node_uuids, STANDARD.finalNodes);
    assert.deepEqual(db.owners, ['COMMON', 'COMMON', 'COMMON', 'COMMON']);
    assert.deepEqual(db.users, ['alice']);
    assert.equal(db.server?.reason, 'export');
    assert.deepEqual(
      db.server?.chat.map((m) => m.message),
      ['hello'],
    );
    assert.deepEqual(
      Object.values(db.server?.tasks ?? {}).map((t) => t.title),
      ['Fix the lamp'],
    );

    // The same state the server restores.
    const recovered = await recoverAsServer(dir);
    assert.deepEqual(uuidsOf(recovered.image), db.node_uuids);
  });

  test('refuses to overwrite an existing file unless --force', async () => {
    const dir = join(tmp.dir, 'force');
    await buildStandardDir(dir);
    const out = join(tmp.dir, 'existing.db');
    writeFileSync(out, 'keep me');
    const refused = runCli(['export', '--out', out, '--data-dir', dir]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /already exists; use --force/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    const forced = runCli(['export', '--out', out, '--force', '--data-dir', dir]);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(openLikeTheAddOn(out).nodes_loaded, 4);
  });

  test('exports from the backup recovery falls back to when the snapshot is damaged', async () => {
    const dir = join(tmp.dir, 'fallback');
    await buildStandardDir(dir);
    truncateSync(join(dir, 'session_snapshot.pkl'), 60);
    const out = join(tmp.dir, 'fallback.db');
    const run = runCli(['export', '--out', out, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`\\(backups/${backupNames(dir).at(-1) as string} \\+ 3 journal record`));
    assert.deepEqual(openLikeTheAddOn(out).node_uuids, STANDARD.finalNodes);
    assert.equal(statSync(join(dir, 'session_snapshot.pkl')).size, 60, 'the damaged snapshot stays where it is');
  });

  test('needs --out and a saved session', () => {
    const usage = runCli(['export', '--data-dir', tmp.dir]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--out FILE\.db is required/);
    mkdirSync(join(tmp.dir, 'empty'));
    const empty = runCli(['export', '--out', join(tmp.dir, 'none.db'), '--data-dir', join(tmp.dir, 'empty')]);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /nothing to export/);
  });
});
